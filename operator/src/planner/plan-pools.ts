import type { PendingChange, RdbPoolSpec, ScaleInRecord } from '../api/kdbcluster.ts';
import { OrdinalCounter, poolContexts } from './context.ts';
import type { IdleInstance } from './idle-instances.ts';
import type { PoolContext } from './context.ts';
import { planCapacity } from './plan-capacity.ts';
import type { CapacityPlan } from './plan-capacity.ts';
import { planProtection } from './plan-protection.ts';
import { planReplacements } from './plan-replacements.ts';
import { planScaleIn } from './plan-scale-in.ts';
import { planScaleOut } from './plan-scale-out.ts';
import { removable } from './plan-drain.ts';
import { liveRotation, poolUpdate } from './plan-updates.ts';
import type { RotationRecord } from './plan-updates.ts';
import type { PoolWindDown } from './plan-wind-down.ts';
import { isActive, isDeleting, scaleInVictims } from './rdbs.ts';
import type { Action, CapacityLimit, ClusterEvent, LostRdb, Observed } from './types.ts';

/** What one pool's planning decided; planStatus turns it into status, plan() orders the actions. */
export interface PoolOutcome {
  ctx: PoolContext;
  pool: RdbPoolSpec;
  /** Group settings, instance protection, node annotations: first, before anything moves. */
  protection: Action[];
  /** Lost-pod deletions and pod creations. */
  pods: Action[];
  /** The scale-in chain: records and the step they name. */
  scaleInActions: Action[];
  events: ClusterEvent[];
  created: string[];
  lost: LostRdb[];
  /** Lost pods still observed whose window a replacement holds (see planReplacements). */
  replayed: string[];
  /** The pool's scale-in chains after this plan. */
  scaleIns: ScaleInRecord[];
  /** Instances of the pool's ASG hosting no RDB, with when first seen so (idle-instances.ts). */
  idle: IdleInstance[];
  capacityLimit: CapacityLimit | undefined;
  capacityMessage: string | undefined;
  nextOrdinal: number;
  requeueMs: number | undefined;
  /** When the report that set off this plan's scale-out was written. */
  scaleOutTrigger: string | undefined;
  /** RDBs built from an older pool spec (plan-updates.ts). */
  pending?: PendingChange;
  /** The live RDB's roll onto the new spec asked for and not yet seen done (status.pools[].rotation). */
  rotation?: RotationRecord;
  /** The roll request itself: after status has recorded it (plan.ts). */
  rotationActions: Action[];
}

export interface PoolsPlan {
  outcomes: PoolOutcome[];
  capacity: CapacityPlan;
}

/** planScaleIn -> planReplacements -> planScaleOut -> planProtection per pool, then planCapacity across pools. */
export const planPools = (o: Observed, allowCreate: boolean, windDown?: PoolWindDown): PoolsPlan => {
  const ctxs = poolContexts(o, allowCreate, windDown);
  // Pods that need a node in each ASG, across the pools sharing it: MaxSize bounds them all.
  const load = new Map<string, number>();
  for (const ctx of ctxs) {
    if (ctx.asg) load.set(ctx.asg.name, (load.get(ctx.asg.name) ?? 0) + ctx.obs.pods.filter(isActive).length);
  }
  const outcomes = ctxs.map((ctx): PoolOutcome => {
    const ordinals = new OrdinalCounter(ctx);
    const repl = planReplacements(ctx, ordinals);
    const asgRoom = ctx.asg ? ctx.asg.max - (load.get(ctx.asg.name) ?? 0) - repl.created.length : Number.POSITIVE_INFINITY;
    // Before scale-out: moving the live RDB onto a new spec may need a queued RDB to roll onto.
    const rotation = liveRotation(ctx);
    const out = planScaleOut(ctx, ordinals, { alreadyCreated: repl.created.length, asgRoom, forRotation: rotation.wantsQueued });
    if (ctx.asg) load.set(ctx.asg.name, (load.get(ctx.asg.name) ?? 0) + repl.created.length + out.created.length);
    // Pods created now will want nodes: no idle instance is handed back in the same breath.
    const scaleIn = planScaleIn(ctx, { creatingPods: repl.created.length + out.created.length > 0 });
    // A drained pool's RDBs hold only days after its last one, which nothing
    // needs: one lost then is not replaced, and not remembered as lost.
    const drained = ctx.draining?.done === true;
    const update = poolUpdate(ctx, rotation);
    const lost = drained ? [] : repl.lost;
    return {
      ctx,
      pool: ctx.spec,
      protection: planProtection(ctx, scaleIn.records),
      // The pool's next live or queued RDB is created before replacements: when
      // servers are short (AWS down, MaxSize) the scheduler gives the free node
      // to the first pending pod, and the feed needs a live RDB more than a
      // lost window needs replaying (it waits in the log).
      pods: [...out.actions, ...repl.actions, ...update.actions, ...windDownDeletions(ctx)].map((a) =>
        ctx.draining && a.kind === 'EnsureRdbPod' ? { ...a, poolSpec: ctx.spec } : a,
      ),
      scaleInActions: scaleIn.actions,
      events: [...repl.events, ...out.events, ...scaleIn.events, ...update.events, ...rotation.events],
      created: [...repl.created, ...out.created],
      lost,
      replayed: drained ? [] : repl.replayed,
      scaleIns: scaleIn.records,
      idle: scaleIn.idle,
      capacityLimit: out.capacityLimit,
      capacityMessage: out.capacityMessage,
      nextOrdinal: ordinals.seen,
      requeueMs: scaleIn.requeueMs,
      scaleOutTrigger: out.trigger,
      ...(update.pending ? { pending: update.pending } : {}),
      ...(rotation.record ? { rotation: rotation.record } : {}),
      rotationActions: rotation.actions,
    };
  });
  const capacity = planCapacity(outcomes.map((p) => ({ ctx: p.ctx, created: p.created.length, trigger: p.scaleOutTrigger })));
  return { outcomes, capacity };
};

/**
 * Emptying a pool for a wind-down, the RDBs the chain cannot take: one still
 * waiting for a node (it never ran, so holds nothing), and one that owes
 * nothing but whose server is not the cluster's to hand back: the pool has no
 * ASG of this cluster's, or other pods run on its node (a shared node group).
 * Their servers stay.
 */
export const windDownDeletions = (ctx: PoolContext): Action[] => {
  if (ctx.windDown?.step !== 'empty') return [];
  const noGroup = !ctx.asg && !ctx.awsUnknown;
  const shared = (node: string): boolean => (ctx.nodes.get(node)?.otherPods ?? []).length > 0;
  // A chain's victim is deleted by the chain, with its preconditions.
  const victims = scaleInVictims(ctx.prev);
  return ctx.obs.pods
    .filter((p) => !victims.has(p.name) && !isDeleting(p) && isActive(p))
    .filter((p) => p.node === undefined || ((noGroup || shared(p.node)) && removable(ctx, p)))
    .map((p): Action => ({ kind: 'DeleteRdbPod', pool: ctx.spec.name, pod: p.name, reason: 'WindDown' }));
};
