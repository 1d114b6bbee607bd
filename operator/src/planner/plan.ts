import { planGateway } from './plan-gateway.ts';
import { planMerge } from './plan-merge.ts';
import { planPools } from './plan-pools.ts';
import { planStatus } from './plan-status.ts';
import { planStorage } from './plan-storage.ts';
import { planTickerplant } from './plan-tickerplant.ts';
import { WIND_DOWN_REQUEUE_MS, planWindDown, settleWindDown } from './plan-wind-down.ts';
import type { Action, Observed } from './types.ts';

/** Waits when nothing is in flight: ASG state is polled, not watched, so drift shows up within a minute. */
export const IDLE_REQUEUE_MS = 60_000;
export const AWS_DOWN_REQUEUE_MS = 15_000;
export const SCALING_REQUEUE_MS = 10_000;
export const PROVISIONING_REQUEUE_MS = 5_000;

/**
 * Reconcile's brain: observed state in, ordered actions out. Pure: no I/O,
 * no clock (o.now), no randomness. The chain:
 *
 *   planWindDown (deletion, hibernation, end-of-day requests) -> planStorage
 *   -> planTickerplant -> planPools (per pool: planScaleIn, planReplacements,
 *   planScaleOut, planProtection; then planCapacity per ASG) -> planMerge
 *   (end of day into the HDB) -> planGateway (the query side) -> planStatus
 *
 * Actions come out safest first: protection before anything moves, pods
 * before the capacity that hosts them, the scale-in chain (its record before
 * its step), then status, Events, a roll of a live RDB onto a new spec (after
 * status recorded it), and when to look again. Effectors run
 * them in order and stop at the first failure.
 */
export const plan = (o: Observed): Action[] => {
  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  const started = planWindDown(o);
  const storage = planStorage(o);
  const tp = planTickerplant(o, started.tickerplantStopped);
  // RDBs connect to the tickerplant at start: create them once it exists.
  const pools = planPools(o, tp.exists && started.pools?.step !== 'empty', started.pools);
  const windDown = settleWindDown(started, pools.outcomes);
  const merge = planMerge(o, windDown.mergeAllowed);
  const gateway = planGateway(o, tp.exists);
  const status = planStatus(o, storage, tp, pools, merge, windDown);

  const outcomes = pools.outcomes;
  const actions: Action[] = [
    ...(deleting ? [] : storage.actions),
    ...tp.actions,
    ...dedupeGroupActions(outcomes.flatMap((p) => p.protection)),
    ...outcomes.flatMap((p) => p.pods),
    ...pools.capacity.actions,
    ...outcomes.flatMap((p) => p.scaleInActions),
    ...merge.actions,
    ...windDown.actions,
    ...gateway,
  ];
  if (status.changed) actions.push({ kind: 'UpdateStatus', status: status.status });
  const events = [...windDown.events, ...outcomes.flatMap((p) => p.events), ...pools.capacity.events, ...merge.events, ...status.events];
  for (const event of events) actions.push({ kind: 'EmitEvent', event });
  // After status: a roll of the live RDB is asked for only once its record is written, and a
  // refused or failed request (the effector throws) holds back nothing else of the plan.
  actions.push(...outcomes.flatMap((p) => p.rotationActions));
  // Last: once the finalizer is gone the object may be too, and nothing after could be written.
  if (windDown.release) actions.push({ kind: 'ReleaseCluster' });
  const settled = storage.ready && (tp.ready || windDown.tickerplantStopped);
  const waits = windDown.waitingFor !== undefined ? WIND_DOWN_REQUEUE_MS : undefined;
  actions.push({ kind: 'RequeueAfter', ms: Math.min(requeueMs(o, pools, settled, merge.record?.phase === 'Running'), waits ?? Infinity) });
  return actions;
};

const requeueMs = (o: Observed, pools: ReturnType<typeof planPools>, settled: boolean, merging: boolean): number => {
  const waits = [IDLE_REQUEUE_MS];
  // Job changes wake the controller too; this only bounds a missed one.
  if (merging) waits.push(SCALING_REQUEUE_MS);
  for (const p of pools.outcomes) {
    if (p.requeueMs !== undefined) waits.push(p.requeueMs);
    if (p.ctx.awsUnknown) waits.push(AWS_DOWN_REQUEUE_MS);
    // A claim written in this pass is read back on the next: the group waits for it.
    if (p.ctx.access.kind === 'unclaimed') waits.push(PROVISIONING_REQUEUE_MS);
    if (p.created.length > 0 || p.ctx.obs.pods.some((x) => x.node === undefined)) waits.push(SCALING_REQUEUE_MS);
  }
  if (o.storage.efs === 'unknown') waits.push(AWS_DOWN_REQUEUE_MS);
  if (!settled) waits.push(PROVISIONING_REQUEUE_MS);
  return Math.min(...waits);
};

/** Pools sharing an ASG each ask for its group settings; once is enough. */
const dedupeGroupActions = (actions: Action[]): Action[] => {
  const seen = new Set<string>();
  return actions.filter((a) => {
    if (a.kind !== 'ProtectNewInstances' && a.kind !== 'SuspendAZRebalance') return true;
    const key = `${a.kind}/${a.group}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};
