// The harness's clock rules at every minute of a day and across a year: the
// scheduled end of day is always half a day away, and the day the harness
// checks is the one the tickerplant closed.
import { closedDay, farEndOfDay } from '../e2e/day-clock.ts';

const minuteOfDay = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

test('the scheduled end of day is 12 hours from now at every minute of the day, on many dates', () => {
  let checked = 0;
  for (const date of ['2026-01-01', '2026-03-08', '2026-06-30', '2026-11-01', '2026-12-01', '2028-02-29']) {
    const midnight = Date.parse(`${date}T00:00:00Z`);
    for (let m = 0; m < 24 * 60; m++) {
      const now = new Date(midnight + m * 60_000 + 59_999);
      const eod = farEndOfDay(now);
      expect(eod).toMatch(/^([01]\d|2[0-3]):[0-5]\d$/);
      // Minutes from now until the next time the clock shows `eod` (whole minutes; now is late in its minute).
      const ahead = (minuteOfDay(eod) - m + 24 * 60) % (24 * 60);
      expect(ahead).toBe(12 * 60);
      checked++;
    }
  }
  expect(checked).toBe(6 * 1440);
});

test('the day checked is the one end of day closed, and a day split by an end of day is refused', () => {
  expect(closedDay({ day: '2026-12-02' }, { tickerplantDay: '2026-12-02' })).toBe('2026-12-02');
  expect(() => closedDay({ day: '2026-12-03' }, { tickerplantDay: '2026-12-02' })).toThrow(/logged in trading day 2026-12-02 but end of day closed 2026-12-03/);
  expect(() => closedDay({} as { day: string }, { tickerplantDay: '2026-12-02' })).toThrow(/no day/);
});
