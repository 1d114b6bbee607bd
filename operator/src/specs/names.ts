import type { KdbCluster } from '../api/kdbcluster.ts';
import { API_GROUP } from '../api/kdbcluster.ts';

/** Names and labels of everything the operator owns, in one place so the planner and builders agree. */
export const LABEL = {
  cluster: `${API_GROUP}/cluster`,
  pool: `${API_GROUP}/pool`,
  role: `${API_GROUP}/role`,
  managedBy: 'app.kubernetes.io/managed-by',
  nodeGroup: 'eks.amazonaws.com/nodegroup',
} as const;
export const ANNOTATION = {
  replaces: `${API_GROUP}/replaces`,
  replacesDay: `${API_GROUP}/replaces-day`,
  ordinal: `${API_GROUP}/ordinal`,
  day: `${API_GROUP}/day`,
  /** specs/spec-hash.ts of the pod template an object or pod was built from (spec.updates). */
  specHash: `${API_GROUP}/spec-hash`,
} as const;
export const MANAGED_BY = 'kdb-operator';
export const FINALIZER = `${API_GROUP}/cleanup`;

/** Kept off the RDB pods and nodes: no other autoscaler may pick an RDB server to remove. */
export const DO_NOT_DISRUPT_POD = {
  'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
  'karpenter.sh/do-not-disrupt': 'true',
} as const;
export const DO_NOT_DISRUPT_NODE = {
  'cluster-autoscaler.kubernetes.io/scale-down-disabled': 'true',
  'karpenter.sh/do-not-disrupt': 'true',
} as const;

type Named = Pick<KdbCluster, 'metadata'>;
const ns = (c: Named): string => c.metadata.namespace ?? 'default';

export const tickerplantName = (c: Named): string => `${c.metadata.name}-tickerplant`;
export const tickerplantHost = (c: Named): string => `${tickerplantName(c)}.${ns(c)}.svc.cluster.local`;
/** The gateway's Deployment and Service (clients hopen `:<cluster>-gateway.<ns>:<port>`). */
export const gatewayName = (c: Named): string => `${c.metadata.name}-gateway`;
/** The HDB's Deployment and Service, which the gateway asks for merged days. */
export const hdbName = (c: Named): string => `${c.metadata.name}-hdb`;
/** Headless Service over every RDB pod of the cluster: its addresses are the gateway's RDBs. */
export const rdbServiceName = (c: Named): string => `${c.metadata.name}-rdbs`;
/** `<svc>.<ns>.svc.cluster.local` of a Service of the cluster's namespace. */
export const serviceHost = (c: Named, service: string): string => `${service}.${ns(c)}.svc.cluster.local`;
export const rdbPodName = (c: Named, pool: string, ordinal: number): string => `${c.metadata.name}-${pool}-rdb-${ordinal}`;
export const pdbName = (c: Named, pool: string): string => `${c.metadata.name}-${pool}`;
export const pvcName = (c: Named): string => `${c.metadata.name}-efs`;
/** PersistentVolumes are cluster-scoped: the namespace keeps two clusters of one name apart. */
export const pvName = (c: Named): string => `kdb-${ns(c)}-${c.metadata.name}-efs`;

export const clusterLabels = (c: Named): Record<string, string> => ({
  [LABEL.cluster]: c.metadata.name,
  [LABEL.managedBy]: MANAGED_BY,
});
