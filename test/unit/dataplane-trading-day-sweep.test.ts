// The trading day at thousands of instants: every few minutes across end of
// day, UTC midnight and both DST changes of 2026 in America/New_York, in zones
// east and west of UTC. The oracle is written independently of
// trading-day.ts (the sv-SE locale prints "YYYY-MM-DD HH:MM:SS"), minute by minute.
import { addDays, localToEpoch, tradingDayAt } from '../../images/sim/src/tickerplant/trading-day.ts';

// The day a naive reading of the local clock gives: the local date before the
// end-of-day time, the next date from it.
const clocks = new Map<string, Intl.DateTimeFormat>();
const naiveDay = (ms: number, eodMinutes: number, tz: string): string => {
  let clock = clocks.get(tz);
  if (!clock) clocks.set(tz, (clock = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium', hourCycle: 'h23' })));
  const [date, time] = clock.format(ms).split(' ');
  const [h, m] = time!.split(':').map(Number);
  const minutes = h! * 60 + m!;
  const eod = eodMinutes === 0 ? 24 * 60 : eodMinutes;
  return minutes < eod ? date! : addDays(date!, 1);
};

// A trading day ends at the first instant the clock shows end of day and never
// reopens: the day at t is the latest naive day of any minute up to t. (Every
// end-of-day time and DST change here falls on a whole minute.)
const oracleDays = (from: number, eodMinutes: number, tz: string): Map<number, string> => {
  const days = new Map<number, string>();
  let latest = '';
  for (let t = from; t < from + SPAN_MS; t += 60_000) {
    const d = naiveDay(t, eodMinutes, tz);
    if (d > latest) latest = d;
    days.set(t, latest);
  }
  return days;
};

const ZONES = ['America/New_York', 'Europe/London', 'Asia/Tokyo', 'UTC', 'Australia/Sydney'];
// 17:00 (New York's close), midnight (kdb+tick's default), and times that fall
// inside the DST changes: 01:30 happens twice in November, 02:30 never in March.
const EODS = [17 * 60, 0, 90, 150];
const STEP_MS = 7 * 60_000;
// Three days around each 2026 DST change in New York, and around an ordinary UTC midnight.
const SPANS = ['2026-03-07T00:00:00Z', '2026-10-31T00:00:00Z', '2026-12-01T00:00:00Z'].map((s) => Date.parse(s));
const SPAN_MS = 3 * 24 * 3_600_000;

const instants = (from: number): number[] => {
  const out: number[] = [];
  for (let t = from; t < from + SPAN_MS; t += STEP_MS) out.push(t);
  return out;
};

describe.each(ZONES)('trading day in %s', (tz) => {
  test.each(EODS)('end of day at minute %i: the local date before its first instant, the next date from it', (eod) => {
    let checked = 0;
    for (const from of SPANS) {
      const oracle = oracleDays(from, eod, tz);
      for (const t of instants(from)) {
        expect([new Date(t).toISOString(), tradingDayAt(t, eod, tz)]).toEqual([new Date(t).toISOString(), oracle.get(t)]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1800);
  });

  test.each(EODS)('end of day at minute %i: the day never goes back and moves one day per end of day', (eod) => {
    for (const from of SPANS) {
      let prev = tradingDayAt(from, eod, tz);
      let changes = 0;
      for (const t of instants(from).slice(1)) {
        const d = tradingDayAt(t, eod, tz);
        if (d !== prev) {
          expect(d).toBe(addDays(prev, 1));
          changes++;
        }
        prev = d;
      }
      // Three days of instants cross end of day two or three times.
      expect(changes).toBeGreaterThanOrEqual(2);
      expect(changes).toBeLessThanOrEqual(3);
    }
  });
});

test('a trading day ends at the first local end-of-day time, also on the night New York falls back', () => {
  const tz = 'America/New_York';
  for (const eod of [17 * 60, 0, 90])
    for (const from of SPANS)
      for (const t of instants(from)) {
        const day = tradingDayAt(t, eod, tz);
        const end = eod === 0 ? localToEpoch(addDays(day, 1), 0, tz) : localToEpoch(day, eod, tz);
        const start = eod === 0 ? localToEpoch(day, 0, tz) : localToEpoch(addDays(day, -1), eod, tz);
        expect({ t: new Date(t).toISOString(), inside: start <= t && t < end }).toEqual({ t: new Date(t).toISOString(), inside: true });
      }
});

test('17:00 New York is 22:00 UTC in winter and 21:00 UTC in summer, so the UTC date is not the trading day for hours', () => {
  const tz = 'America/New_York';
  // 2026-12-01 21:59 UTC is 16:59 in New York: still Tuesday's trading day.
  expect(tradingDayAt(Date.parse('2026-12-01T21:59:00Z'), 17 * 60, tz)).toBe('2026-12-01');
  expect(tradingDayAt(Date.parse('2026-12-01T22:00:00Z'), 17 * 60, tz)).toBe('2026-12-02');
  // After UTC midnight but before New York's close: the UTC date and the trading day agree again.
  expect(tradingDayAt(Date.parse('2026-12-02T03:00:00Z'), 17 * 60, tz)).toBe('2026-12-02');
  expect(tradingDayAt(Date.parse('2026-07-01T21:00:00Z'), 17 * 60, tz)).toBe('2026-07-02');
});

test('a wall-clock time is found at its first instant when it happens twice, and at the jump when it never happens', () => {
  const tz = 'America/New_York';
  // 2026-11-01: 01:30 EDT (05:30Z) and again 01:30 EST (06:30Z).
  expect(new Date(localToEpoch('2026-11-01', 90, tz)).toISOString()).toBe('2026-11-01T05:30:00.000Z');
  // 2026-03-08: the clocks jump from 02:00 EST (07:00Z) to 03:00 EDT.
  expect(new Date(localToEpoch('2026-03-08', 150, tz)).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  expect(new Date(localToEpoch('2026-03-08', 180, tz)).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  expect(new Date(localToEpoch('2026-03-08', 17 * 60, tz)).toISOString()).toBe('2026-03-08T21:00:00.000Z');
  // 01:00 on the fall-back night, twice: and 17:00 after it, in standard time.
  expect(new Date(localToEpoch('2026-11-01', 60, tz)).toISOString()).toBe('2026-11-01T05:00:00.000Z');
  expect(new Date(localToEpoch('2026-11-01', 17 * 60, tz)).toISOString()).toBe('2026-11-01T22:00:00.000Z');
});

test('on the night New York falls back, a 01:30 end of day ends the day once: the repeated 01:00-01:30 hour stays in the next day', () => {
  const tz = 'America/New_York';
  expect(tradingDayAt(Date.parse('2026-11-01T05:29:00Z'), 90, tz)).toBe('2026-11-01'); // 01:29 EDT
  expect(tradingDayAt(Date.parse('2026-11-01T05:30:00Z'), 90, tz)).toBe('2026-11-02'); // 01:30 EDT: end of day
  expect(tradingDayAt(Date.parse('2026-11-01T06:10:00Z'), 90, tz)).toBe('2026-11-02'); // 01:10 EST, the clock shows before 01:30 again
  expect(tradingDayAt(Date.parse('2026-11-01T06:40:00Z'), 90, tz)).toBe('2026-11-02');
});
