import type { PoolContext } from './context.ts';
import { ev } from './events.ts';
import { needsNode, scaleInVictims } from './rdbs.ts';
import type { Action, ClusterEvent, ObservedAsg } from './types.ts';

/**
 * Desired capacity per ASG, computed from state: one node per RDB pod that
 * exists or is being created, across the pools that share the group (a
 * failed or lost pod still bound to its node holds that node until it is
 * gone, so the pod created in its place needs another), plus
 * one per node that some other pod holds (another cluster's RDB, a stray
 * workload): that node is no home for an RDB of ours. It is written only to
 * raise it (never read-and-increment, never lowered: that is the scale-in
 * chain's job) and never above the group's MaxSize. A group nobody has
 * claimed yet is claimed here; it is sized from the next pass on, once the
 * claim reads back as ours.
 */
export interface CapacityPlan {
  actions: Action[];
  events: ClusterEvent[];
  /** Desired capacity per ASG name after this plan. */
  desired: Map<string, number>;
}

export const podsNeedingNodes = (ctx: PoolContext, created: number): number =>
  ctx.obs.pods.filter((p) => needsNode(p, scaleInVictims(ctx.prev))).length + created;

/** Nodes of the pool's group that host some other pod and none of this cluster's RDB pods (those count already). */
export const nodesHeldByOthers = (ctx: PoolContext): string[] =>
  ctx.obs.nodes
    .filter((n) => (n.otherPods?.length ?? 0) > 0 && !ctx.allPods.some((p) => p.node === n.name))
    .map((n) => n.name);

export const planCapacity = (pools: readonly { ctx: PoolContext; created: number; trigger?: string | undefined }[]): CapacityPlan => {
  const groups = new Map<string, { asg: ObservedAsg; need: number; held: Set<string>; since?: string }>();
  const actions: Action[] = [];
  const events: ClusterEvent[] = [];
  const claimed = new Set<string>();
  for (const { ctx, created, trigger } of pools) {
    if (ctx.access.kind === 'unclaimed' && !ctx.deleting && !claimed.has(ctx.access.asg.name)) {
      claimed.add(ctx.access.asg.name);
      actions.push({ kind: 'ClaimNodeGroup', group: ctx.access.asg.name, owner: ctx.owner });
      events.push(ev.nodeGroupClaimed(ctx.spec.nodeGroup, ctx.access.asg.name, ctx.owner));
    }
    if (!ctx.asg || ctx.deleting) continue;
    const g = groups.get(ctx.asg.name) ?? { asg: ctx.asg, need: 0, held: new Set<string>() };
    g.need += podsNeedingNodes(ctx, created);
    // Pools sharing a group see the same nodes: each held node counts once.
    for (const n of nodesHeldByOthers(ctx)) g.held.add(n);
    // Pools sharing a group: the reaction is timed from the earliest trigger.
    if (trigger !== undefined && (g.since === undefined || trigger < g.since)) g.since = trigger;
    groups.set(ctx.asg.name, g);
  }
  const desired = new Map<string, number>();
  for (const [name, { asg, need: pods, held, since }] of groups) {
    const need = pods + held.size;
    const value = Math.min(Math.max(asg.desired, need), Math.max(asg.max, asg.desired));
    desired.set(name, value);
    if (value > asg.desired) {
      actions.push({
        kind: 'SetDesiredCapacity',
        group: name,
        value,
        observed: asg.desired,
        reason: held.size > 0 ? `${pods} RDB pods need a node; ${held.size} nodes are held by other pods` : `${pods} RDB pods need a node`,
        ...(since !== undefined ? { since } : {}),
      });
      events.push(ev.desiredRaised(name, asg.desired, value));
    }
  }
  return { actions, events, desired };
};
