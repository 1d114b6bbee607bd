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

export const tradingDayAt = (ms: number, eodMinutes: number, tz: string): string => {
  const lt = localTime(ms, tz);
  const eod = eodMinutes === 0 ? 24 * 60 : eodMinutes;
  return lt.minutes < eod ? lt.date : addDays(lt.date, 1);
};

/** Epoch ms of a local wall-clock time in a zone (the first match around DST changes). */
export const localToEpoch = (day: string, minutes: number, tz: string): number => {
  const guess = Date.parse(`${day}T00:00:00Z`) + minutes * 60_000;
  let t = guess;
  for (let k = 0; k < 3; k++) {
    const lt = localTime(t, tz);
    const asUtc = Date.parse(`${lt.date}T00:00:00Z`) + lt.minutes * 60_000 + lt.seconds * 1000;
    t += guess - asUtc;
  }
  return t;
};
