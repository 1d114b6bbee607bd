import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { TradingDay } from '../../operator/src/api/rdb-status.ts';

/**
 * The q RDB cannot run here (no licensed kdb+), so its reporting rules are
 * held by reading the code: these break when an edit brings back the
 * end-of-day order that had the live RDB say `flushed`, or a day in q's form.
 */
const rdbQ = readFileSync(new URL('../../images/kdb/rdb.q', import.meta.url), 'utf8');
const commonQ = readFileSync(new URL('../../images/kdb/common.q', import.meta.url), 'utf8');

const definition = (src: string, name: string): string => {
  const start = src.indexOf(`\n${name}:{`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = src.slice(start + 1);
  // A q definition runs until the next line that starts a new top-level statement.
  const end = rest.search(/\n(?=[./\\a-zA-Z])/);
  return end < 0 ? rest : rest.slice(0, end);
};

describe('rdb.q end of day', () => {
  const eod = definition(rdbQ, '.rdb.eod');

  test('the live (or replaying) RDB is told apart before the flush', () => {
    expect(eod).toMatch(/goesOn:was in `live`replaying;/);
  });

  test('`flushed` is reported only by an RDB that does not go on live', () => {
    const sets = eod.split('\n').filter((l) => l.includes('.rdb.set`flushed'));
    expect(sets.length).toBeGreaterThan(0);
    for (const line of sets) expect(line).toMatch(/if\[not goesOn;[^\]]*\.rdb\.set`flushed\]/);
  });

  test('the RDB that goes on is set live for the next day with an open window', () => {
    expect(eod).toMatch(/\$\[goesOn; \[\.rdb\.day:nd; \.rdb\.firstI:0; \.rdb\.lastI:0N; \.rdb\.lastProcessed:0; \.rdb\.set`live\]/);
  });

  test('a closed window is lastI, else the last message applied (q fill: x^y fills a null y with x)', () => {
    expect(eod).not.toMatch(/\.rdb\.lastI\^\.rdb\.lastProcessed/);
    expect(eod).toMatch(/\.rdb\.lastProcessed\^\.rdb\.lastI/);
  });
});

describe('rdb.q writes days as YYYY-MM-DD, the only form the agent accepts', () => {
  test('common.q .c.day turns q dates into ISO days', () => {
    expect(commonQ).toMatch(/^\.c\.day:\{ssr\[string x;"\.";"-"\]\};/m);
  });

  test('the status file day and every flushed day go through .c.day', () => {
    expect(definition(rdbQ, '.rdb.status')).toMatch(/\.c\.day \.rdb\.day/);
    expect(definition(rdbQ, '.rdb.eod')).toMatch(/\.rdb\.flushed,:enlist `day`rows`path!\(\.c\.day d;/);
  });

  test("what string .z.d prints is refused, what .c.day gives is accepted", () => {
    expect(TradingDay.safeParse('2026.03.02').success).toBe(false);
    expect(TradingDay.safeParse('2026.03.02'.replaceAll('.', '-')).success).toBe(true);
  });
});
