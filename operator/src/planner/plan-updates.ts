import { scaleInsOf } from '../api/kdbcluster.ts';
import type { PendingChange } from '../api/kdbcluster.ts';
import type { ConditionValue } from './conditions.ts';
import type { PoolContext } from './context.ts';
import { ev } from './events.ts';
import { byOrdinal, isActive, isLive, owesWindow } from './rdbs.ts';
import { isSafeMoment, nextSafeMoment } from './safe-moment.ts';
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
 *   usual scale-out rules create its successor. The live RDB keeps its spec
 *   until it rolls at its roll threshold: the operator has no way yet to ask
 *   a live RDB to roll. Rolled ones leave after end of day through scale-in.
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
export const poolUpdate = (ctx: PoolContext): PoolUpdate => {
  const desired = ctx.obs.desiredPodHash;
  if (desired === undefined || ctx.draining) return NO_POOL_UPDATE;
  const pods = ctx.obs.pods.filter(isActive).sort(byOrdinal(ctx.cluster, ctx.spec.name));
  const outdated = pods.filter((p) => p.specHash !== undefined && p.specHash !== desired);
  if (outdated.length === 0) return NO_POOL_UPDATE;
  const victim = replaceableNow(ctx, outdated);
  const live = outdated.find(isLive);
  const pending: PendingChange = {
    component: `pool/${ctx.spec.name}`,
    rdbs: outdated.map((p) => p.name),
    reason: [
      `${outdated.length} RDB${outdated.length === 1 ? '' : 's'} built from an older pool spec; new RDBs get the new one`,
      live ? `live RDB ${live.name} keeps its spec until it rolls at its roll threshold` : '',
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
