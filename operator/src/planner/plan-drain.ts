import { scaleInsOf } from '../api/kdbcluster.ts';
import type { PoolStatus, RdbPoolSpec } from '../api/kdbcluster.ts';
import type { PoolContext } from './context.ts';
import { heldData, isActive, isDeleting, isFlushedSpare, isLive, owesWindow } from './rdbs.ts';
import type { Observed, ObservedPool, ObservedRdbPod } from './types.ts';

/**
 * A pool removed from the spec drains instead of vanishing: its RDBs hold
 * the day's rows of its tables and syms, which the HDB needs. While draining:
 * - no scale-out and no new RDB for minRdbs (there is no spec to scale);
 * - a lost RDB is still replaced, from the pool as its pods were built
 *   (ObservedPool.removedPoolSpec), because its window is part of the day;
 * - flushed RDBs are scaled in through the normal chain, one at a time;
 * - the day's merge waits for the pool's RDBs (mergeBlocker).
 *
 * The trading day the pool serves last (`day`) is the newest day its RDBs
 * reported when the drain was first seen, kept in status.pools[].draining.
 * Once every RDB of the pool flushed that day (or was lost with a replacement
 * that flushed it), the drain is done: every RDB left is removed through the
 * chain, the live one too, since what it took in after that day belongs to a
 * pool that no longer exists. When no pod, scale-in or lost window is left,
 * the pool is gone from status.
 */
export interface DrainState {
  /** When the operator first saw the pool gone from the spec. */
  since: string;
  /** The last trading day the pool serves; undefined while none of its RDBs has reported one. */
  day: string | undefined;
  /** Every RDB of the pool flushed `day`: all that is left may be removed. */
  done: boolean;
}

/** Whether this RDB can still add rows to `day`'s slices (shared with the merge: see plan-merge.ts). */
export const mayStillAdd = (p: ObservedRdbPod, day: string): boolean => {
  // A replacement owes a lost RDB's window, of whatever day, until it has
  // replayed it: the day it reports is not the day of what it owes.
  if (owesWindow(p)) return true;
  // Silent so far: one that has run may have taken part in the day; one still
  // waiting for a node has held nothing.
  if (!p.rdb) return p.node !== undefined;
  if (p.rdb.flushedDays.includes(day)) return false;
  return p.rdb.day === undefined || p.rdb.day <= day;
};

/** The newest trading day these RDBs reported. */
export const newestDay = (pods: readonly ObservedRdbPod[]): string | undefined => {
  let day: string | undefined;
  for (const p of pods) if (p.rdb?.day !== undefined && (day === undefined || p.rdb.day > day)) day = p.rdb.day;
  return day;
};

const hasLost = (prev: PoolStatus | undefined): boolean => prev?.rdbs.some((r) => r.state === 'lost') ?? false;

/**
 * A removed pool whose pods are all gone still needs planning while status
 * remembers a scale-in in flight or an RDB that vanished holding data of a
 * day the pool still owes (it must be replaced).
 */
export const remembersWork = (ps: PoolStatus): boolean =>
  scaleInsOf(ps).length > 0 || (ps.draining?.done !== true && ps.rdbs.some(heldData)) || hasLost(ps);

export const drainState = (obs: ObservedPool, prev: PoolStatus | undefined, now: Date): DrainState => {
  const day = prev?.draining?.day ?? newestDay(obs.pods);
  const pods = obs.pods.filter((p) => !isDeleting(p));
  const done =
    prev?.draining?.done === true ||
    (day !== undefined
      ? !pods.some((p) => mayStillAdd(p, day)) && !hasLost(prev)
      : // No RDB ever reported a day: done only if none of them ever ran.
        pods.every((p) => p.rdb === undefined && p.node === undefined) && !hasLost(prev));
  return { since: prev?.draining?.since ?? now.toISOString(), day, done };
};

/** The pool a removed pool's contexts plan with when its pods told nothing: enough to drain, never to build a pod. */
export const unknownPool = (name: string, prev: Pick<PoolStatus, 'autoScalingGroupName'> | undefined): RdbPoolSpec => ({
  name,
  image: '',
  nodeGroup: '',
  ...(prev?.autoScalingGroupName !== undefined ? { autoScalingGroupName: prev.autoScalingGroupName } : {}),
  memory: 0,
  scaleThreshold: 60,
  rollThreshold: 80,
  tables: [],
  syms: [],
  minRdbs: 0,
  maxRdbs: 0,
  idleInstanceGraceSeconds: 600,
    suspendAZRebalance: true,
});

export interface DrainingPool {
  spec: RdbPoolSpec;
  draining: DrainState;
  /** A replacement pod can be built (the pool's pods said what it was). */
  canBuild: boolean;
}

/**
 * Pools to plan that are no longer in the spec: observed with pods, or
 * remembered in status with a scale-in in flight or a lost window.
 */
export const drainingPools = (o: Observed): DrainingPool[] => {
  const inSpec = new Set(o.cluster.spec.rdbPools.map((p) => p.name));
  const names = new Set<string>();
  for (const [name, pool] of Object.entries(o.pools)) if (!inSpec.has(name) && pool.pods.length > 0) names.add(name);
  for (const ps of o.cluster.status?.pools ?? []) {
    if (!inSpec.has(ps.name) && remembersWork(ps)) names.add(ps.name);
  }
  return [...names].sort().map((name) => {
    const obs = o.pools[name];
    const prev = o.cluster.status?.pools.find((p) => p.name === name);
    const known = obs?.removedPoolSpec;
    return {
      // minRdbs 0: a draining pool keeps no RDB for its own sake.
      spec: known ? { ...known, name, minRdbs: 0 } : unknownPool(name, prev),
      draining: drainState(obs ?? { asg: 'unknown', nodes: [], pods: [] }, prev, o.now),
      canBuild: known !== undefined,
    };
  });
};

/**
 * Whether the scale-in chain may remove this RDB: a flushed spare, or, once
 * its pool's drain is done or the cluster's day is written down for a
 * wind-down, any RDB of it that is running and owes no window (a wind-down
 * that skips the write-down removes every running RDB: the user said so).
 */
export const removable = (ctx: Pick<PoolContext, 'draining' | 'windDown' | 'offHours'>, p: ObservedRdbPod): boolean => {
  if (isFlushedSpare(p)) return true;
  if (!isActive(p) || p.node === undefined) return false;
  const w = ctx.windDown;
  if (w?.step === 'empty') {
    if (!w.writeDown) return true;
    // Checked again here, not only when the wind-down advanced: an RDB that can still add to the day written down stays,
    // and so does a live one that took rows after the write-down (feeds still publishing): they are nowhere else in memory.
    const holds = p.rdb?.holdsRows !== false;
    return !owesWindow(p) && !(w.day !== undefined && mayStillAdd(p, w.day) && holds) && !(isLive(p) && holds);
  }
  // Off market hours the live RDB goes too once it went through an end of day and holds nothing since: the
  // next one is queued before the open. One that went live for the coming session (no day flushed yet) stays.
  if (ctx.offHours && isLive(p) && p.rdb?.holdsRows === false && (p.rdb.flushedDays.length ?? 0) > 0 && !owesWindow(p)) return true;
  return ctx.draining?.done === true && !owesWindow(p);
};

/**
 * The pools whose RDBs may still hold `day`: every pool of the spec, and the
 * draining ones that serve it (a drain whose last day is unknown serves any).
 */
export const poolsServingDay = (o: Observed, day: string): string[] => [
  ...o.cluster.spec.rdbPools.map((p) => p.name),
  ...drainingPools(o)
    .filter((d) => d.draining.day === undefined || d.draining.day >= day)
    .map((d) => d.spec.name),
];
