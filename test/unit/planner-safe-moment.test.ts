import { describe, expect, test } from '@jest/globals';
import { AFTER_END_OF_DAY, isSafeMoment, nextSafeMoment, safeWindow } from '../../operator/src/planner/safe-moment.ts';

/**
 * The safe-moment rules checked at every quarter hour over days that hold a
 * DST change, against an oracle that finds wall times by walking the clock
 * minute by minute (no offset arithmetic), so the answer never depends on
 * the hour CI runs at.
 */
const MIN = 60_000;

const formats = new Map<string, Intl.DateTimeFormat>();
const wallHm = (t: number, tz: string): string => {
  let f = formats.get(tz);
  if (!f) formats.set(tz, (f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  return f.format(new Date(t));
};

/** Every instant in [from, to) that is the first minute the zone's clock shows hhmm (a repeated hour shows it twice: the first counts). */
const firstMinutesShowing = (hhmm: string, tz: string, from: number, to: number): number[] => {
  const out: number[] = [];
  let prevShown = false;
  for (let t = from; t < to; t += MIN) {
    const shown = wallHm(t, tz) === hhmm;
    // A wall time skipped by a spring-forward does not happen that day.
    if (shown && !prevShown && !(out.length > 0 && t - out[out.length - 1]! < 20 * 60 * MIN)) out.push(t);
    prevShown = shown;
  }
  return out;
};

interface OracleWindow {
  start: number;
  end: number;
}

const oracleWindows = (
  eod: { time: string; timeZone: string },
  w: { start: string; end: string } | undefined,
  from: number,
  to: number,
): OracleWindow[] => {
  if (!w) {
    return firstMinutesShowing(eod.time, eod.timeZone, from, to).map((e) => ({
      start: e + AFTER_END_OF_DAY.delayMinutes * MIN,
      end: e + (AFTER_END_OF_DAY.delayMinutes + AFTER_END_OF_DAY.lengthMinutes) * MIN,
    }));
  }
  const ends = firstMinutesShowing(w.end, eod.timeZone, from, to + 2 * 86_400_000);
  return firstMinutesShowing(w.start, eod.timeZone, from, to).map((s) => ({ start: s, end: ends.find((e) => e > s)! }));
};

const QUARTER = 15 * MIN;

const sweep = (
  name: string,
  eod: { time: string; timeZone: string },
  window: { start: string; end: string } | undefined,
  fromIso: string,
  days: number,
) => {
  test(`${name}: every 15 minutes for ${days} days from ${fromIso}`, () => {
    const from = Date.parse(fromIso);
    const to = from + days * 86_400_000;
    // The oracle looks a day either side so the first and last instants have their windows.
    const windows = oracleWindows(eod, window, from - 2 * 86_400_000, to + 2 * 86_400_000);
    const updates = { apply: 'EndOfDay' as const, ...(window ? { maintenanceWindow: window } : {}) };
    let safeCount = 0;
    let checked = 0;
    for (let t = from; t < to; t += QUARTER) {
      const now = new Date(t);
      const inside = windows.find((x) => x.start <= t && t < x.end);
      const next = inside ? t : windows.find((x) => x.start > t)!.start;
      expect({ at: now.toISOString(), safe: isSafeMoment(now, eod, updates) }).toEqual({ at: now.toISOString(), safe: inside !== undefined });
      expect({ at: now.toISOString(), next: nextSafeMoment(now, eod, updates).toISOString() }).toEqual({
        at: now.toISOString(),
        next: new Date(next).toISOString(),
      });
      const sw = safeWindow(now, eod, updates)!;
      const expected = inside ?? windows.find((x) => x.start > t)!;
      expect({ at: now.toISOString(), start: sw.start.toISOString(), end: sw.end.toISOString() }).toEqual({
        at: now.toISOString(),
        start: new Date(expected.start).toISOString(),
        end: new Date(expected.end).toISOString(),
      });
      if (inside) safeCount++;
      checked++;
    }
    // Sanity: the sweep saw both answers, about as often as the window's length says.
    expect(checked).toBe(days * 96);
    expect(safeCount).toBeGreaterThan(0);
    expect(safeCount).toBeLessThan(checked);
  });
};

describe('safe moment after end of day (default)', () => {
  sweep('New York 17:00 across spring-forward', { time: '17:00', timeZone: 'America/New_York' }, undefined, '2026-03-05T00:00:00Z', 6);
  sweep('New York 17:00 across fall-back', { time: '17:00', timeZone: 'America/New_York' }, undefined, '2026-10-29T00:00:00Z', 6);
  sweep('London 16:30 across spring-forward', { time: '16:30', timeZone: 'Europe/London' }, undefined, '2026-03-26T00:00:00Z', 6);
  sweep('Tokyo 15:00 (no DST)', { time: '15:00', timeZone: 'Asia/Tokyo' }, undefined, '2026-06-01T00:00:00Z', 4);
  sweep('UTC 23:45: the window crosses midnight', { time: '23:45', timeZone: 'UTC' }, undefined, '2026-06-01T00:00:00Z', 4);

  test('the window is open from 5 to 35 minutes after end of day, closed at its end', () => {
    const eod = { time: '17:00', timeZone: 'America/New_York' };
    const u = { apply: 'EndOfDay' as const };
    // 2026-07-01 17:00 EDT = 21:00Z
    expect(isSafeMoment(new Date('2026-07-01T21:04:59Z'), eod, u)).toBe(false);
    expect(isSafeMoment(new Date('2026-07-01T21:05:00Z'), eod, u)).toBe(true);
    expect(isSafeMoment(new Date('2026-07-01T21:34:59Z'), eod, u)).toBe(true);
    expect(isSafeMoment(new Date('2026-07-01T21:35:00Z'), eod, u)).toBe(false);
    expect(nextSafeMoment(new Date('2026-07-01T21:35:00Z'), eod, u).toISOString()).toBe('2026-07-02T21:05:00.000Z');
  });
});

describe('safe moment in a maintenance window', () => {
  sweep('New York 18:00-20:00 across spring-forward', { time: '17:00', timeZone: 'America/New_York' }, { start: '18:00', end: '20:00' }, '2026-03-05T00:00:00Z', 6);
  sweep('New York 23:00-00:30 (crosses midnight) across fall-back', { time: '17:00', timeZone: 'America/New_York' }, { start: '23:00', end: '00:30' }, '2026-10-29T00:00:00Z', 6);
  sweep('London 06:00-07:15 across fall-back', { time: '16:30', timeZone: 'Europe/London' }, { start: '06:00', end: '07:15' }, '2026-10-22T00:00:00Z', 6);

  test('the window replaces the end-of-day one', () => {
    const eod = { time: '17:00', timeZone: 'America/New_York' };
    const u = { apply: 'EndOfDay' as const, maintenanceWindow: { start: '18:00', end: '20:00' } };
    expect(isSafeMoment(new Date('2026-07-01T21:10:00Z'), eod, u)).toBe(false);
    expect(isSafeMoment(new Date('2026-07-01T22:00:00Z'), eod, u)).toBe(true);
    expect(nextSafeMoment(new Date('2026-07-01T21:10:00Z'), eod, u).toISOString()).toBe('2026-07-01T22:00:00.000Z');
  });
});

describe('apply Immediate', () => {
  test('every instant is safe, and the next safe moment is now', () => {
    const eod = { time: '17:00', timeZone: 'America/New_York' };
    for (let t = Date.parse('2026-03-07T00:00:00Z'); t < Date.parse('2026-03-10T00:00:00Z'); t += QUARTER) {
      const now = new Date(t);
      expect(isSafeMoment(now, eod, { apply: 'Immediate' })).toBe(true);
      expect(nextSafeMoment(now, eod, { apply: 'Immediate' }).getTime()).toBe(t);
      expect(safeWindow(now, eod, { apply: 'Immediate' })).toBeUndefined();
    }
  });
});
