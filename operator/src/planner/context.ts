import type { PoolStatus, RdbPoolSpec } from '../api/kdbcluster.ts';
import { nodeGroupAccess, nodeGroupOwner } from './ownership.ts';
import type { NodeGroupAccess } from './ownership.ts';
import { drainingPools } from './plan-drain.ts';
import type { DrainState, DrainingPool } from './plan-drain.ts';
import { isActive, ordinalOf } from './rdbs.ts';
import type { Observed, ObservedAsg, ObservedInstance, ObservedNode, ObservedPool, ObservedRdbPod } from './types.ts';

/** Everything a pool's planning steps read, computed once. */
export interface PoolContext {
  cluster: string;
  spec: RdbPoolSpec;
  /** Set for a pool no longer in the spec: it drains (see plan-drain.ts). */
  draining?: DrainState;
  obs: ObservedPool;
  /** The ASG when AWS answered, the group exists and this cluster holds its claim: the only group the pool may change. */
  asg: ObservedAsg | undefined;
  /** Whose the group is (see ownership.ts). */
  access: NodeGroupAccess;
  /** This cluster's claim value ("namespace/name"). */
  owner: string;
  awsUnknown: boolean;
  /** No ASG, or several: NodeGroupUnresolved. */
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
  // Pools of the spec, then removed pools that still have RDBs: they drain.
  const pools: { spec: RdbPoolSpec; draining?: DrainingPool }[] = [
    ...o.cluster.spec.rdbPools.map((spec) => ({ spec })),
    ...drainingPools(o).map((d) => ({ spec: d.spec, draining: d })),
  ];
  const ctxs = pools.map(({ spec }) => {
    const obs = o.pools[spec.name] ?? EMPTY_POOL;
    const owner = nodeGroupOwner(o.cluster);
    const access = nodeGroupAccess(obs, owner, spec.nodeGroup);
    return {
      cluster: o.cluster.metadata.name,
      spec,
      obs,
      asg: access.kind === 'ours' ? access.asg : undefined,
      access,
      owner,
      awsUnknown: access.kind === 'unknown',
      asgMissing: access.kind === 'unresolved',
      prev: o.cluster.status?.pools.find((p) => p.name === spec.name),
      now: o.now,
      // Pods of a pool on another cluster's group would take the servers that cluster raised for its own RDBs.
      allowCreate: allowCreate && !deleting && access.kind !== 'ownedByAnother',
      deleting,
      nodes,
      allPods,
    };
  });
  return ctxs.map((ctx, i): PoolContext => {
    const d = pools[i]?.draining;
    // A draining pool creates only replacements, and only while its last day is owed and its pods said how to build one.
    return d ? { ...ctx, draining: d.draining, allowCreate: ctx.allowCreate && d.canBuild && !d.draining.done } : ctx;
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

/**
 * Everything terminating the node would kill: this cluster's active RDB pods
 * (by name) and any other pod seen there ("namespace/name"), whoever owns it.
 */
export const occupantsOfNode = (ctx: PoolContext, node: string | undefined): string[] =>
  node === undefined ? [] : [...activePodsOnNode(ctx, node).map((p) => p.name), ...(ctx.nodes.get(node)?.otherPods ?? [])];

/** The pool's ASG as observed, whoever holds it (for status: which group the pool names). */
export const observedGroupName = (ctx: PoolContext): string | undefined =>
  ctx.access.kind === 'ours' || ctx.access.kind === 'unclaimed' || ctx.access.kind === 'ownedByAnother' ? ctx.access.asg.name : undefined;

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
