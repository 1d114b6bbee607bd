import type { ScaleInRecord, ScaleInStep } from '../api/kdbcluster.ts';
import { instanceIdOfPod, instanceOf, isLeaving, nodeOfInstance, occupantsOfNode } from './context.ts';
import type { PoolContext } from './context.ts';
import { ev } from './events.ts';
import { planIdleInstances, podWaitingForNode } from './idle-instances.ts';
import type { IdleInstance } from './idle-instances.ts';
import { removable } from './plan-drain.ts';
import { byOrdinal, isActive, isDeleting } from './rdbs.ts';
import type { Action, ClusterEvent } from './types.ts';

/**
 * Scale-in: the only way desired capacity goes down. A chain of steps, each
 * recorded in status before it runs and each safe to repeat, so a restarted
 * operator picks up at the recorded step:
 *
 *   DeletePod        cordon the node, delete the flushed, non-live RDB pod; wait until it is gone
 *   ConfirmInstance  the instance is in this pool's ASG, InService, and no RDB pod is on its node
 *   Unprotect        remove its scale-in protection (the only place protection comes off)
 *   Terminate        TerminateInstanceInAutoScalingGroup with decrement, naming that instance
 *   (cleared)        when the instance is Terminating/Terminated or gone from the group
 *
 * An instance idle past its grace (idle-instances.ts) enters the chain at
 * ConfirmInstance: its node is cordoned, and the chain stops while any RDB
 * pod waits for a node (that pod may be heading for it).
 *
 * An instance already leaving counts as done at every step. One scale-in at a
 * time per pool. Terminate is emitted only while a fresh read shows the
 * instance InService, so a repeat after a crash cannot decrement twice.
 */
export interface ScaleInPlan {
  actions: Action[];
  events: ClusterEvent[];
  /** The record after this plan (undefined: none in flight). */
  record: ScaleInRecord | undefined;
  requeueMs: number | undefined;
  /** The pool's idle instances and when each was first seen idle (status.pools[].idleInstances). */
  idle: IdleInstance[];
}

export const STEP_REQUEUE_MS = 2_000;
export const AWS_WAIT_REQUEUE_MS = 15_000;

const NONE: ScaleInPlan = { actions: [], events: [], record: undefined, requeueMs: undefined, idle: [] };

export const planScaleIn = (ctx: PoolContext, o: { creatingPods?: boolean } = {}): ScaleInPlan => {
  const rec = ctx.prev?.scaleIn;
  const idle = planIdleInstances(ctx);
  const p = rec ? continueScaleIn(ctx, rec, []) : startScaleIn(ctx, o.creatingPods ? undefined : idle.due);
  // The instance in the chain is not idle-waiting any more.
  return { ...p, idle: idle.idle.filter((i) => i.instanceId !== p.record?.instanceId) };
};

/** What the chain removes, for Events: the RDB, or the idle instance. */
const subject = (rec: ScaleInRecord): string => rec.rdb ?? `idle instance ${rec.instanceId}`;

const record = (ctx: PoolContext, rec: ScaleInRecord | null): Action => ({
  kind: 'RecordScaleInStep',
  pool: ctx.spec.name,
  record: rec,
});

/** Picks the victim: the oldest flushed, non-live RDB whose instance is InService in this pool's ASG. */
export const scaleInCandidate = (ctx: PoolContext) => {
  // A deletion removes RDBs only once the wind-down has written the day down.
  if (!ctx.asg || (ctx.deleting && ctx.windDown?.step !== 'empty') || ctx.windDown?.step === 'hold') return undefined;
  const active = ctx.obs.pods.filter(isActive);
  // Scaling out right now: a pod waits for a node. Removing a node in the same breath only churns.
  if (active.some((p) => p.node === undefined)) return undefined;
  // Never below minRdbs (a wind-down keeps none); the live RDB keeps its node unless the pool empties.
  if (active.length - 1 < (ctx.windDown || ctx.offHours ? 0 : ctx.spec.minRdbs)) return undefined;
  // AWS refuses a decrement below the group's MinSize: the flushed RDB keeps
  // its server (ready for the next scale-out) rather than lose it for nothing.
  if (ctx.asg.desired <= ctx.asg.min) return undefined;
  for (const pod of [...active].sort(byOrdinal(ctx.cluster, ctx.spec.name))) {
    if (!removable(ctx, pod)) continue;
    const instanceId = instanceIdOfPod(ctx, pod);
    const inst = instanceOf(ctx, instanceId);
    if (!instanceId || !inst || inst.lifecycleState !== 'InService') continue;
    // Another RDB on the same node (should not happen: one RDB per node), or any other pod, would die with it.
    if (occupantsOfNode(ctx, pod.node).some((p) => p !== pod.name)) continue;
    return { pod, instanceId };
  }
  return undefined;
};

const startIdle = (ctx: PoolContext, due: NonNullable<ReturnType<typeof planIdleInstances>['due']>): ScaleInPlan => {
  const rec: ScaleInRecord = {
    instanceId: due.instanceId,
    ...(due.node !== undefined ? { node: due.node } : {}),
    step: 'ConfirmInstance',
    startedAt: ctx.now.toISOString(),
  };
  const node = due.node !== undefined ? ctx.nodes.get(due.node) : undefined;
  const cordon: Action[] = node && !node.unschedulable ? [{ kind: 'CordonNode', node: node.name }] : [];
  const next = continueScaleIn(ctx, rec, [record(ctx, rec), ...cordon]);
  return { ...next, events: [ev.idleScaleInStarted(ctx.spec.name, due.instanceId, due.since), ...next.events] };
};

const startScaleIn = (ctx: PoolContext, idle: ReturnType<typeof planIdleInstances>['due']): ScaleInPlan => {
  const c = scaleInCandidate(ctx);
  if (!c) return idle ? startIdle(ctx, idle) : NONE;
  const rec: ScaleInRecord = {
    rdb: c.pod.name,
    instanceId: c.instanceId,
    ...(c.pod.node !== undefined ? { node: c.pod.node } : {}),
    step: 'DeletePod',
    startedAt: ctx.now.toISOString(),
    ...(c.pod.rdb?.reportedAt !== undefined ? { flushedAt: c.pod.rdb.reportedAt } : {}),
  };
  const next = continueScaleIn(ctx, rec, [record(ctx, rec)]);
  return { ...next, events: [ev.scaleInStarted(ctx.spec.name, c.pod.name, rec.instanceId), ...next.events] };
};

const advance = (ctx: PoolContext, rec: ScaleInRecord, step: ScaleInStep, done: Action[]): ScaleInPlan => {
  const next = { ...rec, step };
  return continueScaleIn(ctx, next, [...done, record(ctx, next)]);
};

const wait = (rec: ScaleInRecord, done: Action[], ms = STEP_REQUEUE_MS): ScaleInPlan => ({
  actions: done,
  events: [],
  record: rec,
  requeueMs: ms,
  idle: [],
});

const finish = (ctx: PoolContext, rec: ScaleInRecord, done: Action[]): ScaleInPlan => ({
  actions: [...done, record(ctx, null)],
  events: [rec.rdb !== undefined ? ev.scaledIn(ctx.spec.name, rec.rdb, rec.instanceId) : ev.idleScaledIn(ctx.spec.name, rec.instanceId)],
  record: undefined,
  requeueMs: undefined,
  idle: [],
});

const abort = (ctx: PoolContext, rec: ScaleInRecord, done: Action[], why: string): ScaleInPlan => {
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
    actions: [...done, record(ctx, null), ...reprotect, ...(node?.unschedulable ? [{ kind: 'UncordonNode', node: node.name } as const] : [])],
    events: [ev.scaleInAborted(ctx.spec.name, subject(rec), why)],
    record: undefined,
    requeueMs: undefined,
    idle: [],
  };
};

const continueScaleIn = (ctx: PoolContext, rec: ScaleInRecord, done: Action[]): ScaleInPlan => {
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
    return advance(ctx, rec, 'ConfirmInstance', done);
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
      return advance(ctx, rec, 'Unprotect', done);
    case 'Unprotect':
      if (inst.protectedFromScaleIn) {
        return wait(rec, [
          ...done,
          { kind: 'SetInstanceProtection', group: ctx.asg.name, instanceIds: [rec.instanceId], protect: false },
        ]);
      }
      return advance(ctx, rec, 'Terminate', done);
    case 'Terminate':
      if (inst.lifecycleState !== 'InService') return wait(rec, done);
      if (ctx.asg.desired <= ctx.asg.min) {
        return abort(ctx, rec, done, `ASG ${ctx.asg.name} is at its MinSize ${ctx.asg.min}; lower MinSize to let the operator remove RDB servers`);
      }
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
