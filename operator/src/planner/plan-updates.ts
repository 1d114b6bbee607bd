import { scaleInsOf } from '../api/kdbcluster.ts';
import type { PendingChange, PoolStatus } from '../api/kdbcluster.ts';
import type { ConditionValue } from './conditions.ts';
import type { PoolContext } from './context.ts';
import { ev } from './events.ts';
import { nextEndOfDay } from './predict.ts';
import { byOrdinal, isActive, isLive, isTakingOver, isWaiting, owesWindow } from './rdbs.ts';
import { isSafeMoment, nextSafeMoment, safeWindow } from './safe-moment.ts';
import type { Action, ClusterEvent, Observed, ObservedRdbPod } from './types.ts';

/**
 * Changes land at a safe moment (spec.updates). The operator knows which
 * template each running pod was built from by its spec hash (specs
 * spec-hash.ts): the StatefulSet's annotation for the tickerplant, each RDB
 * pod's for its pool. A template the spec no longer asks for is pending:
 *
 * - tickerplant: applying a new template restarts it, so it is applied only
 *   at a safe moment (safe-moment.ts) or at once under apply Immediate;
 *   until then the StatefulSet is left exactly as it runs.
 * - pools: pods are never changed in place. New RDBs get the new spec at
 *   once; an outdated RDB that holds nothing and is not about to be handed
 *   the feed (one waiting for a node, or a queued one while the live RDB is
 *   far from its roll) is deleted through the conditional delete and the
 *   usual scale-out rules create its successor. The live RDB is rolled on
 *   request at a safe moment (liveRotation below) onto a queued RDB of the
 *   new spec, which scale-out is asked for then; until that moment it keeps
 *   its spec (or rolls at its roll threshold as always). Rolled ones, the
 *   rotated live RDB too, leave after end of day through scale-in.
 *
 * Pods and StatefulSets without a hash were made by an older operator:
 * RDB pods without one are never counted as outdated (an operator upgrade
 * must not replace them); a tickerplant StatefulSet without one is
 * re-applied at the next safe moment, which changes nothing running unless
 * its template differs.
 */

export interface TickerplantUpdate {
  /** The StatefulSet runs another template and it is not a safe moment: leave it as it is. */
  hold: boolean;
  /** The StatefulSet runs another template and it is a safe moment: apply the spec's now. */
  applyNow: boolean;
  pending?: PendingChange;
}

const NO_TICKERPLANT_UPDATE: TickerplantUpdate = { hold: false, applyNow: false };

export const tickerplantUpdate = (o: Observed): TickerplantUpdate => {
  const tp = o.tickerplant;
  // Nothing runs to restart, or no hash to compare with (then changes apply as before).
  if (tp.statefulSet === 'missing' || tp.desiredTemplateHash === undefined) return NO_TICKERPLANT_UPDATE;
  if (tp.templateHash === tp.desiredTemplateHash) return NO_TICKERPLANT_UPDATE;
  const eod = o.cluster.spec.tickerplant.endOfDay;
  const updates = o.cluster.spec.updates;
  if (isSafeMoment(o.now, eod, updates)) return { hold: false, applyNow: true };
  const appliesAt = nextSafeMoment(o.now, eod, updates).toISOString();
  const why =
    tp.templateHash === undefined
      ? 'the tickerplant StatefulSet carries no spec hash (an older operator made it); it is re-applied'
      : "the tickerplant's pod template changed; applying it restarts the tickerplant, so it waits";
  return {
    hold: true,
    applyNow: false,
    pending: { component: 'tickerplant', appliesAt, reason: `${why} for ${safeMomentName(o)} (spec.updates)` },
  };
};

const safeMomentName = (o: Observed): string => {
  const w = o.cluster.spec.updates.maintenanceWindow;
  const tz = o.cluster.spec.tickerplant.endOfDay.timeZone;
  return w ? `the maintenance window ${w.start}-${w.end} ${tz}` : `end of day (${o.cluster.spec.tickerplant.endOfDay.time} ${tz})`;
};

/**
 * A queued RDB is deleted only while the live RDB reported at least this many
 * points below its roll threshold: the tickerplant hands the feed to the
 * first queued RDB the moment the live one rolls, and a queued RDB deleted
 * in the instant after that would take the start of a window with it before
 * its agent could say so. The margin keeps the delete far from a roll at
 * the threshold. A slow subscriber's roll (the tickerplant's buffer bound)
 * can still come at any moment: only a tickerplant op that drops an RDB
 * from the queue if, and only if, it is still queued closes that gap.
 */
export const QUEUED_ROLL_MARGIN = 10;

export interface PoolUpdate {
  pending?: PendingChange;
  actions: Action[];
  events: ClusterEvent[];
}

const NO_POOL_UPDATE: PoolUpdate = { actions: [], events: [] };

/** The pool's RDBs built from an older template, and the one of them (at most) deleted now. */
export const poolUpdate = (ctx: PoolContext, rotation: LiveRotation = NO_ROTATION): PoolUpdate => {
  const desired = ctx.obs.desiredPodHash;
  if (desired === undefined || ctx.draining) return NO_POOL_UPDATE;
  const pods = ctx.obs.pods.filter(isActive).sort(byOrdinal(ctx.cluster, ctx.spec.name));
  const outdated = pods.filter((p) => p.specHash !== undefined && p.specHash !== desired);
  if (outdated.length === 0) return NO_POOL_UPDATE;
  const victim = replaceableNow(ctx, outdated);
  const live = outdated.find(isLive);
  const pending: PendingChange = {
    component: `pool/${ctx.spec.name}`,
    ...(live && rotation.appliesAt !== undefined ? { appliesAt: rotation.appliesAt } : {}),
    rdbs: outdated.map((p) => p.name),
    reason: [
      `${outdated.length} RDB${outdated.length === 1 ? '' : 's'} built from an older pool spec; new RDBs get the new one`,
      live ? `live RDB ${live.name}: ${rotation.note ?? 'keeps its spec until it rolls at its roll threshold'}` : '',
      victim ? `replacing queued RDB ${victim.name}, which holds nothing` : '',
    ]
      .filter(Boolean)
      .join('; '),
  };
  if (!victim || victim.uid === undefined || victim.resourceVersion === undefined) return { pending, actions: [], events: [] };
  return {
    pending,
    actions: [
      // As scale-in does: the delete holds only for the pod as seen here, so one that became live since is not deleted.
      { kind: 'DeleteRdbPod', pool: ctx.spec.name, pod: victim.name, reason: 'Outdated', precondition: { uid: victim.uid, resourceVersion: victim.resourceVersion } },
    ],
    events: [ev.outdatedRdbReplaced(ctx.spec.name, victim.name)],
  };
};

/** At most one per pass, and none while anything else in the pool moves. */
const replaceableNow = (ctx: PoolContext, outdated: readonly ObservedRdbPod[]): ObservedRdbPod | undefined => {
  if (!ctx.allowCreate || ctx.deleting || scaleInsOf(ctx.prev).length > 0) return undefined;
  // A pod on its way out, failed, on a lost node, or a window being replayed: the pool is already moving.
  if (ctx.obs.pods.some((p) => !isActive(p) || owesWindow(p))) return undefined;
  // Never ran: holds nothing and is in no queue.
  const unscheduled = outdated.find((p) => p.node === undefined && p.rdb === undefined && p.replaces === undefined);
  if (unscheduled) return unscheduled;
  const live = ctx.obs.pods.filter(isActive).find(isLive);
  const roll = live?.thresholds?.roll ?? ctx.spec.rollThreshold;
  const percent = live?.rdb?.memoryPercent;
  if (!live || percent === undefined || percent > roll - QUEUED_ROLL_MARGIN) return undefined;
  return outdated.find((p) => isQueuedHoldingNothing(p));
};

const isQueuedHoldingNothing = (p: ObservedRdbPod): boolean =>
  p.replaces === undefined && p.rdb !== undefined && p.rdb.state === 'queued' && !isLive(p) && !p.rdb.rolled && p.nodeLost !== true;

// ---- the live RDB onto the new spec

export type RotationRecord = NonNullable<PoolStatus['rotation']>;

export interface LiveRotation {
  /** status.pools[].rotation after this plan. */
  record?: RotationRecord;
  /** The roll request (RollLiveRdb): plan() puts it after status, which records it first, and the Events. */
  actions: Action[];
  events: ClusterEvent[];
  /** The pool has no RDB waiting to take over: scale-out creates one (of the spec, as every new RDB is). */
  wantsQueued: boolean;
  /** What the live RDB waits for, for the pool's pending change. */
  note?: string;
  /** When the rotation may happen: the safe window's start (stable across passes); absent under apply Immediate. */
  appliesAt?: string;
}

export const NO_ROTATION: LiveRotation = { actions: [], events: [], wantsQueued: false };

/**
 * No request this close to end of day: the tickerplant's clock may already
 * be there, and a queued RDB flushes an empty slice and leaves at end of day,
 * so the roll would find nothing to hand the feed to. After end of day the
 * live RDB flushes (state flushing), which holds the rotation off too.
 */
export const ROTATION_END_OF_DAY_GUARD_MS = 60_000;

/**
 * Moves the pool's live RDB onto the current pool spec without losing or
 * doubling a message: at a safe moment (spec.updates, or at once under apply
 * Immediate) the tickerplant is asked to roll it (RollLiveRdb) and hand the
 * feed to a queued RDB of the current spec, which goes live where the old one
 * stops. Pure: the pods' reports, status and the clock in; no I/O.
 *
 * - Only onto an RDB ready to take over: queued, reported, on a node that
 *   answers, built from the current spec, named by no scale-in. With no RDB
 *   waiting at all, scale-out is asked for one; one still starting is waited for.
 * - Never while the pool is moving on its own: an RDB going live or flushing
 *   (end of day), the live RDB's day already flushed by another (end of day
 *   under way), a wind-down (deletion, hibernation), a draining or off-hours
 *   pool, or the minute before end of day.
 * - One per pool at a time: status records the request (rdb, next) and keeps
 *   it until the RDB named is no longer live. While it is, the request is
 *   sent again on each pass that may (a lost answer, a stale view): the
 *   tickerplant rolls only the live RDB it names, so a repeat rolls nothing.
 * - Afterwards the old live RDB is a rolled RDB like any other and leaves
 *   after end of day through scale-in.
 */
export const liveRotation = (ctx: PoolContext): LiveRotation => {
  const pool = ctx.spec.name;
  const prev = ctx.prev?.rotation;
  const active = ctx.obs.pods.filter(isActive);
  const live = active.find(isLive);
  const events: ClusterEvent[] = [];
  let record = prev;
  if (prev && live?.name !== prev.rdb) {
    // The RDB asked to roll is no longer live: done (or lost, which the replacement rules take from here).
    const was = ctx.obs.pods.find((p) => p.name === prev.rdb);
    const w = was?.rdb?.window;
    if (was?.rdb?.rolled === true) {
      events.push(ev.liveRdbRotated(pool, prev.rdb, w && w.lastI !== null ? ` holding (${w.firstI}, ${w.lastI}]` : '', live?.name));
    }
    record = undefined;
  }
  const none = (note?: string, appliesAt?: string): LiveRotation => ({
    ...(record ? { record } : {}),
    actions: [],
    events,
    wantsQueued: false,
    ...(note !== undefined ? { note } : {}),
    ...(appliesAt !== undefined ? { appliesAt } : {}),
  });

  const desired = ctx.obs.desiredPodHash;
  if (desired === undefined || ctx.draining || !live || live.specHash === undefined || live.specHash === desired) return none();
  if (ctx.deleting || ctx.windDown || !ctx.allowCreate) return none('keeps its spec: the cluster winds down');
  if (ctx.offHours) return none('keeps its spec: the pool is outside market hours, and its live RDB leaves once it holds nothing');
  const eod = ctx.endOfDay;
  const updates = ctx.updates ?? { apply: 'EndOfDay' as const };
  if (!eod) return none();
  const window = safeWindow(ctx.now, eod, updates);
  const appliesAt = window?.start.toISOString();
  if (!isSafeMoment(ctx.now, eod, updates)) {
    return none(`rolled onto a queued RDB of the new spec at the next safe moment (spec.updates), ${appliesAt}`, appliesAt);
  }
  if (nextEndOfDay(ctx.now, eod).getTime() - ctx.now.getTime() <= ROTATION_END_OF_DAY_GUARD_MS) {
    return none('rolled onto a queued RDB of the new spec after end of day', appliesAt);
  }
  const liveDay = live.rdb?.day;
  const endOfDayUnderWay = liveDay !== undefined && ctx.obs.pods.some((p) => p.rdb?.flushedDays.includes(liveDay) === true);
  if (active.some(isTakingOver) || endOfDayUnderWay) return none('rolled onto a queued RDB of the new spec once the pool settles (an RDB is going live or end of day is under way)', appliesAt);

  const victims = scaleInVictims(ctx);
  const waiting = active.filter(isWaiting).sort(byOrdinal(ctx.cluster, pool));
  const current = waiting.filter((p) => p.specHash === desired);
  const next = current.find((p) => p.node !== undefined && p.rdb?.state === 'queued' && !p.rdb.live && !p.rdb.rolled && !victims.has(p.name));
  if (!next) {
    if (current.length > 0) return none(`to be rolled onto ${current[0]!.name}, of the new spec, once it is queued`, appliesAt);
    if (waiting.length > 0) return none(`to be rolled onto a queued RDB of the new spec once the outdated ones waiting (${waiting.map((p) => p.name).join(', ')}) are replaced`, appliesAt);
    return { ...none('a queued RDB of the new spec is created for it to roll onto', appliesAt), wantsQueued: true };
  }
  const fresh = !prev || prev.rdb !== live.name || prev.next !== next.name;
  if (fresh) {
    record = { rdb: live.name, next: next.name, requestedAt: ctx.now.toISOString() };
    events.push(ev.liveRdbRotationRequested(pool, live.name, next.name));
  }
  return {
    ...none(`rolling it onto ${next.name}, queued with the new spec (asked at ${record!.requestedAt})`, appliesAt),
    actions: [{ kind: 'RollLiveRdb', pool, rdb: live.name, next: next.name }],
  };
};

/** RDBs a scale-in chain is removing: never the one the feed is handed to. */
const scaleInVictims = (ctx: PoolContext): ReadonlySet<string> =>
  new Set(scaleInsOf(ctx.prev).flatMap((c) => (c.rdb !== undefined ? [c.rdb] : [])));

// ---- status

export const pendingCondition = (pending: readonly PendingChange[]): ConditionValue => ({
  type: 'ChangesPending',
  status: pending.length > 0 ? 'True' : 'False',
  reason: pending.length > 0 ? 'WaitingForSafeMoment' : 'UpToDate',
  message:
    pending.length > 0
      ? pending.map((p) => `${p.component}: ${p.reason}${p.appliesAt !== undefined ? ` (applies at ${p.appliesAt})` : ''}`).join('; ')
      : 'every running pod has the spec',
});
