import type { ScheduleSpec } from '../api/kdbcluster.ts';
import { epochOfWall, wallMs } from './predict.ts';

/**
 * A pool's market hours (spec.rdbPools[].schedule), read in its time zone
 * with Intl only: the time comes in, nothing reads a clock. A session is one
 * open day's [open, close); the pool is wanted from a lead time before a
 * session opens until it closes. Outside that it may hold no RDB.
 */
export interface Session {
  /** The local date (YYYY-MM-DD) of the session. */
  day: string;
  open: Date;
  close: Date;
}

const DAY_MS = 86_400_000;
const WEEKDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

const at = (day: string, hhmm: string, tz: string): Date => new Date(epochOfWall(Date.parse(`${day}T${hhmm}:00Z`), tz));

/** Sessions whose local date lies within `before` and `after` days of now's local date, oldest first. */
export const sessionsAround = (s: Pick<ScheduleSpec, 'days' | 'open' | 'close' | 'holidays'>, tz: string, now: Date, before = 1, after = 10): Session[] => {
  const today = Math.floor(wallMs(now.getTime(), tz) / DAY_MS) * DAY_MS;
  const holidays = new Set(s.holidays);
  const out: Session[] = [];
  for (let d = -before; d <= after; d++) {
    const wall = new Date(today + d * DAY_MS);
    const day = wall.toISOString().slice(0, 10);
    if (!(s.days as readonly string[]).includes(WEEKDAY[wall.getUTCDay()]!) || holidays.has(day)) continue;
    out.push({ day, open: at(day, s.open, tz), close: at(day, s.close, tz) });
  }
  return out;
};

export interface MarketState {
  /** Within [open - lead, close) of a session: the pool keeps its RDBs. */
  wanted: boolean;
  /** When it is next wanted (the next session's open less the lead); absent while wanted, or with no session within ten days. */
  wantedFrom?: Date;
}

export const marketState = (s: ScheduleSpec, tz: string, now: Date, leadMs: number): MarketState => {
  const t = now.getTime();
  const sessions = sessionsAround(s, tz, now);
  if (sessions.some((x) => x.open.getTime() - leadMs <= t && t < x.close.getTime())) return { wanted: true };
  const next = sessions.find((x) => x.open.getTime() - leadMs > t);
  return next ? { wanted: false, wantedFrom: new Date(next.open.getTime() - leadMs) } : { wanted: false };
};
