import { describe, expect, test } from '@jest/globals';
import { addSums, checksumColumns, combineSums, TableChecksum } from '../../images/sim/src/checksum.ts';
import { generateDay } from '../../images/sim/src/feed/generator.ts';
import { PAPER_PROFILE, rowsPerHour } from '../../images/sim/src/feed/profile.ts';
import { addDays, localToEpoch, tradingDayAt } from '../../images/sim/src/tickerplant/trading-day.ts';
import { DEFAULT_SCHEMA, schemaMap, validateUpdate } from '../../images/sim/src/schema.ts';

describe('checksum', () => {
  test('order independent, additive, sensitive to every value', () => {
    const rows = [[1, 'A', 1.5, 10], [2, 'B', 2.5, 20], [3, 'A', 3.5, 30]];
    const a = new TableChecksum();
    rows.forEach((r) => a.addRow(r));
    const b = new TableChecksum();
    [...rows].reverse().forEach((r) => b.addRow(r));
    expect(a.value).toBe(b.value);
    const cols = [[1, 2, 3], ['A', 'B', 'A'], [1.5, 2.5, 3.5], [10, 20, 30]];
    expect(checksumColumns(cols)).toEqual(a.toJSON());
    const part1 = checksumColumns(cols.map((c) => c.slice(0, 1)));
    const part2 = checksumColumns(cols.map((c) => c.slice(1)));
    expect(addSums(part1, part2)).toEqual(a.toJSON());
    expect(combineSums([{ t: part1 }, { t: part2 }])).toEqual({ t: a.toJSON() });
    const c = new TableChecksum();
    [rows[0], rows[1], [3, 'A', 3.5, 31]].forEach((r) => c.addRow(r!));
    expect(c.value).not.toBe(a.value);
    expect(BigInt(a.value) < 1n << 64n).toBe(true);
  });
});

describe('day profile and feed', () => {
  test('rows per hour follow the paper and add up exactly', () => {
    const per = rowsPerHour(100_000);
    expect(per.reduce((s, n) => s + n, 0)).toBe(100_000);
    expect(per.length).toBe(PAPER_PROFILE.length);
    // 12:00 has 16.5 / 99.8 of the day
    expect(Math.abs(per[6]! - (100_000 * 16.5) / 99.8)).toBeLessThan(1);
    expect(rowsPerHour(7).reduce((s, n) => s + n, 0)).toBe(7);
  });
  test('the feed is deterministic for a seed, in time order, inside the profile hours, and valid', () => {
    const o = { syms: ['A', 'B'], rows: 2_000, seed: 5, day: '2025-03-03', tz: 'America/New_York' };
    const a = [...generateDay(o)];
    expect([...generateDay(o)]).toEqual(a);
    expect(a.length).toBe(2_000);
    const times = a.map((r) => r.values[0] as number);
    expect(times.every((t, k) => k === 0 || t >= times[k - 1]!)).toBe(true);
    expect(times[0]).toBeGreaterThanOrEqual(localToEpoch('2025-03-03', 6 * 60, 'America/New_York'));
    expect(times.at(-1)!).toBeLessThan(localToEpoch('2025-03-03', 15 * 60, 'America/New_York'));
    const schemas = schemaMap(DEFAULT_SCHEMA);
    for (const r of a.slice(0, 50)) expect(validateUpdate(schemas, { t: r.table, c: r.values.map((v) => [v]) }).ok).toBe(true);
    expect(new Set(a.map((r) => r.table))).toEqual(new Set(['trade', 'quote']));
  });
});

describe('trading day in an IANA zone', () => {
  const at = (iso: string) => Date.parse(iso);
  test('before the end-of-day time it is the local date, after it the next', () => {
    // 17:00 New York (EST, UTC-5) on 2025-01-10 is 22:00 UTC.
    expect(tradingDayAt(at('2025-01-10T21:59:00Z'), 17 * 60, 'America/New_York')).toBe('2025-01-10');
    expect(tradingDayAt(at('2025-01-10T22:00:00Z'), 17 * 60, 'America/New_York')).toBe('2025-01-11');
    // Summer time (EDT, UTC-4)
    expect(tradingDayAt(at('2025-07-10T20:59:00Z'), 17 * 60, 'America/New_York')).toBe('2025-07-10');
    expect(tradingDayAt(at('2025-07-10T21:00:00Z'), 17 * 60, 'America/New_York')).toBe('2025-07-11');
  });
  test('00:00 means midnight at the end of the date', () => {
    expect(tradingDayAt(at('2025-01-10T23:59:59Z'), 0, 'UTC')).toBe('2025-01-10');
    expect(tradingDayAt(at('2025-01-11T00:00:00Z'), 0, 'UTC')).toBe('2025-01-11');
    expect(tradingDayAt(at('2025-01-10T15:30:00Z'), 0, 'Asia/Tokyo')).toBe('2025-01-11');
  });
  test('local wall clock to epoch and day arithmetic', () => {
    expect(localToEpoch('2025-07-10', 17 * 60, 'America/New_York')).toBe(at('2025-07-10T21:00:00Z'));
    expect(localToEpoch('2025-01-10', 9 * 60, 'Europe/London')).toBe(at('2025-01-10T09:00:00Z'));
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
  });
});
