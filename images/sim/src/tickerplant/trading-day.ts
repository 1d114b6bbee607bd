/**
 * Trading days and the end-of-day instant in an IANA zone, with Intl only.
 * The trading day at an instant is the local date, or the next date once the
 * local clock has passed the end-of-day time; an end of day at 00:00 means
 * midnight at the end of the date (kdb+tick's default).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const formatterFor = (tz: string): Intl.DateTimeFormat => {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  return f;
};

export const isValidTimeZone = (tz: string): boolean => {
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
};

export interface LocalTime {
  date: string;
  minutes: number;
  seconds: number;
}

export const localTime = (ms: number, tz: string): LocalTime => {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(tz).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
    seconds: Number(parts.second),
  };
};

export const addDays = (day: string, n: number): string => {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};

export const parseHhMm = (s: string): number | null => {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
};

/**
 * The trading day at an instant. A day ends at the FIRST instant its local
 * clock shows the end-of-day time: on the night the clocks go back, a 01:30
 * end of day comes round twice, and the second one must not reopen the day
 * that already ended (the day never goes back).
 */
export const tradingDayAt = (ms: number, eodMinutes: number, tz: string): string => {
  const lt = localTime(ms, tz);
  const eod = eodMinutes === 0 ? 24 * 60 : eodMinutes;
  if (lt.minutes >= eod) return addDays(lt.date, 1);
  const end = eodMinutes === 0 ? localToEpoch(addDays(lt.date, 1), 0, tz) : localToEpoch(lt.date, eodMinutes, tz);
  return ms >= end ? addDays(lt.date, 1) : lt.date;
};

/** The local wall clock at an instant (whole seconds), as if it were UTC. */
const wallMs = (ms: number, tz: string): number => {
  const lt = localTime(ms, tz);
  return Date.parse(`${lt.date}T00:00:00Z`) + lt.minutes * 60_000 + lt.seconds * 1000;
};

const DAY_MS = 86_400_000;

/**
 * Epoch ms of a local wall-clock time in a zone. When the clocks go back and
 * the time happens twice, the first; when they jump over it, the instant of
 * the jump (the first instant the clock shows a later time).
 */
export const localToEpoch = (day: string, minutes: number, tz: string): number => {
  const wall = Date.parse(`${day}T00:00:00Z`) + minutes * 60_000;
  // A zone changes its offset at most once in two days: the offsets a day
  // either side are the only candidates.
  const offsets = [...new Set([wallMs(wall - DAY_MS, tz) - (wall - DAY_MS), wallMs(wall + DAY_MS, tz) - (wall + DAY_MS)])];
  const candidates = offsets.map((o) => wall - o).sort((a, b) => a - b);
  const exact = candidates.find((t) => wallMs(t, tz) === wall);
  if (exact !== undefined) return exact;
  // In the gap of a spring-forward: the wall clock is increasing between the
  // candidates, so search for the first second it shows a later time.
  let lo = candidates[0]!;
  let hi = candidates.at(-1)!;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (wallMs(mid, tz) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
};
