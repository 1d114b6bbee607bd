import type { EndOfDay, PoolStatus } from '../api/kdbcluster.ts';
import type { PoolContext } from './context.ts';
import { isActive, isLive } from './rdbs.ts';
import type { ObservedRdbPod } from './types.ts';

/**
 * What predictive scale-out (rdbPools[].scaleOut.policy 'predictive') plans
 * with, measured from observations only: the live RDB's fill rate between
 * its successive reports, the pool's lead time (pod created to RDB queued),
 * and the time left to end of day. Pure: the previous sample and the lead
 * times measured so far live in status (the planner's memory), the clock is
 * o.now.
 */

export type FillSample = NonNullable<PoolStatus['fill']>;
export type LeadTime = NonNullable<PoolStatus['leadTime']>;

/** How much of the newest rate the smoothed one takes (EWMA). */
export const FILL_RATE_WEIGHT = 0.5;
/** Lead times kept; the plan uses their median. */
export const LEAD_TIME_SAMPLES = 5;

export const isPredictive = (ctx: Pick<PoolContext, 'spec'>): boolean => ctx.spec.scaleOut?.policy === 'predictive';

const ms = (iso: string | undefined): number => (iso === undefined ? NaN : Date.parse(iso));

/**
 * The live RDB's sample after this plan. A newer report than the stored
 * sample of the same RDB gives a rate ((percent now - percent then) / time
 * between the reports), smoothed with the stored one; another RDB, or a fall
 * in memory (end of day flushed it), starts over without a rate.
 */
export const nextFill = (live: ObservedRdbPod | undefined, prev: FillSample | undefined): FillSample | undefined => {
  const percent = live?.rdb?.memoryPercent;
  const at = live?.rdb?.reportedAt;
  if (live === undefined || percent === undefined || at === undefined || !Number.isFinite(ms(at))) return undefined;
  const fresh: FillSample = { rdb: live.name, at, percent };
  if (prev === undefined || prev.rdb !== live.name) return fresh;
  const dtMin = (ms(at) - ms(prev.at)) / 60_000;
  if (!(dtMin > 0)) return prev;
  if (percent < prev.percent) return fresh;
  const rate = (percent - prev.percent) / dtMin;
  const smoothed = prev.percentPerMinute === undefined ? rate : FILL_RATE_WEIGHT * rate + (1 - FILL_RATE_WEIGHT) * prev.percentPerMinute;
  return { ...fresh, percentPerMinute: smoothed };
};

const READY_STATES = new Set(['queued', 'replaying', 'live']);
const UNREPORTED_STATES = new Set(['waitingForNode', 'starting']);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The pool's lead times after this plan. A pod is measured once, on the
 * first plan that sees it ready (queued; replaying when nothing was live)
 * after status last showed it not yet reporting: from its creation to the
 * report that said so. A pod first seen already ready (the operator was
 * away) is not measured: its report's time says nothing about its start.
 * Replacements replay a lost window and never queue: not measured.
 */
export const nextLeadTime = (ctx: Pick<PoolContext, 'obs' | 'prev' | 'now'>): LeadTime | undefined => {
  const prev = ctx.prev?.leadTime;
  const samples = [...(prev?.samples ?? [])];
  const known = new Set(samples.map((s) => s.rdb));
  for (const p of ctx.obs.pods) {
    if (known.has(p.name) || p.replaces !== undefined || !isActive(p) || p.rdb === undefined || !READY_STATES.has(p.rdb.state)) continue;
    const before = ctx.prev?.rdbs.find((e) => e.name === p.name)?.state;
    if (before === undefined || !UNREPORTED_STATES.has(before)) continue;
    const created = ms(p.createdAt);
    const readyAt = Number.isFinite(ms(p.rdb.reportedAt)) ? ms(p.rdb.reportedAt) : ctx.now.getTime();
    if (!Number.isFinite(created) || readyAt < created) continue;
    samples.push({ rdb: p.name, seconds: Math.round((readyAt - created) / 100) / 10 });
  }
  const kept = samples.slice(-LEAD_TIME_SAMPLES);
  if (kept.length === 0) return undefined;
  return { seconds: median(kept.map((s) => s.seconds)), samples: kept };
};

// ---- end of day, from spec.tickerplant.endOfDay and o.now (Intl only: no clock)

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The zone's wall clock at instant `t`, as if it were UTC (ms). */
export const wallMs = (t: number, tz: string): number => {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(new Date(t))) p[x.type] = x.value;
  return Date.parse(`${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}Z`);
};

/** The instant a local wall time (as if UTC) happens in the zone: the offset is read at the guess, then again at the answer. */
export const epochOfWall = (wall: number, tz: string): number => {
  let t = wall - (wallMs(wall, tz) - wall);
  t = wall - (wallMs(t, tz) - t);
  return t;
};

/**
 * The next end of day after `now`: the first instant the zone's clock shows
 * endOfDay.time after now (00:00 is midnight). Same rule as the reference
 * tickerplant's trading day (a unit test holds them together).
 */
export const nextEndOfDay = (now: Date, eod: Pick<EndOfDay, 'time' | 'timeZone'>): Date => {
  const [hh, mm] = eod.time.split(':').map(Number);
  const wallNow = wallMs(now.getTime(), eod.timeZone);
  const day = Math.floor(wallNow / 86_400_000) * 86_400_000;
  for (let d = 0; d <= 2; d++) {
    const t = epochOfWall(day + d * 86_400_000 + ((hh ?? 0) * 60 + (mm ?? 0)) * 60_000, eod.timeZone);
    if (t > now.getTime()) return new Date(t);
  }
  return new Date(now.getTime() + 86_400_000);
};

export interface Prediction {
  /** Ask for the next server now. */
  ask: boolean;
  /** Why (for the Event), or why not. */
  reason: string;
}

/**
 * The predictive rule, for a live RDB at `percent` that rolls at `roll`:
 * ask when it reaches roll within leadTime × margin at the measured rate,
 * and it rolls before end of day (otherwise the next server would only be
 * filled tomorrow: end of day empties the live RDB). Without a rate or a
 * lead time measured yet it does not ask (scaleThreshold still does).
 */
export const predict = (i: {
  percent: number;
  roll: number;
  percentPerMinute: number | undefined;
  leadTimeSeconds: number | undefined;
  margin: number;
  secondsToEndOfDay: number;
}): Prediction => {
  if (i.percentPerMinute === undefined || !(i.percentPerMinute > 0)) return { ask: false, reason: 'no fill rate measured yet' };
  if (i.leadTimeSeconds === undefined) return { ask: false, reason: 'no lead time measured yet' };
  const toRollS = (Math.max(0, i.roll - i.percent) / i.percentPerMinute) * 60;
  const aheadS = i.leadTimeSeconds * i.margin;
  if (toRollS > i.secondsToEndOfDay) return { ask: false, reason: `rolls in ${Math.round(toRollS)}s, after end of day in ${Math.round(i.secondsToEndOfDay)}s` };
  if (toRollS > aheadS) return { ask: false, reason: `rolls in ${Math.round(toRollS)}s, more than lead time ${i.leadTimeSeconds}s × ${i.margin}` };
  return {
    ask: true,
    reason: `at ${i.percentPerMinute.toFixed(2)}%/min it reaches roll threshold ${i.roll}% in ${Math.round(toRollS)}s, within lead time ${i.leadTimeSeconds}s × ${i.margin}`,
  };
};

/** The live RDB of the pool (as scale-out sees it). */
export const liveOf = (ctx: Pick<PoolContext, 'obs'>): ObservedRdbPod | undefined => ctx.obs.pods.filter(isActive).find(isLive);
