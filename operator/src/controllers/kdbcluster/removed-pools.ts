import { LIMITS } from '../../api/kdbcluster.ts';
import type { KdbCluster, RdbPoolSpec } from '../../api/kdbcluster.ts';
import type { V1Pod } from '../../kube/index.ts';
import { remembersWork, unknownPool } from '../../planner/plan-drain.ts';
import { ANNOTATION, LABEL } from '../../specs/names.ts';
import { rdbThresholdsOf } from './rdb-thresholds.ts';

/**
 * Pools no longer in the spec that the operator must still observe, so that
 * they drain (planner/plan-drain.ts): any pool one of the cluster's RDB pods
 * belongs to, and any pool whose status still records a scale-in or a lost
 * RDB.
 *
 * What such a pool was comes from its pods, as specs/rdb.ts built them: a
 * lost RDB of it must be replaced by a pod like the others (image, memory,
 * node group, tables, syms, thresholds). With no pod left there is nothing
 * to copy: the pool is described by its name and recorded ASG only, enough
 * to finish a scale-in, never to build a pod.
 */
export interface RemovedPool {
  spec: RdbPoolSpec;
  /** The spec came from a pod: a replacement can be built from it. */
  fromPod: boolean;
}

const ordinal = (p: V1Pod): number => Number(p.metadata?.annotations?.[ANNOTATION.ordinal] ?? -1);
const list = (s: string | undefined): string[] => (s ?? '').split(',').filter((x) => x.length > 0);

export const poolSpecFromPod = (pod: V1Pod, autoScalingGroupName: string | undefined): RdbPoolSpec | undefined => {
  const name = pod.metadata?.labels?.[LABEL.pool];
  const rdb = pod.spec?.containers?.find((c) => c.name === 'rdb');
  const memory = rdb?.resources?.limits?.memory;
  const nodeGroup = pod.spec?.nodeSelector?.[LABEL.nodeGroup];
  const thresholds = rdbThresholdsOf(pod).thresholds;
  if (!name || !rdb?.image || memory === undefined || !nodeGroup || !thresholds) return undefined;
  const env = (n: string) => rdb.env?.find((e) => e.name === n)?.value;
  return {
    name,
    image: rdb.image,
    nodeGroup,
    ...(autoScalingGroupName !== undefined ? { autoScalingGroupName } : {}),
    memory: String(memory),
    scaleThreshold: thresholds.scale,
    rollThreshold: thresholds.roll,
    tables: list(env('KDB_TABLES')),
    syms: list(env('KDB_SYMS')),
    minRdbs: 0,
    // The PDB of a replacement's pool is applied with minAvailable maxRdbs: the most, so no eviction is ever allowed.
    maxRdbs: LIMITS.rdbsPerPool,
    idleInstanceGraceSeconds: 600,
    suspendAZRebalance: true,
  };
};

export const removedPools = (cluster: KdbCluster, clusterPods: readonly V1Pod[]): RemovedPool[] => {
  const inSpec = new Set(cluster.spec.rdbPools.map((p) => p.name));
  const status = cluster.status?.pools ?? [];
  const names = new Set<string>();
  for (const p of clusterPods) {
    const pool = p.metadata?.labels?.[LABEL.pool];
    if (pool !== undefined && p.metadata?.labels?.[LABEL.role] === 'rdb' && !inSpec.has(pool)) names.add(pool);
  }
  for (const ps of status) if (!inSpec.has(ps.name) && remembersWork(ps)) names.add(ps.name);
  return [...names].sort().map((name) => {
    const asgName = status.find((p) => p.name === name)?.autoScalingGroupName;
    // The newest pod was built from the pool's last spec.
    const pods = clusterPods
      .filter((p) => p.metadata?.labels?.[LABEL.pool] === name && p.metadata?.labels?.[LABEL.role] === 'rdb')
      .sort((a, b) => ordinal(b) - ordinal(a));
    for (const p of pods) {
      const spec = poolSpecFromPod(p, asgName);
      if (spec) return { spec, fromPod: true };
    }
    return { spec: unknownPool(name, asgName !== undefined ? { autoScalingGroupName: asgName } : undefined), fromPod: false };
  });
};
