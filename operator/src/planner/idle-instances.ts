import type { PoolContext } from './context.ts';
import { nodeOfInstance, occupantsOfNode } from './context.ts';
import { isActive } from './rdbs.ts';
import type { ObservedInstance } from './types.ts';

/**
 * Nothing protected is forgotten. An instance of the pool's ASG can end up
 * hosting no RDB: its pod was deleted some other way than by the scale-in
 * chain, a lost RDB's pod finally went, capacity was raised for a failed pod
 * that is gone now. Left alone it stays protected, and paid for, forever.
 * Once it has been seen idle for the grace period it is scaled in through the
 * same recorded chain (no pod to delete: ConfirmInstance, Unprotect,
 * Terminate, the node checked empty of every pod first).
 *
 * When it was first seen idle is kept in status (pools[].idleInstances): the
 * planner's clock is o.now, so the grace survives restarts and tests can
 * step through it.
 */
export const IDLE_INSTANCE_GRACE_MS = 10 * 60_000;

/** The pool's grace (spec.rdbPools[].idleInstanceGraceSeconds), the default for specs stored before it existed. */
export const idleGraceMs = (ctx: PoolContext): number =>
  // Emptying for a wind-down, no server is kept for a pod that will never come.
  ctx.windDown?.step === 'empty' ? 0 : ctx.spec.idleInstanceGraceSeconds !== undefined ? ctx.spec.idleInstanceGraceSeconds * 1000 : IDLE_INSTANCE_GRACE_MS;

export interface IdleInstance {
  instanceId: string;
  since: string;
}

export interface IdlePlan {
  /** Instances idle now, with when first seen (the pool's status). */
  idle: IdleInstance[];
  /** Those whose grace has passed, oldest id first, when nothing forbids a scale-in (the chain caps how many start). */
  due: DueInstance[];
}

export interface DueInstance {
  instanceId: string;
  node?: string;
  since: string;
}

const NONE: IdlePlan = { idle: [], due: [] };

/**
 * Idle: InService, hosting no RDB pod of the cluster (bound in any state) and
 * no other pod, named by no scale-in record, and not the instance of a pod
 * whose node is gone. An instance whose node has not registered yet counts
 * from when it was first seen InService: a new one is booting into a node,
 * and the grace covers that.
 */
const isIdle = (ctx: PoolContext, i: ObservedInstance): { idle: boolean; node?: string } => {
  if (i.lifecycleState !== 'InService' || ctx.busyInstances.has(i.instanceId) || ctx.statusHosts.has(i.instanceId)) return { idle: false };
  const node = nodeOfInstance(ctx, i.instanceId);
  if (node) return occupantsOfNode(ctx, node.name).length === 0 ? { idle: true, node: node.name } : { idle: false };
  // A pod bound to a node nobody sees could be on this instance.
  return { idle: !ctx.allPods.some((p) => p.node !== undefined && !ctx.nodes.has(p.node)) };
};

/** Any RDB pod of the cluster waiting for a node may be heading for an idle one: no instance is removed meanwhile. */
export const podWaitingForNode = (ctx: PoolContext): boolean => ctx.allPods.some((p) => isActive(p) && p.node === undefined);

export const planIdleInstances = (ctx: PoolContext): IdlePlan => {
  const asg = ctx.asg;
  // Pools sharing a group: the first one alone keeps the clock and reclaims.
  if (!asg || (ctx.deleting && ctx.windDown?.step !== 'empty') || !ctx.reclaimsIdle) return NONE;
  const seen = new Map((ctx.prev?.idleInstances ?? []).map((x) => [x.instanceId, x.since]));
  const now = ctx.now.toISOString();
  const idle: IdleInstance[] = [];
  let due: DueInstance[] = [];
  const grace = idleGraceMs(ctx);
  for (const i of [...asg.instances].sort((a, b) => a.instanceId.localeCompare(b.instanceId))) {
    const r = isIdle(ctx, i);
    if (!r.idle) continue;
    const since = seen.get(i.instanceId) ?? now;
    idle.push({ instanceId: i.instanceId, since });
    const at = Date.parse(since);
    if (Number.isFinite(at) && ctx.now.getTime() - at >= grace) {
      due.push({ instanceId: i.instanceId, ...(r.node !== undefined ? { node: r.node } : {}), since });
    }
  }
  // Never below MinSize (the chain also counts the decrements in flight), never while a pod waits for a node.
  if (asg.desired <= asg.min || podWaitingForNode(ctx)) due = [];
  return { idle, due };
};
