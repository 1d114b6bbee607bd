import type { PoolContext } from './context.ts';
import { ev } from './events.ts';
import { isActive } from './rdbs.ts';
import type { Action, ClusterEvent, ObservedAsg } from './types.ts';

/**
 * Desired capacity per ASG, computed from state: one node per RDB pod that
 * exists or is being created, across the pools that share the group. It is
 * written only to raise it (never read-and-increment, never lowered: that is
 * the scale-in chain's job) and never above the group's MaxSize.
 */
export interface CapacityPlan {
  actions: Action[];
  events: ClusterEvent[];
  /** Desired capacity per ASG name after this plan. */
  desired: Map<string, number>;
}

export const podsNeedingNodes = (ctx: PoolContext, created: number): number => ctx.obs.pods.filter(isActive).length + created;

export const planCapacity = (pools: readonly { ctx: PoolContext; created: number; trigger?: string | undefined }[]): CapacityPlan => {
  const groups = new Map<string, { asg: ObservedAsg; need: number; since?: string }>();
  for (const { ctx, created, trigger } of pools) {
    if (!ctx.asg || ctx.deleting) continue;
    const g: { asg: ObservedAsg; need: number; since?: string } = groups.get(ctx.asg.name) ?? { asg: ctx.asg, need: 0 };
    g.need += podsNeedingNodes(ctx, created);
    // Pools sharing a group: the reaction is timed from the earliest trigger.
    if (trigger !== undefined && (g.since === undefined || trigger < g.since)) g.since = trigger;
    groups.set(ctx.asg.name, g);
  }
  const actions: Action[] = [];
  const events: ClusterEvent[] = [];
  const desired = new Map<string, number>();
  for (const [name, { asg, need, since }] of groups) {
    const value = Math.min(Math.max(asg.desired, need), Math.max(asg.max, asg.desired));
    desired.set(name, value);
    if (value > asg.desired) {
      actions.push({
        kind: 'SetDesiredCapacity',
        group: name,
        value,
        observed: asg.desired,
        reason: `${need} RDB pods need a node`,
        ...(since !== undefined ? { since } : {}),
      });
      events.push(ev.desiredRaised(name, asg.desired, value));
    }
  }
  return { actions, events, desired };
};
