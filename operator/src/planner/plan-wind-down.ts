import { CLUSTER_ANNOTATION } from '../api/kdbcluster.ts';
import type { WindDownReason, WindDownRecord, WindDownStep } from '../api/kdbcluster.ts';
import { ev } from './events.ts';
import { mayStillAdd } from './plan-drain.ts';
import { isActive, isDeleting, isLive } from './rdbs.ts';
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
  endOfDayRequest: string | undefined;
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
export const newestReportedDay = (o: Observed): string | undefined => {
  let day: string | undefined;
  for (const pool of Object.values(o.pools)) {
    for (const p of pool.pods) if (p.rdb?.day !== undefined && (day === undefined || p.rdb.day > day)) day = p.rdb.day;
  }
  return day;
};

const allPods = (o: Observed): ObservedRdbPod[] => Object.values(o.pools).flatMap((p) => p.pods);

/** RDBs that may still add rows to `day`: the write-down waits for each to flush it. */
const unflushed = (o: Observed, day: string): string[] =>
  allPods(o)
    .filter((p) => !isDeleting(p) && isActive(p) && mayStillAdd(p, day))
    .map((p) => p.name)
    .sort();

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
export const serversLeft = (outcomes: readonly Pick<PoolOutcome, 'ctx' | 'scaleIn' | 'idle'>[]): string | undefined => {
  const pods = outcomes.flatMap((p) => p.ctx.obs.pods);
  const taking = pods.filter((x) => isActive(x) && isLive(x) && x.rdb?.holdsRows === true).map((x) => x.name);
  if (taking.length > 0) {
    return `live RDB ${taking.join(', ')}, which holds rows published after the write-down: stop the feeds (or annotate kdb-operator.dev/write-down=skip to drop them)`;
  }
  if (pods.length > 0) return `RDB pods ${pods.map((x) => x.name).sort().join(', ')}`;
  const inFlight = outcomes.filter((p) => p.scaleIn !== undefined).map((p) => p.ctx.spec.name);
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

/** One request per distinct annotation value; a value that is no time is refused (and remembered, so once). */
const endOfDayRequest = (o: Observed): { value: string | undefined; day: string | undefined; refused?: string } => {
  const v = annotation(o, CLUSTER_ANNOTATION.endOfDay);
  const last = o.cluster.status?.endOfDayRequest;
  // Remembered cut to status' 64 characters: a longer value is the same request again.
  if (v === undefined || v === '' || v.slice(0, 64) === last) return { value: last, day: undefined };
  if (v.length > 64 || !Number.isFinite(Date.parse(v))) return { value: v.slice(0, 64), day: undefined, refused: v };
  return { value: v, day: newestReportedDay(o) };
};

export const planWindDown = (o: Observed): WindDownPlan => {
  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  const hibernation = hibernationRequest(o);
  const prev = o.cluster.status?.windDown;
  const events: ClusterEvent[] = [];
  const actions: Action[] = [];
  const eod = endOfDayRequest(o);
  if (eod.refused !== undefined) events.push(ev.invalidAnnotation(CLUSTER_ANNOTATION.endOfDay, eod.refused, 'an RFC 3339 time such as 2026-12-02T16:30:00Z'));
  const base: WindDownPlan = {
    record: undefined,
    pools: undefined,
    tickerplantStopped: false,
    mergeAllowed: true,
    actions,
    events,
    release: false,
    endOfDayRequest: eod.value,
    waitingFor: undefined,
    hibernation,
  };

  const reason: WindDownReason | undefined = deleting ? 'Deletion' : hibernation.kind === 'on' ? 'Hibernation' : undefined;
  if (reason === undefined) {
    if (prev?.reason === 'Hibernation') events.push(ev.resumed());
    // A cluster that runs honours an end-of-day request; one winding down ends its day anyway.
    if (eod.day !== undefined && o.tickerplant.statefulSet !== 'missing') {
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

  if (record.step === 'WritingDown') {
    const day = record.day ?? newestReportedDay(o);
    if (day !== undefined && record.day === undefined) record = { ...record, day };
    const running = allPods(o).filter((p) => isActive(p) && p.node !== undefined && p.rdb === undefined);
    if (day === undefined) {
      // No RDB said which day it serves: one that runs is about to; none running held nothing.
      if (running.length > 0) waitingFor = `RDB ${running.map((p) => p.name).join(', ')} to report`;
      else advance('ScalingIn');
    } else {
      const owing = unflushed(o, day);
      const lost = lostWindows(o);
      const mergePending = o.cluster.spec.merge.enabled && (o.cluster.status?.mergedDay === undefined || o.cluster.status.mergedDay < day);
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
    // The wind-down's own end of day stands in for a request made meanwhile.
    endOfDayRequest: annotation(o, CLUSTER_ANNOTATION.endOfDay)?.slice(0, 64) ?? eod.value,
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
export const settleWindDown = (w: WindDownPlan, outcomes: readonly Pick<PoolOutcome, 'ctx' | 'scaleIn' | 'idle'>[]): WindDownPlan => {
  const r = w.record;
  if (r?.step !== 'ScalingIn') return w;
  const left = serversLeft(outcomes);
  if (left !== undefined) return { ...w, waitingFor: left };
  const step: WindDownStep = r.reason === 'Hibernation' ? 'StoppingTickerplant' : 'Done';
  return {
    ...w,
    record: { ...r, step },
    events: [...w.events, ev.windDownStep(r.reason, step)],
    release: r.reason === 'Deletion',
    waitingFor: r.reason === 'Hibernation' ? 'the tickerplant to stop' : undefined,
  };
};
