import { scaleInsOf } from '../api/kdbcluster.ts';
import type { ScaleInRecord, ScaleInStep } from '../api/kdbcluster.ts';
import { instanceIdOfPod, instanceOf, isLeaving, nodeOfInstance, occupantsOfNode } from './context.ts';
import type { PoolContext } from './context.ts';
import { ev } from './events.ts';
import { planIdleInstances, podWaitingForNode } from './idle-instances.ts';
import type { DueInstance, IdleInstance } from './idle-instances.ts';
import { removable } from './plan-drain.ts';
import { byOrdinal, isActive, isDeleting } from './rdbs.ts';
import type { Action, ClusterEvent, ObservedRdbPod } from './types.ts';

/**
 * Scale-in: the only way desired capacity goes down. A chain of steps per
 * server, each recorded in status before it runs and each safe to repeat, so
 * a restarted operator picks up every chain at its recorded step:
 *
 *   DeletePod        cordon the node, delete the flushed, non-live RDB pod; wait until it is gone
 *   ConfirmInstance  the instance is in this pool's ASG, InService, and no RDB pod is on its node
 *   Unprotect        remove its scale-in protection (the only place protection comes off)
 *   Terminate        TerminateInstanceInAutoScalingGroup with decrement, naming that instance
 *                    (in the same pass as Unprotect, after it: see the Unprotect case)
 *   (cleared)        when the instance is Terminating/Terminated or gone from the group
 *
 * An instance idle past its grace (idle-instances.ts) enters the chain at
 * ConfirmInstance: its node is cordoned, and the chain stops while any RDB
 * pod waits for a node (that pod may be heading for it).
 *
 * A pool runs several chains at once (status.pools[].scaleIns, one per
 * instance, at most spec maxParallelScaleIns), so the RDBs flushed at end of
 * day are handed back together rather than one after another. A chain
 * starts only if, with every chain in flight done, the pool still keeps
 * minRdbs RDBs and the group stays at or above its MinSize. An instance
 * already leaving counts as done at every step. Terminate is emitted only
 * while a fresh read shows the instance InService, and at most as many per
 * pass as the group has room above MinSize, so a repeat after a crash cannot
 * decrement twice.
 */
export interface ScaleInPlan {
  /** Every chain's record first (one status write), then the steps they name. */
  actions: Action[];
  events: ClusterEvent[];
  /** The chains after this plan (empty: none in flight). */
  records: ScaleInRecord[];
  requeueMs: number | undefined;
  /** The pool's idle instances and when each was first seen idle (status.pools[].idleInstances). */
  idle: IdleInstance[];
}

/** One chain's pass. */
interface ChainPlan {
  actions: Action[];
  events: ClusterEvent[];
  /** The chain's record after this pass (undefined: done or aborted). */
  record: ScaleInRecord | undefined;
  requeueMs: number | undefined;
}

/** Decrements the group can still take in this pass: AWS refuses one below MinSize. */
interface TerminateBudget {
  left: number;
}

export const STEP_REQUEUE_MS = 2_000;
export const AWS_WAIT_REQUEUE_MS = 15_000;
export const DEFAULT_MAX_PARALLEL_SCALE_INS = 10;

export const maxParallelScaleIns = (ctx: PoolContext): number => ctx.spec.maxParallelScaleIns ?? DEFAULT_MAX_PARALLEL_SCALE_INS;

const isRecord = (a: Action): boolean => a.kind === 'RecordScaleInStep';

export const planScaleIn = (ctx: PoolContext, o: { creatingPods?: boolean } = {}): ScaleInPlan => {
  const idle = planIdleInstances(ctx);
  const budget: TerminateBudget = { left: ctx.asg ? ctx.asg.desired - ctx.asg.min : 0 };
  const continued = scaleInsOf(ctx.prev).map((rec) => continueScaleIn(ctx, rec, [], budget));
  const inFlight = continued.flatMap((c) => (c.record ? [c.record] : []));
  const started = startScaleIns(ctx, inFlight, o.creatingPods ? [] : idle.due, budget);
  const chains = [...continued, ...started];
  const records = chains.flatMap((c) => (c.record ? [c.record] : []));
  const actions = chains.flatMap((c) => c.actions);
  const waits = chains.flatMap((c) => (c.requeueMs !== undefined ? [c.requeueMs] : []));
  const inChain = new Set(records.map((r) => r.instanceId));
  return {
    // A step runs only after its record is persisted, and every step is safe
    // to repeat: writing all the records first costs one status write, not one per chain.
    actions: [...actions.filter(isRecord), ...actions.filter((a) => !isRecord(a))],
    events: chains.flatMap((c) => c.events),
    records,
    requeueMs: waits.length > 0 ? Math.min(...waits) : undefined,
    // An instance in a chain is not idle-waiting any more.
    idle: idle.idle.filter((i) => !inChain.has(i.instanceId)),
  };
};

/** What the chain removes, for Events: the RDB, or the idle instance. */
const subject = (rec: ScaleInRecord): string => rec.rdb ?? `idle instance ${rec.instanceId}`;

const record = (ctx: PoolContext, instanceId: string, rec: ScaleInRecord | null): Action => ({
  kind: 'RecordScaleInStep',
  pool: ctx.spec.name,
  instanceId,
  record: rec,
});

/**
 * The victims a chain may start on now, oldest first: flushed, non-live RDBs
 * whose instance is InService in this pool's ASG and in no chain, while the
 * pool keeps minRdbs once `victims` (the RDBs of chains in flight) are gone.
 */
export const scaleInCandidates = (
  ctx: PoolContext,
  victims: ReadonlySet<string> = new Set(),
  chained: ReadonlySet<string> = new Set(),
): { pod: ObservedRdbPod; instanceId: string }[] => {
  // A deletion removes RDBs only once the wind-down has written the day down.
  if (!ctx.asg || (ctx.deleting && ctx.windDown?.step !== 'empty') || ctx.windDown?.step === 'hold') return [];
  const active = ctx.obs.pods.filter(isActive);
  // Scaling out right now: a pod waits for a node. Removing a node in the same breath only churns.
  if (active.some((p) => p.node === undefined)) return [];
  // Never below minRdbs (a wind-down keeps none); the live RDB keeps its node unless the pool empties.
  const floor = ctx.windDown || ctx.offHours ? 0 : ctx.spec.minRdbs;
  let staying = active.filter((p) => !victims.has(p.name)).length;
  const out: { pod: ObservedRdbPod; instanceId: string }[] = [];
  for (const pod of [...active].sort(byOrdinal(ctx.cluster, ctx.spec.name))) {
    if (staying - 1 < floor) break;
    if (victims.has(pod.name) || !removable(ctx, pod)) continue;
    const instanceId = instanceIdOfPod(ctx, pod);
    const inst = instanceOf(ctx, instanceId);
    if (!instanceId || !inst || inst.lifecycleState !== 'InService' || chained.has(instanceId)) continue;
    // Another RDB on the same node (should not happen: one RDB per node), or any other pod, would die with it.
    if (occupantsOfNode(ctx, pod.node).some((p) => p !== pod.name)) continue;
    out.push({ pod, instanceId });
    staying--;
  }
  return out;
};

/** The first victim a chain would start on, none being in flight. */
export const scaleInCandidate = (ctx: PoolContext): { pod: ObservedRdbPod; instanceId: string } | undefined => {
  const inFlight = scaleInsOf(ctx.prev);
  return scaleInCandidates(ctx, new Set(inFlight.flatMap((r) => (r.rdb ? [r.rdb] : []))), new Set([...ctx.busyInstances])).at(0);
};

/**
 * New chains, up to the pool's cap: RDB victims first, then idle instances.
 * Each is a decrement to come, so the group's room above MinSize is counted
 * against every chain of any pool whose instance has not left yet.
 */
const startScaleIns = (ctx: PoolContext, inFlight: readonly ScaleInRecord[], due: readonly DueInstance[], budget: TerminateBudget): ChainPlan[] => {
  const asg = ctx.asg;
  if (!asg) return [];
  let slots = maxParallelScaleIns(ctx) - inFlight.length;
  const chained = new Set([...ctx.busyInstances, ...inFlight.map((r) => r.instanceId)]);
  let pending = asg.instances.filter((i) => chained.has(i.instanceId) && !isLeaving(i)).length;
  const room = (): boolean => slots > 0 && asg.desired - pending - 1 >= asg.min;
  const victims = new Set(inFlight.flatMap((r) => (r.rdb ? [r.rdb] : [])));
  const out: ChainPlan[] = [];
  const take = (instanceId: string): void => {
    chained.add(instanceId);
    pending++;
    slots--;
  };
  for (const c of scaleInCandidates(ctx, victims, chained)) {
    // AWS refuses a decrement below the group's MinSize: the flushed RDB keeps
    // its server (ready for the next scale-out) rather than lose it for nothing.
    if (!room()) break;
    take(c.instanceId);
    out.push(startRdb(ctx, c, budget));
  }
  for (const d of due) {
    if (!room()) break;
    if (chained.has(d.instanceId)) continue;
    take(d.instanceId);
    out.push(startIdle(ctx, d, budget));
  }
  return out;
};

const startIdle = (ctx: PoolContext, due: DueInstance, budget: TerminateBudget): ChainPlan => {
  const rec: ScaleInRecord = {
    instanceId: due.instanceId,
    ...(due.node !== undefined ? { node: due.node } : {}),
    step: 'ConfirmInstance',
    startedAt: ctx.now.toISOString(),
  };
  const node = due.node !== undefined ? ctx.nodes.get(due.node) : undefined;
  const cordon: Action[] = node && !node.unschedulable ? [{ kind: 'CordonNode', node: node.name }] : [];
  const next = continueScaleIn(ctx, rec, [record(ctx, rec.instanceId, rec), ...cordon], budget);
  return { ...next, events: [ev.idleScaleInStarted(ctx.spec.name, due.instanceId, due.since), ...next.events] };
};

const startRdb = (ctx: PoolContext, c: { pod: ObservedRdbPod; instanceId: string }, budget: TerminateBudget): ChainPlan => {
  const rec: ScaleInRecord = {
    rdb: c.pod.name,
    instanceId: c.instanceId,
    ...(c.pod.node !== undefined ? { node: c.pod.node } : {}),
    step: 'DeletePod',
    startedAt: ctx.now.toISOString(),
    ...(c.pod.rdb?.reportedAt !== undefined ? { flushedAt: c.pod.rdb.reportedAt } : {}),
  };
  const next = continueScaleIn(ctx, rec, [record(ctx, rec.instanceId, rec)], budget);
  return { ...next, events: [ev.scaleInStarted(ctx.spec.name, c.pod.name, rec.instanceId), ...next.events] };
};

const advance = (ctx: PoolContext, rec: ScaleInRecord, step: ScaleInStep, done: Action[], budget: TerminateBudget): ChainPlan => {
  const next = { ...rec, step };
  return continueScaleIn(ctx, next, [...done, record(ctx, next.instanceId, next)], budget);
};

const wait = (rec: ScaleInRecord, done: Action[], ms = STEP_REQUEUE_MS): ChainPlan => ({
  actions: done,
  events: [],
  record: rec,
  requeueMs: ms,
});

const finish = (ctx: PoolContext, rec: ScaleInRecord, done: Action[]): ChainPlan => ({
  actions: [...done, record(ctx, rec.instanceId, null)],
  events: [rec.rdb !== undefined ? ev.scaledIn(ctx.spec.name, rec.rdb, rec.instanceId) : ev.idleScaledIn(ctx.spec.name, rec.instanceId)],
  record: undefined,
  requeueMs: undefined,
});

const abort = (ctx: PoolContext, rec: ScaleInRecord, done: Action[], why: string): ChainPlan => {
  const node = rec.node !== undefined ? ctx.nodes.get(rec.node) : undefined;
  const inst = instanceOf(ctx, rec.instanceId);
  // planProtection protects instances that host an RDB; a victim whose RDB is
  // already gone (stopped by a foreign pod on its node) gets it back here.
  const reprotect: Action[] =
    ctx.asg && inst && !inst.protectedFromScaleIn && !isLeaving(inst) && !ctx.obs.pods.some((p) => p.node === rec.node)
      ? [{ kind: 'SetInstanceProtection', group: ctx.asg.name, instanceIds: [rec.instanceId], protect: true }]
      : [];
  return {
    // Clearing the record lets planProtection protect the instance again in this same plan.
    actions: [...done, record(ctx, rec.instanceId, null), ...reprotect, ...(node?.unschedulable ? [{ kind: 'UncordonNode', node: node.name } as const] : [])],
    events: [ev.scaleInAborted(ctx.spec.name, subject(rec), why)],
    record: undefined,
    requeueMs: undefined,
  };
};

const continueScaleIn = (ctx: PoolContext, rec: ScaleInRecord, done: Action[], budget: TerminateBudget): ChainPlan => {
  const pod = ctx.obs.pods.find((p) => p.name === rec.rdb);
  const node = rec.node !== undefined ? ctx.nodes.get(rec.node) : nodeOfInstance(ctx, rec.instanceId);
  const inst = instanceOf(ctx, rec.instanceId);

  if (rec.step === 'DeletePod') {
    if (pod && isDeleting(pod)) return wait(rec, done);
    if (pod) {
      // Checked again at every pass: the pod may have changed since the record was written.
      if (!removable(ctx, pod)) return abort(ctx, rec, done, 'the RDB is live or holds unflushed data');
      const cordon: Action[] = node && !node.unschedulable ? [{ kind: 'CordonNode', node: node.name }] : [];
      // The delete holds only for the pod as seen here: one that changed since
      // (a new report, a new pod of the same name) is re-planned, not deleted.
      if (pod.uid === undefined || pod.resourceVersion === undefined) return wait(rec, [...done, ...cordon]);
      const precondition = { uid: pod.uid, resourceVersion: pod.resourceVersion };
      return wait(rec, [...done, ...cordon, { kind: 'DeleteRdbPod', pool: ctx.spec.name, pod: pod.name, reason: 'ScaleIn', precondition }]);
    }
    return advance(ctx, rec, 'ConfirmInstance', done, budget);
  }

  // Every later step talks to AWS: without a fresh view of the group, wait.
  if (!ctx.asg) return wait(rec, done, AWS_WAIT_REQUEUE_MS);
  if (inst && isLeaving(inst)) return finish(ctx, rec, done);
  if (!inst) {
    // Not in this group. Gone, unless its node is still here: then it is
    // someone else's instance, and we never touch another instance.
    // After our terminate, AWS shows the instance Terminating (handled above);
    // an emulator may drop it at once while its node lingers: that is done too.
    if (rec.step !== 'Terminate' && node && node.ready) return abort(ctx, rec, done, `instance ${rec.instanceId} is not in ASG ${ctx.asg.name}`);
    return finish(ctx, rec, done);
  }
  const occupants = occupantsOfNode(ctx, node?.name ?? rec.node);
  if (occupants.length > 0) {
    return abort(ctx, rec, done, `pod ${occupants.join(', ')} is running on node ${node?.name ?? rec.node}`);
  }
  // An idle instance is only idle while no RDB pod needs a node.
  if (rec.rdb === undefined && podWaitingForNode(ctx)) return abort(ctx, rec, done, 'an RDB pod waits for a node');

  switch (rec.step) {
    case 'ConfirmInstance':
      if (inst.lifecycleState !== 'InService') return wait(rec, done);
      return advance(ctx, rec, 'Unprotect', done, budget);
    case 'Unprotect':
      // The terminate follows the unprotect in the same pass, in the chain's
      // lane after it (the effector runs a lane in order and stops it at a
      // failure). It rests on the checks of this pass's fresh read, which
      // the unprotect does not change; waiting a pass to see the protection
      // gone would only add a status write and a read to every hand-back.
      // A crash between the two resumes at Terminate, whose explicit,
      // named-instance call AWS makes whether or not protection is still on.
      // Only when the terminate goes ahead now: otherwise (no room above MinSize)
      // the unprotect waits for its pass, and the abort that follows protects again.
      if (!inst.protectedFromScaleIn) return advance(ctx, rec, 'Terminate', done, budget);
      {
        const unprotect: Action = { kind: 'SetInstanceProtection', group: ctx.asg.name, instanceIds: [rec.instanceId], protect: false };
        if (inst.lifecycleState !== 'InService' || budget.left <= 0) return wait(rec, [...done, unprotect]);
        return advance(ctx, rec, 'Terminate', [...done, unprotect], budget);
      }
    case 'Terminate':
      if (inst.lifecycleState !== 'InService') return wait(rec, done);
      // Counted across the pool's chains: those terminating in this pass lower desired too.
      if (budget.left <= 0) {
        return abort(ctx, rec, done, `ASG ${ctx.asg.name} is at its MinSize ${ctx.asg.min}; lower MinSize to let the operator remove RDB servers`);
      }
      budget.left--;
      return wait(rec, [
        ...done,
        {
          kind: 'TerminateInstanceInGroup',
          group: ctx.asg.name,
          instanceId: rec.instanceId,
          decrement: true,
          ...(node !== undefined || rec.node !== undefined ? { node: node?.name ?? rec.node } : {}),
          ...(rec.rdb !== undefined ? { pod: rec.rdb } : {}),
          ...(rec.flushedAt !== undefined ? { since: rec.flushedAt } : {}),
        },
      ]);
  }
};
