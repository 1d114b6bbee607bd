import type { PoolStatus, RdbPoolSpec } from '../api/kdbcluster.ts';
import { isActive, ordinalOf } from './rdbs.ts';
import type { Observed, ObservedAsg, ObservedInstance, ObservedNode, ObservedPool, ObservedRdbPod } from './types.ts';

/** Everything a pool's planning steps read, computed once. */
export interface PoolContext {
  cluster: string;
  spec: RdbPoolSpec;
  obs: ObservedPool;
  /** The ASG when AWS answered and the group exists. */
  asg: ObservedAsg | undefined;
  awsUnknown: boolean;
  asgMissing: boolean;
  prev: PoolStatus | undefined;
  now: Date;
  /** New pods may be created (the tickerplant exists and the cluster is not being deleted). */
  allowCreate: boolean;
  deleting: boolean;
  /** Nodes of every pool, by name: pods and scale-in victims are looked up across node groups. */
  nodes: ReadonlyMap<string, ObservedNode>;
  /** RDB pods of every pool of the cluster. */
  allPods: readonly ObservedRdbPod[];
}

const EMPTY_POOL: ObservedPool = { asg: 'unknown', nodes: [], pods: [] };

export const poolContexts = (o: Observed, allowCreate: boolean): PoolContext[] => {
  const nodes = new Map<string, ObservedNode>();
  const allPods: ObservedRdbPod[] = [];
  for (const p of Object.values(o.pools)) {
    for (const n of p.nodes) nodes.set(n.name, n);
    allPods.push(...p.pods);
  }
  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  return o.cluster.spec.rdbPools.map((spec) => {
    const obs = o.pools[spec.name] ?? EMPTY_POOL;
    return {
      cluster: o.cluster.metadata.name,
      spec,
      obs,
      asg: typeof obs.asg === 'object' ? obs.asg : undefined,
      awsUnknown: obs.asg === 'unknown',
      asgMissing: obs.asg === 'missing',
      prev: o.cluster.status?.pools.find((p) => p.name === spec.name),
      now: o.now,
      allowCreate: allowCreate && !deleting,
      deleting,
      nodes,
      allPods,
    };
  });
};

export const instanceOf = (ctx: PoolContext, instanceId: string | undefined): ObservedInstance | undefined =>
  instanceId === undefined ? undefined : ctx.asg?.instances.find((i) => i.instanceId === instanceId);

export const instanceIdOfPod = (ctx: PoolContext, pod: ObservedRdbPod): string | undefined =>
  pod.node === undefined ? undefined : ctx.nodes.get(pod.node)?.instanceId;

export const nodeOfInstance = (ctx: PoolContext, instanceId: string): ObservedNode | undefined => {
  for (const n of ctx.nodes.values()) if (n.instanceId === instanceId) return n;
  return undefined;
};

/** Active RDB pods (any pool) on a node: what terminating its instance would kill. */
export const activePodsOnNode = (ctx: PoolContext, node: string | undefined): ObservedRdbPod[] =>
  node === undefined ? [] : ctx.allPods.filter((p) => p.node === node && isActive(p));

/** Lifecycle states that mean the instance is already on its way out: a scale-in counts as done. */
export const isLeaving = (i: ObservedInstance): boolean =>
  i.lifecycleState.startsWith('Terminating') || i.lifecycleState === 'Terminated';

/**
 * Hands out pod ordinals. The counter starts above every name ever seen (kept
 * in status), but is never advanced by creations alone: a plan repeated
 * before the informer shows the new pod picks the same name again, and the
 * create is a no-op instead of a second RDB.
 */
export class OrdinalCounter {
  next: number;
  readonly seen: number;
  constructor(ctx: PoolContext) {
    let n = ctx.prev?.nextOrdinal ?? 0;
    for (const p of ctx.obs.pods) {
      const o = ordinalOf(ctx.cluster, ctx.spec.name, p.name);
      if (o !== undefined && o + 1 > n) n = o + 1;
    }
    for (const e of ctx.prev?.rdbs ?? []) {
      const o = ordinalOf(ctx.cluster, ctx.spec.name, e.name);
      if (o !== undefined && o + 1 > n) n = o + 1;
    }
    this.next = n;
    this.seen = n;
  }
  take(): number {
    return this.next++;
  }
}

export const activePods = (ctx: PoolContext): ObservedRdbPod[] => ctx.obs.pods.filter(isActive);
