import type { EndOfDay, UpdatesSpec } from '../api/kdbcluster.ts';
import { nextEndOfDay } from './predict.ts';

/**
 * When a change may reach running pods (spec.updates). Pure: the time comes
 * in, wall times are read in the trading day's zone with Intl (predict.ts).
 *
 * The default safe window opens a few minutes after the tickerplant's end of
 * day, once it has closed the day's log and told the RDBs (a restart then
 * finds the next day already started), and stays open long enough for a
 * reconcile to land in it even after a slow pass or an operator restart.
 * A maintenance window the spec names replaces it.
 */
export const AFTER_END_OF_DAY = { delayMinutes: 5, lengthMinutes: 30 } as const;

const MINUTE = 60_000;
/** A day is 23 to 25 hours: two of them always hold the last start before now. */
const LOOK_BACK_MS = 50 * 60 * MINUTE;

export interface SafeWindow {
  start: Date;
  end: Date;
}

type Zone = Pick<EndOfDay, 'time' | 'timeZone'>;
type Updates = Pick<UpdatesSpec, 'apply' | 'maintenanceWindow'>;

/** The first instant after `after` the zone's clock shows `hhmm`. */
const nextWall = (after: Date, hhmm: string, timeZone: string): Date => nextEndOfDay(after, { time: hhmm, timeZone });

const addMinutes = (t: Date, m: number): Date => new Date(t.getTime() + m * MINUTE);

/** Where the daily windows start, and where the one starting at `start` ends. */
const dailyWindow = (eod: Zone, updates: Updates): { startsAt: string; endOf: (start: Date) => Date; shift: number } => {
  const w = updates.maintenanceWindow;
  if (w) return { startsAt: w.start, endOf: (s) => nextWall(s, w.end, eod.timeZone), shift: 0 };
  // Windows start at end of day plus the delay: found from the end-of-day instants, then shifted.
  return { startsAt: eod.time, endOf: (s) => addMinutes(s, AFTER_END_OF_DAY.lengthMinutes), shift: AFTER_END_OF_DAY.delayMinutes };
};

/** Every window start <= now is found from the last one before now, walking forward. */
const lastStartAtOrBefore = (now: Date, eod: Zone, updates: Updates): Date | undefined => {
  const d = dailyWindow(eod, updates);
  let last: Date | undefined;
  let x = nextWall(new Date(now.getTime() - LOOK_BACK_MS), d.startsAt, eod.timeZone);
  for (let i = 0; i < 4; i++) {
    const s = addMinutes(x, d.shift);
    if (s.getTime() > now.getTime()) break;
    last = s;
    x = nextWall(x, d.startsAt, eod.timeZone);
  }
  return last;
};

/** The safe window holding `now`, or else the next one. Undefined for apply Immediate (always safe). */
export const safeWindow = (now: Date, eod: Zone, updates: Updates): SafeWindow | undefined => {
  if (updates.apply === 'Immediate') return undefined;
  const d = dailyWindow(eod, updates);
  const last = lastStartAtOrBefore(now, eod, updates);
  if (last) {
    const end = d.endOf(last);
    if (now.getTime() < end.getTime()) return { start: last, end };
  }
  // The next start: the next wall time after now, less the shift, walked forward until it is after now.
  let x = nextWall(addMinutes(now, -d.shift), d.startsAt, eod.timeZone);
  while (addMinutes(x, d.shift).getTime() <= now.getTime()) x = nextWall(x, d.startsAt, eod.timeZone);
  const start = addMinutes(x, d.shift);
  return { start, end: d.endOf(start) };
};

export const isSafeMoment = (now: Date, eod: Zone, updates: Updates): boolean => {
  const w = safeWindow(now, eod, updates);
  return w === undefined || w.start.getTime() <= now.getTime();
};

/** `now` when it is a safe moment, else when the next safe window opens. */
export const nextSafeMoment = (now: Date, eod: Zone, updates: Updates): Date => {
  const w = safeWindow(now, eod, updates);
  return w === undefined || w.start.getTime() <= now.getTime() ? now : w.start;
};
