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

  test('`flushed` is reported only by an RDB that does not go on live (a rolled one, or a queued one)', () => {
    const sets = eod.split('\n').filter((l) => l.includes('.rdb.set`flushed'));
    expect(sets.length).toBe(2);
    for (const line of sets) expect(line).toMatch(/if\[not goesOn;[^\]]*\.rdb\.set`flushed\]|^\s*was=`queued; \[.*\.rdb\.set`flushed/);
  });

  test('a queued RDB flushes an empty slice (0;0], reports it flushed and leaves the pool, as the TypeScript RDB does', () => {
    const queued = eod.split('\n').find((l) => /^\s*was=`queued;/.test(l))!;
    expect(queued).toMatch(/\.rdb\.writeSlice\[d;0;0\]/);
    expect(queued).toMatch(/\.rdb\.flushed,:enlist `day`rows`path!\(\.c\.day d;0;path\)/);
    expect(queued).toMatch(/\.rdb\.set`flushed; \.rdb\.leave\[\]/);
    // Leaving closes the handle (tick.q's .z.pc drops a queued subscriber) and never reconnects.
    expect(definition(rdbQ, '.rdb.leave')).toMatch(/\.rdb\.done:1b; if\[not null \.rdb\.h; hclose \.rdb\.h; \.rdb\.h:0Ni\]/);
    expect(definition(rdbQ, '.rdb.connect')).toMatch(/if\[\.rdb\.done or not null \.rdb\.h; :\(\)\]/);
  });

  test('slices carry pool, window and subscription, as the TypeScript slice header does', () => {
    expect(definition(rdbQ, '.rdb.writeSlice')).toMatch(/`day`rdb`pool`window`subscription`tables!\(d;\.rdb\.name;\.rdb\.pool;\(f;l\);`tables`syms!\(\.rdb\.tabs;\.rdb\.syms\);/);
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

describe('rdb.q subscribes before it counts the handle as its own', () => {
  const connect = definition(rdbQ, '.rdb.connect');

  test('a refused .u.sub (the replaced RDB is "still connected") closes the handle and leaves .rdb.h null, so the next tick tries again', () => {
    const sub = connect.indexOf('(`.u.sub;');
    const own = connect.indexOf('.rdb.h:h');
    expect(sub).toBeGreaterThan(0);
    expect(own).toBeGreaterThan(sub);
    expect(connect).toMatch(/a:@\[h;\(`\.u\.sub;[^\n]*\{\(`subscribeRefused;x\)\}\];/);
    expect(connect).toMatch(/if\[`subscribeRefused~first a; [^\n]*hclose h; :\(\)\];/);
  });
});

describe('common.q knows every column type the KdbCluster API accepts', () => {
  const types = /^\.c\.types:([`a-z]+)!"([a-zA-Z]+)";/m.exec(commonQ);

  test('each q type name has its type char, timespan (the default schema\'s time) among them', async () => {
    const { ColumnType, DEFAULT_TABLES } = await import('../../operator/src/api/kdbcluster.ts');
    expect(types).not.toBeNull();
    const names = types![1]!.split('`').filter(Boolean);
    expect(names.length).toBe(types![2]!.length);
    expect([...names].sort()).toEqual([...ColumnType.options].sort());
    const chars = Object.fromEntries(names.map((n, k) => [n, types![2]![k]]));
    expect(chars).toMatchObject({ timespan: 'n', timestamp: 'p', symbol: 's', float: 'f', long: 'j', string: 'C' });
    for (const t of DEFAULT_TABLES) for (const c of t.columns) expect(names).toContain(c.type);
  });

  test('bytes per value follow the TypeScript memory account for every type char', async () => {
    const { BYTES_PER_VALUE } = await import('../../images/sim/src/rdb/memory.ts');
    const bytes = /^\.c\.bytes:"([a-zA-Z]+)"!([0-9 ]+);/m.exec(commonQ)!;
    expect(bytes[1]).toBe(types![2]);
    const values = bytes[2]!.trim().split(' ').map(Number);
    const names = types![1]!.split('`').filter(Boolean);
    const text = new Set(['string', 'char', 'guid']);
    names.forEach((n, k) => expect(values[k]).toBe(text.has(n) ? BYTES_PER_VALUE.string : BYTES_PER_VALUE.timestamp));
  });
});

describe('merge.q takes each message window of a pool once', () => {
  const mergeQ = readFileSync(new URL('../../images/kdb/merge.q', import.meta.url), 'utf8');

  test('per pool, the widest window first at each start, and the refusals of windows.ts', () => {
    expect(mergeQ).toMatch(/ix:ix idesc W\[ix;1\]; ix:ix iasc W\[ix;0\];/);
    for (const refusal of ['no slice holds messages', 'overlaps another without lying inside it', 'with different row counts', 'but holds more rows', 'short of the day', 'has an empty window but holds rows'])
      expect(mergeQ).toContain(refusal);
    expect(mergeQ).toMatch(/res:\{choose\[x;where P=x\]\} each pools;/);
  });

  test('only the chosen slices are merged, in window order', () => {
    expect(mergeQ).toMatch(/keep:raze first each res;/);
    expect(mergeQ).toMatch(/\}\[t\] each keep; \.Q\.dpft/);
    expect(mergeQ).not.toMatch(/raze \{x\[`tables;y\]\}\[;t\] each slices;/);
  });
});
