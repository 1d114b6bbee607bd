// The gateway's routing (gateway/src/plan.ts) from crafted purviews: the
// parts it asks and the queries it refuses, each case a way a real day can
// look (a roll, a lost RDB, a replay, end of day before the merge, two
// pools holding the same syms).

import { describe, expect, test } from '@jest/globals';
import { tradingDaySpan } from '../../gateway/src/config.ts';
import { planGetData, tile, type RdbSource } from '../../gateway/src/plan.ts';
import { msToTimestamp } from '../../images/sim/src/query/columns.ts';
import type { HdbPurview, RdbPurview } from '../../images/sim/src/query/purview.ts';
import type { GetDataRequest } from '../../images/sim/src/query/request.ts';

const T = (hhmm: string, day = '2026-03-02') => Date.parse(`${day}T${hhmm}:00Z`);
const DAY = '2026-03-02';

const rdb = (name: string, o: Partial<RdbPurview> & { trade?: [string, string] | null } = {}): RdbSource => {
  const { trade, ...rest } = o;
  const range = trade === null ? { rows: 0, firstTime: null, lastTime: null } : { rows: 10, firstTime: T((trade ?? ['09:00', '10:00'])[0]), lastTime: T((trade ?? ['09:00', '10:00'])[1]) };
  return {
    endpoint: `${name}:5011`,
    purview: { kind: 'rdb', name, pool: 'p1', state: 'rolled', day: DAY, firstI: 0, lastI: 100, lastProcessed: 100, subscription: { tables: [], syms: [] }, tables: [{ table: 'trade', ...range }], flushed: [], ...rest },
  };
};

const req = (from?: string, to?: string, o: Partial<GetDataRequest> = {}): GetDataRequest => ({
  table: 'trade',
  start: from === undefined ? undefined : msToTimestamp(T(from)),
  end: to === undefined ? undefined : msToTimestamp(T(to)),
  syms: undefined,
  columns: undefined,
  ...o,
});

/** r1 rolled at 100 (09:00-10:00), r2 rolled at 200 (10:00-11:00), r3 live from 200. */
const day = () => [
  rdb('r1', { firstI: 0, lastI: 100, trade: ['09:00', '10:00'] }),
  rdb('r2', { firstI: 100, lastI: 200, trade: ['10:00', '11:00'] }),
  rdb('r3', { state: 'live', firstI: 200, lastI: null, trade: ['11:00', '11:30'] }),
];

const names = (p: ReturnType<typeof planGetData>) => (p.ok ? p.parts.map((x) => x.label) : p.message);

describe('gateway plan', () => {
  test('a range inside one rolled RDB asks it and the live RDB only (the live one is always asked: its rows keep coming)', () => {
    expect(names(planGetData(req('09:10', '09:20'), day(), undefined))).toEqual(['rdb r1 (p1)', 'rdb r3 (p1)']);
  });

  test('across a roll: both RDBs either side; unbounded: all', () => {
    expect(names(planGetData(req('09:50', '10:10'), day(), undefined))).toEqual(['rdb r1 (p1)', 'rdb r2 (p1)', 'rdb r3 (p1)']);
    expect(names(planGetData(req(), day(), undefined))).toEqual(['rdb r1 (p1)', 'rdb r2 (p1)', 'rdb r3 (p1)']);
  });

  test('a lost RDB not yet replaced: a range its rows could be in waits (and then fails), one clear of it is answered', () => {
    const lost = day().filter((r) => r.purview.name !== 'r2');
    const p = planGetData(req('10:10', '10:20'), lost, undefined);
    expect(p).toEqual({ ok: false, retry: true, message: expect.stringMatching(/pool p1 of 2026-03-02 has no RDB holding messages \(100, 200\]/) });
    expect(names(planGetData(req('11:10', '11:20'), lost, undefined))).toEqual(['rdb r3 (p1)']);
  });

  test('a replacement still replaying makes the caller wait; once done it is taken over the lost one', () => {
    const replaying = [...day(), rdb('r2-replacement', { state: 'replaying', firstI: 100, lastI: 200, trade: ['10:00', '10:20'] })].filter((r) => r.purview.name !== 'r2');
    expect(planGetData(req('10:10', '10:20'), replaying, undefined)).toMatchObject({ ok: false, retry: true, message: expect.stringMatching(/r2-replacement \(p1\) is still replaying/) });
    // The lost one came back beside its replacement: each message once, from one of them.
    const both = [...day(), rdb('r2-replacement', { firstI: 100, lastI: 200, trade: ['10:00', '11:00'] })];
    expect(tile(both).map((r) => r.purview.name)).toEqual(['r1', 'r2', 'r3']);
  });

  test('yesterday in the HDB is asked of the HDB; a flushed day not yet merged fails a range that can reach it', () => {
    const hdb = { endpoint: 'hdb:5012', purview: { kind: 'hdb', days: ['2026-03-01'], tables: [{ day: '2026-03-01', table: 'trade', rows: 5, firstTime: T('09:00', '2026-03-01'), lastTime: T('16:00', '2026-03-01') }] } as HdbPurview };
    const after = [rdb('r1', { state: 'flushed', day: '2026-03-02', trade: null, flushed: [{ day: '2026-03-02', rows: 10 }] }), rdb('r3', { state: 'live', day: '2026-03-03', firstI: 0, trade: ['09:00', '09:30'].map((x) => x) as [string, string], flushed: [{ day: '2026-03-02', rows: 20 }] })];
    after[1]!.purview.tables[0] = { table: 'trade', rows: 3, firstTime: T('09:00', '2026-03-03'), lastTime: T('09:30', '2026-03-03') };
    // Up to the HDB's last row: the pending day's rows all come after it.
    const yesterdayOnly: GetDataRequest = { ...req(), start: msToTimestamp(T('09:00', '2026-03-01')), end: msToTimestamp(T('16:00', '2026-03-01')) };
    expect(names(planGetData(yesterdayOnly, after, hdb))).toEqual(['hdb', 'rdb r3 (p1)']);
    // Past it, the range could reach rows of the day being merged (an end of day at 16:30 makes 16:45 the next day's).
    const pastIt: GetDataRequest = { ...yesterdayOnly, end: msToTimestamp(T('17:00', '2026-03-01')) };
    expect(planGetData(pastIt, after, hdb)).toMatchObject({ ok: false, retry: false });
    const reachesPending: GetDataRequest = { ...req(), start: msToTimestamp(T('09:00', '2026-03-02')), end: msToTimestamp(T('10:00', '2026-03-02')) };
    expect(planGetData(reachesPending, after, hdb)).toEqual({ ok: false, retry: false, message: expect.stringMatching(/day 2026-03-02 has ended .*\(merge pending\)/) });
    const merged = { ...hdb, purview: { ...hdb.purview, days: ['2026-03-01', '2026-03-02'], tables: [...hdb.purview.tables, { day: '2026-03-02', table: 'trade', rows: 30, firstTime: T('09:00'), lastTime: T('16:00') }] } };
    expect(names(planGetData(reachesPending, after, merged))).toEqual(['hdb', 'rdb r3 (p1)']);
  });

  test('with the trading day known, a pending day refuses exactly the ranges meeting its span', () => {
    const after = [rdb('r3', { state: 'live', day: '2026-03-03', firstI: 0, lastI: null, trade: null, flushed: [{ day: '2026-03-02', rows: 20 }] })];
    const span = tradingDaySpan(0, 'UTC');
    const at = (a: string, b: string): GetDataRequest => ({ ...req(), start: msToTimestamp(Date.parse(a)), end: msToTimestamp(Date.parse(b)) });
    expect(planGetData(at('2026-03-02T23:00:00Z', '2026-03-03T01:00:00Z'), after, undefined, span)).toMatchObject({ ok: false, retry: false });
    expect(names(planGetData(at('2026-03-03T00:00:00Z', '2026-03-03T01:00:00Z'), after, undefined, span))).toEqual(['rdb r3 (p1)']);
    expect(names(planGetData(at('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z'), after, undefined, span))).toEqual(['rdb r3 (p1)']);
    // An end of day at 17:00 New York: the day of 2026-03-02 runs from 17:00 on the 1st (22:00Z) to 17:00 on the 2nd.
    expect(tradingDaySpan(17 * 60, 'America/New_York')('2026-03-02').map((x) => new Date(x).toISOString())).toEqual(['2026-03-01T22:00:00.000Z', '2026-03-02T22:00:00.000Z']);
  });

  test('two pools holding the same syms: the first by name answers them, the second only for the rest', () => {
    const a = rdb('a1', { pool: 'a', state: 'live', lastI: null, subscription: { tables: [], syms: ['AAPL', 'MSFT'] } });
    const b = rdb('b1', { pool: 'b', state: 'live', lastI: null, subscription: { tables: [], syms: [] } });
    const c = rdb('c1', { pool: 'c', state: 'live', lastI: null, subscription: { tables: ['quote'], syms: [] } });
    const p = planGetData(req(), [c, b, a], undefined);
    expect(p.ok && p.parts.map((x) => [x.label, [...(x.excludeSyms ?? [])]])).toEqual([
      ['rdb a1 (a)', []],
      ['rdb b1 (b)', ['AAPL', 'MSFT']],
    ]);
    // Asking only for syms pool a holds: pool b is not asked.
    expect(names(planGetData(req(undefined, undefined, { syms: ['AAPL'] }), [a, b], undefined))).toEqual(['rdb a1 (a)']);
  });
});
