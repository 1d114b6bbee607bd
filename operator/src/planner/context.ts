import { scaleInsOf } from '../api/kdbcluster.ts';
import type { EndOfDay, PoolStatus, RdbPoolSpec, UpdatesSpec } from '../api/kdbcluster.ts';
import { nodeGroupAccess, nodeGroupOwner } from './ownership.ts';
import type { NodeGroupAccess } from './ownership.ts';
import { drainingPools } from './plan-drain.ts';
import type { DrainState, DrainingPool } from './plan-drain.ts';
import type { PoolWindDown } from './plan-wind-down.ts';
import { marketState } from './market-hours.ts';
import { isActive, markNodeLoss, ordinalOf } from './rdbs.ts';
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
  /** Set while the cluster winds down (deletion, hibernation: plan-wind-down.ts). */
  windDown?: PoolWindDown;
  /** Outside the pool's market hours (spec schedule, market-hours.ts): it may hold no RDB until `until`. */
  offHours?: { until?: string };
  /** Nodes of every pool, by name: pods and scale-in victims are looked up across node groups. */
  nodes: ReadonlyMap<string, ObservedNode>;
  /** RDB pods of every pool of the cluster. */
  allPods: readonly ObservedRdbPod[];
  /** Instances some pool's scale-in records name: no other chain may start on them. */
  busyInstances: ReadonlySet<string>;
  /**
   * Instances status last placed an RDB pod on that is still observed: the
   * pod's node may be gone (unreachable), but the instance still hosts it.
   */
  statusHosts: ReadonlySet<string>;
  /** This pool is the first of the spec on its ASG: it alone reclaims the group's idle instances. */
  reclaimsIdle: boolean;
  /** The tickerplant's end of day (spec.tickerplant.endOfDay): predictive scale-out looks at the time left to it. */
  endOfDay?: EndOfDay;
  /** When changes may reach running pods (spec.updates): the live RDB is rolled onto a new spec only then. */
  updates?: UpdatesSpec;
}

const EMPTY_POOL: ObservedPool = { asg: 'unknown', nodes: [], pods: [] };

export const poolContexts = (o: Observed, allowCreate: boolean, windDown?: PoolWindDown): PoolContext[] => {
  const nodes = new Map<string, ObservedNode>();
  const allPods: ObservedRdbPod[] = [];
  for (const p of Object.values(o.pools)) for (const n of p.nodes) nodes.set(n.name, n);
  // Every pool sees its pods with nodeLost set, so all steps agree on who is out.
  const marked: Record<string, ObservedPool> = {};
  for (const [name, p] of Object.entries(o.pools)) {
    marked[name] = { ...p, pods: markNodeLoss(p.pods, nodes) };
    allPods.push(...marked[name].pods);
  }
  const podNames = new Set(allPods.map((p) => p.name));
  const busyInstances = new Set<string>();
  const statusHosts = new Set<string>();
  for (const ps of o.cluster.status?.pools ?? []) {
    for (const r of scaleInsOf(ps)) busyInstances.add(r.instanceId);
    for (const e of ps.rdbs) if (e.instanceId !== undefined && podNames.has(e.name)) statusHosts.add(e.instanceId);
  }
  const idleGroups = new Set<string>();
  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  // Pools of the spec, then removed pools that still have RDBs: they drain.
  const pools: { spec: RdbPoolSpec; draining?: DrainingPool }[] = [
    ...o.cluster.spec.rdbPools.map((spec) => ({ spec })),
    ...drainingPools(o).map((d) => ({ spec: d.spec, draining: d })),
  ];
  const ctxs = pools.map(({ spec }) => {
    const obs = marked[spec.name] ?? EMPTY_POOL;
    const owner = nodeGroupOwner(o.cluster);
    const access = nodeGroupAccess(obs, owner, spec.nodeGroup);
    const group = access.kind === 'ours' ? access.asg.name : undefined;
    const reclaimsIdle = group !== undefined && !idleGroups.has(group);
    if (group !== undefined) idleGroups.add(group);
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
      // A deleted cluster still replays a lost window while it writes the day down: the wind-down decides.
      allowCreate: allowCreate && (!deleting || windDown?.step === 'hold') && access.kind !== 'ownedByAnother',
      deleting,
      ...(windDown ? { windDown } : {}),
      ...offHoursOf(spec, o.cluster.spec.tickerplant.endOfDay.timeZone, o.cluster.status?.pools.find((p) => p.name === spec.name), o.now),
      nodes,
      allPods,
      busyInstances,
      statusHosts,
      reclaimsIdle,
      endOfDay: o.cluster.spec.tickerplant.endOfDay,
      updates: o.cluster.spec.updates,
    };
  });
  return ctxs.map((ctx, i): PoolContext => {
    const d = pools[i]?.draining;
    // A draining pool creates only replacements, and only while its last day is owed and its pods said how to build one.
    return d ? { ...ctx, draining: d.draining, allowCreate: ctx.allowCreate && d.canBuild && !d.draining.done } : ctx;
  });
};

/** Lead time assumed before one is measured: a new EC2 node and an RDB that replayed the log, with room. */
export const DEFAULT_SCHEDULE_LEAD_SECONDS = 300;

const offHoursOf = (spec: RdbPoolSpec, zone: string, prev: PoolStatus | undefined, now: Date): { offHours?: { until?: string } } => {
  const s = spec.schedule;
  if (!s) return {};
  const leadMs = (prev?.leadTime?.seconds ?? DEFAULT_SCHEDULE_LEAD_SECONDS) * (spec.scaleOut?.leadTimeMargin ?? 1.5) * 1000;
  const m = marketState(s, zone, now, leadMs);
  return m.wanted ? {} : { offHours: m.wantedFrom ? { until: m.wantedFrom.toISOString() } : {} };
};

export const instanceOf = (ctx: PoolContext, instanceId: string | undefined): ObservedInstance | undefined =>
  instanceId === undefined ? undefined : ctx.asg?.instances.find((i) => i.instanceId === instanceId);

export const instanceIdOfPod = (ctx: PoolContext, pod: ObservedRdbPod): string | undefined =>
  pod.node === undefined ? undefined : ctx.nodes.get(pod.node)?.instanceId;

export const nodeOfInstance = (ctx: PoolContext, instanceId: string): ObservedNode | undefined => {
  for (const n of ctx.nodes.values()) if (n.instanceId === instanceId) return n;
  return undefined;
};

/** Active RDB pods (any pool) on a node. */
export const activePodsOnNode = (ctx: PoolContext, node: string | undefined): ObservedRdbPod[] =>
  node === undefined ? [] : ctx.allPods.filter((p) => p.node === node && isActive(p));

/**
 * Everything that forbids terminating the node: every RDB pod of this cluster
 * still bound to it (by name; failed, Terminating and lost ones too: a lost
 * RDB's process may still run on a partitioned node) and any other pod seen
 * there ("namespace/name"), whoever owns it.
 */
export const occupantsOfNode = (ctx: PoolContext, node: string | undefined): string[] =>
  node === undefined ? [] : [...ctx.allPods.filter((p) => p.node === node).map((p) => p.name), ...(ctx.nodes.get(node)?.otherPods ?? [])];

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
