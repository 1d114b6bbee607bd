import { CLUSTER_ANNOTATION } from '../api/kdbcluster.ts';
import type { KdbClusterStatus, WindDownReason, WindDownRecord, WindDownStep } from '../api/kdbcluster.ts';
import { ev } from './events.ts';
import { mayStillAdd, newestDay } from './plan-drain.ts';
import { isActive, isDeleting, isLive, owesWindow } from './rdbs.ts';
import type { PoolOutcome } from './plan-pools.ts';
import type { Action, ClusterEvent, Observed, ObservedRdbPod } from './types.ts';

/**
 * Deletion and hibernation wind a cluster down the same way, so that nothing
 * an RDB holds is dropped and no server is left behind, paid for:
 *
 *   WritingDown          the tickerplant is asked to end the trading day now
 *                        (EndTradingDay, guarded by the day so a repeat ends
 *                        nothing twice); every RDB flushes it as at a scheduled
 *                        end of day, and the day's merge runs into the HDB
 *   ScalingIn            every RDB, the live one too, leaves through the
 *                        recorded scale-in chain; idle servers go without grace
 *   StoppingTickerplant  hibernation only: the tickerplant scales to zero; its
 *                        log and the HDB stay on their volumes
 *   Done                 deletion: claims released, the finalizer removed;
 *                        hibernation: Hibernated until the annotation says off
 *
 * Deleting with kdb-operator.dev/write-down=skip starts at ScalingIn and lets
 * the chain remove RDBs that hold unflushed rows: the user asked to drop them.
 * Messages published after the write-down belong to the next trading day and
 * stay in the tickerplant's log; a woken cluster's new live RDB replays them.
 */
export type PoolWindDown =
  /** No scale-out and no RDB for minRdbs; a lost window is still replayed (the write-down needs it). */
  | { step: 'hold' }
  /** Every RDB goes through the chain once it owes nothing and flushed `day` (or at once, writeDown false). */
  | { step: 'empty'; writeDown: boolean; day?: string };

export interface WindDownPlan {
  /** status.windDown after this plan; undefined: the cluster runs. */
  record: WindDownRecord | undefined;
  pools: PoolWindDown | undefined;
  /** Build the tickerplant with zero replicas. */
  tickerplantStopped: boolean;
  /** The day's merge may run (a deletion that drops its data merges nothing). */
  mergeAllowed: boolean;
  actions: Action[];
  events: ClusterEvent[];
  /** Deletion finished: the controller releases what the cluster held and lets it go. */
  release: boolean;
  /** status.endOfDayRequest after this plan. */
  endOfDayRequest: EndOfDayRequestRecord | undefined;
  /** What this pass waits for, for the Hibernated condition and status. */
  waitingFor: string | undefined;
  /** The hibernation annotation as read: on, off, or a refused value. */
  hibernation: HibernationRequest;
}

export type HibernationRequest = { kind: 'on' } | { kind: 'off' } | { kind: 'invalid'; value: string };

export const WIND_DOWN_REQUEUE_MS = 5_000;

const annotation = (o: Observed, key: string): string | undefined => o.cluster.metadata.annotations?.[key];

export const hibernationRequest = (o: Observed): HibernationRequest => {
  const v = annotation(o, CLUSTER_ANNOTATION.hibernation);
  if (v === undefined || v === '' || v === 'off') return { kind: 'off' };
  if (v === 'on') return { kind: 'on' };
  return { kind: 'invalid', value: v };
};

/** The newest trading day any RDB of the cluster reported: the tickerplant's day, as far as the operator can tell. */
export const newestReportedDay = (o: Observed): string | undefined => newestDay(allPods(o));

const allPods = (o: Observed): ObservedRdbPod[] => Object.values(o.pools).flatMap((p) => p.pods);

/**
 * RDBs holding rows of `day` not yet flushed (or a lost RDB's window): the
 * write-down waits for each. One that may still add to the day but holds
 * nothing (queued, or live with no row yet) owes nothing: ending the day for
 * it would only end another, empty one.
 */
const unflushed = (o: Observed, day: string): string[] =>
  allPods(o)
    .filter((p) => !isDeleting(p) && isActive(p) && mayStillAdd(p, day) && (owesWindow(p) || p.rdb?.holdsRows !== false))
    .map((p) => p.name)
    .sort();

/** Some RDB flushed `day`: its slices wait in staging for the merge. */
const flushedBySome = (o: Observed, day: string): boolean => allPods(o).some((p) => p.rdb?.flushedDays.includes(day) === true);

/** Pools of the spec whose RDBs are all rolled, queued or starting: the tickerplant logs for them, but no RDB takes it in yet. */
const poolsWithoutLive = (o: Observed): string[] =>
  o.cluster.spec.rdbPools
    .map((p) => p.name)
    .filter((name) => {
      const pods = (o.pools[name]?.pods ?? []).filter(isActive);
      return pods.some((p) => p.rdb !== undefined) && !pods.some(isLive);
    });

const lostWindows = (o: Observed): string[] =>
  (o.cluster.status?.pools ?? []).flatMap((ps) => ps.rdbs.filter((r) => r.state === 'lost').map((r) => r.name)).sort();

/**
 * What still holds the wind-down at ScalingIn, from what the pools planned:
 * RDB pods, a chain in flight, idle servers the chain will take (a group at
 * its MinSize keeps them: those are the group's, not the cluster's), a
 * server still launching, or a group AWS did not let us read. A server that
 * hosts other pods (a shared node group) is not the cluster's to hand back.
 */
export const serversLeft = (outcomes: readonly Pick<PoolOutcome, 'ctx' | 'scaleIns' | 'idle'>[]): string | undefined => {
  const pods = outcomes.flatMap((p) => p.ctx.obs.pods);
  const taking = pods.filter((x) => isActive(x) && isLive(x) && x.rdb?.holdsRows === true).map((x) => x.name);
  if (taking.length > 0) {
    return `live RDB ${taking.join(', ')}, which holds rows published after the write-down: stop the feeds (or annotate kdb-operator.dev/write-down=skip to drop them)`;
  }
  if (pods.length > 0) return `RDB pods ${pods.map((x) => x.name).sort().join(', ')}`;
  const inFlight = outcomes.filter((p) => p.scaleIns.length > 0).map((p) => p.ctx.spec.name);
  if (inFlight.length > 0) return `the scale-in of pool ${inFlight.join(', ')}`;
  for (const p of outcomes) {
    if (p.ctx.awsUnknown) return `AWS (pool ${p.ctx.spec.name}'s group cannot be read)`;
    const asg = p.ctx.asg;
    if (!asg || asg.desired <= asg.min) continue;
    if (p.idle.length > 0) return `idle instance ${p.idle.map((i) => i.instanceId).join(', ')} of ASG ${asg.name}`;
    const staying = asg.instances.filter((i) => !i.lifecycleState.startsWith('Terminating') && i.lifecycleState !== 'Terminated');
    if (asg.desired > staying.length) return `${asg.desired - staying.length} instance(s) still launching in ASG ${asg.name}`;
  }
  return undefined;
};

const tickerplantStopped = (o: Observed): boolean => {
  const sts = o.tickerplant.statefulSet;
  return sts === 'missing' || (sts.replicas === 0 && !sts.ready);
};

export type EndOfDayRequestRecord = NonNullable<KdbClusterStatus['endOfDayRequest']>;

/**
 * One end of day per distinct annotation value, in two passes like a
 * scale-in step: a new value is first recorded with the day it ends (no
 * call), and the tickerplant is asked only once status holds that record. A
 * status write that never lands therefore asks for nothing, instead of one
 * more day per retry. A value that is no time is refused (and remembered, so once).
 */
const endOfDayRequest = (o: Observed): { record: EndOfDayRequestRecord | undefined; day?: string; refused?: string } => {
  const v = annotation(o, CLUSTER_ANNOTATION.endOfDay);
  const last = o.cluster.status?.endOfDayRequest;
  if (v === undefined || v === '') return { record: last };
  // Remembered cut to status' 64 characters: a longer value is the same request again.
  const value = v.slice(0, 64);
  if (last?.value === value) {
    if (last.done || last.day === undefined) return { record: last };
    return { record: { ...last, done: true }, day: last.day };
  }
  if (v.length > 64 || !Number.isFinite(Date.parse(v))) return { record: { value, done: true }, refused: v };
  const day = newestReportedDay(o);
  return { record: { value, ...(day !== undefined ? { day } : {}), done: day === undefined } };
};

export const planWindDown = (o: Observed): WindDownPlan => {
  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  const hibernation = hibernationRequest(o);
  const prev = o.cluster.status?.windDown;
  const events: ClusterEvent[] = [];
  const actions: Action[] = [];
  const eod = endOfDayRequest(o);
  if (eod.refused !== undefined) events.push(ev.invalidAnnotation(CLUSTER_ANNOTATION.endOfDay, eod.refused, 'an RFC 3339 time such as 2026-12-02T16:30:00Z'));
  // A request made while the cluster winds down is taken as done: the wind-down ends the day itself.
  const eodDone: EndOfDayRequestRecord | undefined = eod.record && { ...eod.record, done: true };
  const base: WindDownPlan = {
    record: undefined,
    pools: undefined,
    tickerplantStopped: false,
    mergeAllowed: true,
    actions,
    events,
    release: false,
    endOfDayRequest: eod.record,
    waitingFor: undefined,
    hibernation,
  };

  const reason: WindDownReason | undefined = deleting ? 'Deletion' : hibernation.kind === 'on' ? 'Hibernation' : undefined;
  if (reason === undefined) {
    if (prev?.reason === 'Hibernation') events.push(ev.resumed());
    // A cluster that runs honours an end-of-day request; one winding down ends its day anyway.
    if (eod.day !== undefined) {
      actions.push({ kind: 'EndTradingDay', day: eod.day, reason: 'Requested' });
      events.push(ev.endOfDayRequested(eod.day));
    }
    return base;
  }

  const writeDown = reason === 'Hibernation' || annotation(o, CLUSTER_ANNOTATION.writeDown) !== 'skip';
  const started = prev === undefined;
  let record: WindDownRecord = prev
    ? { ...prev, reason, writeDown: prev.writeDown && writeDown }
    : { reason, step: writeDown ? 'WritingDown' : 'ScalingIn', since: o.now.toISOString(), writeDown };
  if (started) {
    events.push(reason === 'Deletion' ? ev.deletionStarted(writeDown) : ev.hibernationStarted());
    if (!writeDown) events.push(ev.writeDownSkipped(unflushedAll(o)));
  }
  // A hibernated cluster being deleted has nothing left to write down or stop.
  if (reason === 'Deletion' && (record.step === 'StoppingTickerplant' || (record.step === 'Done' && prev?.reason === 'Hibernation'))) {
    record = { ...record, step: 'ScalingIn' };
  }
  // The tickerplant deleted under a deletion (its namespace going, say): no one
  // can end the day any more, and waiting for it would hold the namespace forever.
  if (reason === 'Deletion' && record.step === 'WritingDown' && o.tickerplant.statefulSet === 'missing') {
    events.push(ev.writeDownImpossible(unflushedAll(o)));
    record = { ...record, writeDown: false };
  }
  if (!record.writeDown && record.step === 'WritingDown') record = { ...record, step: 'ScalingIn' };

  let waitingFor: string | undefined;
  const advance = (step: WindDownStep): void => {
    if (record.step !== step) events.push(ev.windDownStep(reason, step));
    record = { ...record, step };
  };

  // The first pass only records the wind-down; the tickerplant is asked once status holds it (see endOfDayRequest).
  if (record.step === 'WritingDown' && started) {
    const day = newestReportedDay(o);
    record = { ...record, ...(day !== undefined ? { day } : {}) };
    waitingFor = 'the wind-down to be recorded in status';
  } else if (record.step === 'WritingDown') {
    const day = record.day ?? newestReportedDay(o);
    if (day !== undefined && record.day === undefined) record = { ...record, day };
    const running = allPods(o).filter((p) => isActive(p) && p.node !== undefined && p.rdb === undefined);
    if (day === undefined) {
      // No RDB said which day it serves: one that runs is about to; none running held nothing.
      // Never reporting, it may still hold rows: only the user can say to drop them.
      if (running.length > 0) waitingFor = `RDB ${running.map((p) => p.name).join(', ')} to report (annotate kdb-operator.dev/write-down=skip to go on without writing down)`;
      else advance('ScalingIn');
    } else {
      const owing = unflushed(o, day);
      const lost = lostWindows(o);
      const mergePending =
        o.cluster.spec.merge.enabled && flushedBySome(o, day) && (o.cluster.status?.mergedDay === undefined || o.cluster.status.mergedDay < day);
      const unserved = owing.length > 0 ? poolsWithoutLive(o) : [];
      if (unserved.length > 0) {
        // Ended now, the messages since the pool's last roll would belong to no RDB's window of the day.
        waitingFor = `pool ${unserved.join(', ')} to have a live RDB before the day is ended`;
      } else if (owing.length > 0) {
        actions.push({ kind: 'EndTradingDay', day, reason });
        waitingFor = `RDB ${owing.join(', ')} to flush ${day}`;
      } else if (lost.length > 0) waitingFor = `the replay of lost RDB ${lost.join(', ')}`;
      else if (mergePending) waitingFor = `the merge of ${day} into the HDB`;
      else advance('ScalingIn');
    }
  }
  // ScalingIn ends in settleWindDown, once the pools planned.
  if (record.step === 'StoppingTickerplant') {
    // planTickerplant scales it to zero; this step waits for that.
    if (tickerplantStopped(o)) advance('Done');
    else waitingFor = 'the tickerplant to stop';
  }
  if (record.step === 'Done' && reason === 'Hibernation' && prev?.step !== 'Done') events.push(ev.hibernated());

  const { waitingFor: _was, ...bare } = record;
  record = waitingFor !== undefined ? { ...bare, waitingFor: waitingFor.slice(0, 1024) } : bare;
  return {
    ...base,
    record,
    pools:
      record.step === 'WritingDown'
        ? { step: 'hold' }
        : { step: 'empty', writeDown: record.writeDown, ...(record.day !== undefined ? { day: record.day } : {}) },
    tickerplantStopped: reason === 'Hibernation' && (record.step === 'StoppingTickerplant' || record.step === 'Done'),
    mergeAllowed: record.writeDown,
    release: reason === 'Deletion' && record.step === 'Done',
    waitingFor,
    endOfDayRequest: eodDone,
  };
};

const unflushedAll = (o: Observed): string[] => {
  const day = newestReportedDay(o);
  return day === undefined ? [] : unflushed(o, day);
};

/**
 * The second half of the wind-down, after the pools planned: ScalingIn is
 * over once nothing of the cluster is left on a server (serversLeft). The
 * tickerplant stops, or the cluster is released, from here on.
 */
export const settleWindDown = (w: WindDownPlan, outcomes: readonly Pick<PoolOutcome, 'ctx' | 'scaleIns' | 'idle'>[]): WindDownPlan => {
  const r = w.record;
  if (r?.step !== 'ScalingIn') return w;
  const left = serversLeft(outcomes);
  const { waitingFor: _was, ...bare } = r;
  if (left !== undefined) return { ...w, record: { ...bare, waitingFor: left.slice(0, 1024) }, waitingFor: left };
  const step: WindDownStep = r.reason === 'Hibernation' ? 'StoppingTickerplant' : 'Done';
  return {
    ...w,
    record: { ...bare, step, ...(r.reason === 'Hibernation' ? { waitingFor: 'the tickerplant to stop' } : {}) },
    events: [...w.events, ev.windDownStep(r.reason, step)],
    release: r.reason === 'Deletion',
    waitingFor: r.reason === 'Hibernation' ? 'the tickerplant to stop' : undefined,
  };
};
