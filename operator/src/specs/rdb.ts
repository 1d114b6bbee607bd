import type { KdbCluster, RdbPoolSpec } from '../api/kdbcluster.ts';
import type { V1Pod, V1PodDisruptionBudget } from '../kube/types.ts';
import {
  ANNOTATION,
  DO_NOT_DISRUPT_POD,
  LABEL,
  clusterLabels,
  pdbName,
  pvcName,
  rdbPodName,
  tickerplantHost,
} from './names.ts';
import { ownedMetadata } from './owner.ts';
import { templateHash } from './spec-hash.ts';
import { priorityClassField } from './priority.ts';
import { EFS_MOUNT, efsPaths } from './storage.ts';
import { fieldEnv, licenseEnv } from './env.ts';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, scratchMount, scratchVolume } from './security.ts';

export const STATUS_DIR = '/var/run/kdb';
export const STATUS_FILE = `${STATUS_DIR}/status.json`;
export const RDB_QUERY_PORT = 5011;
const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Node flags of the agent container. A small young generation: the agent
 * allocates a few KB per report, and V8's default semi-space grows to
 * megabytes it keeps resident on every server (bench/agent-memory.ts).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
/**
 * Node's compile cache, relative to the working directory (/app in the
 * image, the checkout on the local stack). The image ships it warm for the
 * agent (images/operator/Dockerfile): with every module found there, Node
 * never loads its TypeScript stripper, about 20 MB resident for good
 * (bench/agent-memory.ts). Entries are checked against the source, so a
 * stale or missing cache only costs that memory back.
 */
export const AGENT_COMPILE_CACHE = '.node-compile-cache';
/** The TypeScript reference agent's entry in the operator image: it loads neither client-node nor winston. */
export const TS_AGENT_COMMAND: readonly string[] = ['node', ...AGENT_NODE_FLAGS, 'operator/src/agent/main.ts'];
/**
 * The agent beside every RDB by default: a static Go binary (agent/,
 * images/agent/Dockerfile) with the TypeScript agent's contract and write
 * rules (conformance-tested against fixtures the TypeScript rules generate,
 * agent/testdata). About 8 MB resident where no Node process is below 40 MB
 * (bench/agent-memory.ts), and it is paid on every server. Named rather
 * than left to the image's ENTRYPOINT, so an agent.image that is neither
 * agent fails to start instead of running whatever that image runs.
 */
export const AGENT_COMMAND: readonly string[] = ['/kdb-agent'];

/** The repository of an image reference, without tag or digest. */
const imageRepository = (image: string): string => {
  const ref = image.split('@')[0] ?? image;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
};

type Container = NonNullable<V1Pod['spec']>['containers'][number];

/**
 * How the agent container runs agent.image. An operator image (the default
 * before the Go agent, so what clusters made then keep in their spec) runs
 * the TypeScript agent exactly as those pods were built, so an operator
 * upgrade changes no running pool's template hash (plan-updates.ts); any
 * other image runs /kdb-agent.
 */
export const agentRun = (image: string): Pick<Container, 'command' | 'env' | 'resources'> =>
  imageRepository(image).endsWith('/operator')
    ? {
        command: [...TS_AGENT_COMMAND],
        env: [{ name: 'NODE_COMPILE_CACHE', value: AGENT_COMPILE_CACHE }],
        resources: { requests: { memory: '64Mi', cpu: '20m' }, limits: { memory: '256Mi' } },
      }
    : {
        command: [...AGENT_COMMAND],
        env: [],
        // Steady state about 8 MB; the limit leaves room for a 1 MiB status file parsed twice over.
        resources: { requests: { memory: '16Mi', cpu: '10m' }, limits: { memory: '64Mi' } },
      };

export const rdbLabels = (c: KdbCluster, pool: string): Record<string, string> => ({
  ...clusterLabels(c),
  [LABEL.pool]: pool,
  [LABEL.role]: 'rdb',
});

export interface RdbPodInput {
  cluster: KdbCluster;
  pool: RdbPoolSpec;
  ordinal: number;
  /** The lost RDB whose window this one replays. */
  replaces?: string;
  /** The trading day of that window. */
  replacesDay?: string;
  /** ServiceAccount of the agent (the only container with Kubernetes credentials). */
  agentServiceAccount: string;
  /** PriorityClass of RDB pods (the operator's setting); none when empty. */
  priorityClassName?: string;
}

/**
 * An RDB pod: the RDB and its agent. Owned and named by the operator (not a
 * Deployment) because each one holds a distinct slice of the day and must be
 * removed by name, never by a controller's choice.
 */
export const rdbPod = (input: RdbPodInput): V1Pod => {
  const { cluster: c, pool, ordinal, replaces, replacesDay } = input;
  const name = rdbPodName(c, pool.name, ordinal);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...ownedMetadata(c, name, rdbLabels(c, pool.name)),
      annotations: {
        ...DO_NOT_DISRUPT_POD,
        [ANNOTATION.ordinal]: String(ordinal),
        ...(replaces ? { [ANNOTATION.replaces]: replaces } : {}),
        ...(replaces && replacesDay ? { [ANNOTATION.replacesDay]: replacesDay } : {}),
        [ANNOTATION.specHash]: rdbPoolTemplateHash(input),
      },
    },
    spec: rdbPodSpec(input),
  };
};

/**
 * The hash of the pool's pod template (kdb-operator.dev/spec-hash on every
 * RDB pod): the pod spec as any RDB of the pool would get it, without what
 * is one pod's own (its name, ordinal and the window it replays).
 */
export const rdbPoolTemplateHash = (input: Omit<RdbPodInput, 'ordinal' | 'replaces' | 'replacesDay'>): string =>
  templateHash(
    rdbPodSpec({
      cluster: input.cluster,
      pool: input.pool,
      ordinal: 0,
      agentServiceAccount: input.agentServiceAccount,
      ...(input.priorityClassName !== undefined ? { priorityClassName: input.priorityClassName } : {}),
    }),
  );

type PodSpec = NonNullable<V1Pod['spec']>;

const rdbPodSpec = ({ cluster: c, pool, replaces, replacesDay, agentServiceAccount, priorityClassName }: RdbPodInput): PodSpec => {
  const paths = efsPaths(c);
  const memory = String(pool.memory);
  const agent = agentRun(c.spec.agent.image);
  return {
  nodeSelector: { [LABEL.nodeGroup]: pool.nodeGroup },
  // One RDB per server, as in the paper: a server's memory is the RDB's.
  // Every namespace (namespaceSelector {}): another cluster's RDB on the
  // same server would share its memory and die with its scale-in.
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { [LABEL.role]: 'rdb' } }, namespaceSelector: {}, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  },
  // A crashed RDB has lost its memory: it is replaced by a new pod that
  // replays the lost window, never restarted in place under the same name.
  restartPolicy: 'Never',
  terminationGracePeriodSeconds: 30,
  ...priorityClassField(priorityClassName),
  serviceAccountName: agentServiceAccount,
  automountServiceAccountToken: false,
  securityContext: restrictedPodSecurityContext(),
  containers: [
    {
      name: 'rdb',
      image: pool.image,
      args: ['rdb'],
      env: [
        ...fieldEnv,
        { name: 'KDB_RDB_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'KDB_POOL', value: pool.name },
        { name: 'KDB_TP_HOST', value: tickerplantHost(c) },
        { name: 'KDB_TP_PORT', value: String(c.spec.tickerplant.port) },
        { name: 'KDB_TABLES', value: pool.tables.join(',') },
        { name: 'KDB_SYMS', value: pool.syms.join(',') },
        { name: 'KDB_SCALE_THRESHOLD', value: String(pool.scaleThreshold) },
        { name: 'KDB_ROLL_THRESHOLD', value: String(pool.rollThreshold) },
        {
          name: 'KDB_MEMORY_LIMIT_BYTES',
          valueFrom: { resourceFieldRef: { containerName: 'rdb', resource: 'limits.memory' } },
        },
        { name: 'KDB_STATUS_FILE', value: STATUS_FILE },
        { name: 'KDB_HDB_DIR', value: paths.hdbDir },
        { name: 'KDB_STAGING_DIR', value: paths.stagingDir },
        { name: 'KDB_LOG_DIR', value: paths.logDir },
        { name: 'KDB_QUERY_PORT', value: String(RDB_QUERY_PORT) },
        ...(replaces ? [{ name: 'KDB_REPLACES', value: replaces }] : []),
        ...(replaces && replacesDay ? [{ name: 'KDB_REPLACES_DAY', value: replacesDay }] : []),
        ...licenseEnv(c.spec.kdbLicenseSecret),
      ],
      securityContext: restrictedContainerSecurityContext(),
      ports: [{ name: 'query', containerPort: RDB_QUERY_PORT }],
      resources: { requests: { memory, cpu: '100m' }, limits: { memory } },
      volumeMounts: [
        { name: 'efs', mountPath: EFS_MOUNT },
        { name: 'status', mountPath: STATUS_DIR },
        scratchMount(),
      ],
    },
    {
      name: 'agent',
      image: c.spec.agent.image,
      command: agent.command,
      env: [...fieldEnv, { name: 'KDB_STATUS_FILE', value: STATUS_FILE }, ...(agent.env ?? [])],
      securityContext: restrictedContainerSecurityContext(),
      resources: agent.resources,
      volumeMounts: [
        { name: 'status', mountPath: STATUS_DIR, readOnly: true },
        { name: 'kube-api-access', mountPath: TOKEN_DIR, readOnly: true },
      ],
    },
  ],
  volumes: [
    { name: 'efs', persistentVolumeClaim: { claimName: pvcName(c) } },
    { name: 'status', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    scratchVolume(),
    {
      // Only the agent mounts the token: the RDB process needs no Kubernetes credentials.
      name: 'kube-api-access',
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
  ],
  };
};

/**
 * No voluntary disruption of any RDB: a drain must wait for the operator's
 * own scale-in. minAvailable is the pool's maxRdbs, never below the pods
 * there are, so no eviction is ever allowed; maxUnavailable 0 would need a
 * scale subresource on the owner, which a KdbCluster of several pools has not.
 */
export const rdbPodDisruptionBudget = (c: KdbCluster, pool: RdbPoolSpec): V1PodDisruptionBudget => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: ownedMetadata(c, pdbName(c, pool.name), rdbLabels(c, pool.name)),
  spec: { minAvailable: pool.maxRdbs, selector: { matchLabels: rdbLabels(c, pool.name) } },
});
