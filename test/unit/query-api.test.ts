// The query API's pieces without a socket: getData's argument checked key
// by key, a q feed's .u.upd data turned into the tickerplant's columns
// (and refused by column), purview round-tripping through kdb+ values, and
// the gateway's merge of parts in time order.

import { describe, expect, test } from '@jest/globals';
import { dropSyms, mergeByTime } from '../../gateway/src/merge.ts';
import { decodeMessage, encodeMessage, NULL, q, type QTable } from '../../ipc/src/index.ts';
import { fastTimestampToMs, msToTimestamp, timestampToMs } from '../../images/sim/src/query/columns.ts';
import { decodePurview, encodePurview, type RdbPurview } from '../../images/sim/src/query/purview.ts';
import { parseCall, parseGetData } from '../../images/sim/src/query/request.ts';
import { DEFAULT_SCHEMA } from '../../images/sim/src/schema.ts';
import { updateFromQ } from '../../images/sim/src/tickerplant/ipc-feed.ts';
import { rdbQueryBackend } from '../../images/sim/src/rdb/query-api.ts';
import { TableStore } from '../../images/sim/src/rdb/table-store.ts';
import type { RdbStatusFile } from '../../operator/src/api/rdb-status.ts';

const trade = DEFAULT_SCHEMA[0]!;
const dictOf = (o: Record<string, ReturnType<typeof q.symbol> | ReturnType<typeof q.timestamp> | ReturnType<typeof q.symbols>>) => q.dict(q.symbols(Object.keys(o)), q.list(...Object.values(o)));

describe('getData argument', () => {
  test('the Insights names are accepted; bounds are kdb+ timestamps; 0Wp means unbounded', () => {
    const t0 = msToTimestamp(Date.parse('2026-03-02T10:00:00Z'));
    expect(parseGetData(dictOf({ table: q.symbol('trade'), startTS: q.timestamp(t0), endTS: q.timestamp(2n ** 63n - 1n), syms: q.symbol('AAPL') }))).toEqual({
      table: 'trade', start: t0, end: undefined, syms: ['AAPL'], columns: undefined,
    });
    expect(parseGetData(dictOf({ table: q.symbol('trade'), startTime: q.timestamp(NULL.timestamp) })).start).toBeUndefined();
  });

  test.each([
    ['no table', dictOf({ syms: q.symbol('A') }), /`table is required/],
    ['both start names', dictOf({ table: q.symbol('t'), startTime: q.timestamp(0n), startTS: q.timestamp(0n) }), /startTime or startTS, not both/],
    ['end before start', dictOf({ table: q.symbol('t'), startTime: q.timestamp(10n), endTime: q.timestamp(5n) }), /endTime is before startTime/],
    ['syms as a string', q.dict(q.symbols(['table', 'syms']), q.list(q.symbol('t'), q.string('AAPL'))), /syms must be a symbol or a symbol vector, got a string/],
    ['a column twice', dictOf({ table: q.symbol('t'), columns: q.symbols(['a', 'a']) }), /lists a column twice/],
  ])('%s is refused naming the key', (_n, arg, message) => {
    expect(() => parseGetData(arg)).toThrow(message);
  });

  test('calls: by symbol or string, one argument; lambdas and q text are not called', () => {
    expect(parseCall(q.list(q.string('getData'), q.identity())).fn).toBe('getData');
    expect(parseCall(q.symbol('.kdb.purview')).fn).toBe('purview');
    expect(() => parseCall(q.list({ kind: 'lambda', context: '', body: '{system"rm -rf /"}' }, q.identity()))).toThrow(/only named functions are called here, got a lambda/);
    expect(() => parseCall(q.list(q.symbol('getData'), q.identity(), q.identity()))).toThrow(/takes one argument, got 2/);
  });
});

describe('.u.upd data to the tickerplant columns', () => {
  const t = msToTimestamp(Date.parse('2026-03-02T10:00:00.123Z'));
  test('column vectors (time or not), one row of atoms, a table by column name; timestamps to the millisecond', () => {
    const cols = q.list(q.timestamps([t + 456_789n]), q.symbols(['A']), q.floats([1.5]), q.longs([7]));
    expect(updateFromQ(trade, cols)).toEqual([[Date.parse('2026-03-02T10:00:00.123Z')], ['A'], [1.5], [7]]);
    expect(updateFromQ(trade, q.list(q.symbols(['A']), q.floats([1.5]), q.ints([7])))).toEqual([['A'], [1.5], [7]]);
    expect(updateFromQ(trade, q.list(q.symbol('A'), q.float(1.5), q.long(7)))).toEqual([['A'], [1.5], [7]]);
    expect(updateFromQ(trade, q.table({ price: q.floats([2]), sym: q.symbols(['B']), size: q.longs([1]) }))).toEqual([['B'], [2], [1]]);
    expect(timestampToMs(msToTimestamp(1_700_000_000_123))).toBe(1_700_000_000_123);
  });

  test.each([
    ['a price as symbols', q.list(q.symbols(['A']), q.symbols(['x']), q.longs([1])), /column price: expected float or real, got a symbol vector/],
    ['a null size', q.list(q.symbols(['A']), q.floats([1]), q.longs([NULL.long])), /column size: row 0: a null or infinite long/],
    ['too few columns', q.list(q.symbols(['A'])), /has 4 columns \(or 3 without time\), got 1/],
    ['an unknown column in a table', q.table({ sym: q.symbols(['A']), px: q.floats([1]), size: q.longs([1]) }), /has no column px/],
    ['a dictionary', q.dict(q.symbols(['a']), q.longs([1])), /must be a list of columns, one row of atoms or a table, got a dictionary/],
  ])('%s is refused naming the column', (_n, data, message) => {
    expect(() => updateFromQ(trade, data)).toThrow(message);
  });
});

describe('timestamps to milliseconds', () => {
  test('the fast path agrees with the exact one, at and around half a millisecond too', () => {
    const base = msToTimestamp(Date.parse('2026-03-02T10:00:00.123Z'));
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const cases = [0n, 1n, 499_999n, 500_000n, 500_001n, 999_999n, -1n, -500_000n];
    for (let k = 0; k < 2000; k++) cases.push(BigInt(next() % 1_000_000));
    for (const d of cases) expect(fastTimestampToMs(base + d)).toBe(timestampToMs(base + d));
  });
});

describe('purview', () => {
  test('an RDB purview survives the wire and back', () => {
    const p: RdbPurview = {
      kind: 'rdb', name: 'r1', pool: 'p', state: 'rolled', day: '2026-03-02', firstI: 10, lastI: 20, lastProcessed: 20,
      subscription: { tables: ['trade'], syms: [] },
      tables: [{ table: 'trade', rows: 3, firstTime: 1_772_445_600_000, lastTime: 1_772_445_600_500 }, { table: 'quote', rows: 0, firstTime: null, lastTime: null }],
      flushed: [{ day: '2026-03-01', rows: 9 }],
    };
    expect(decodePurview(decodeMessage(encodeMessage(encodePurview(p))).value)).toEqual(p);
  });
});

describe('RDB purview', () => {
  test('the time range follows appended rows and starts over after a clear', async () => {
    const store = new TableStore(DEFAULT_SCHEMA, [], []);
    const status = { name: 'r1', pool: 'p', state: 'live', day: '2026-03-02', window: { firstI: 0, lastI: null, lastProcessed: 0 }, flushed: [] } as unknown as RdbStatusFile;
    const b = rdbQueryBackend(store, () => status);
    const trade = async () => (await b.purview()).tables.find((t) => t.table === 'trade');
    expect(await trade()).toEqual({ table: 'trade', rows: 0, firstTime: null, lastTime: null });
    store.apply('trade', [[50, 40], ['A', 'B'], [1, 2], [1, 2]]);
    expect(await trade()).toEqual({ table: 'trade', rows: 2, firstTime: 40, lastTime: 50 });
    store.apply('trade', [[30, 60], ['A', 'B'], [1, 2], [1, 2]]);
    expect(await trade()).toEqual({ table: 'trade', rows: 4, firstTime: 30, lastTime: 60 });
    store.clear();
    store.apply('trade', [[70], ['A'], [1], [1]]);
    expect(await trade()).toEqual({ table: 'trade', rows: 1, firstTime: 70, lastTime: 70 });
  });
});

describe('gateway merge', () => {
  const part = (times: number[], syms: string[]): QTable => q.table({ time: q.timestamps(times.map((x) => BigInt(x))), sym: q.symbols(syms), n: q.longs(times) });
  test('parts in time order merge into one in time order; ties keep part order; asked columns only', () => {
    const m = mergeByTime([part([1, 5, 9], ['a', 'a', 'a']), part([2, 5, 6], ['b', 'b', 'b'])], ['sym', 'n']);
    expect(m.columns).toEqual(['sym', 'n']);
    expect(m.data[0]).toEqual(q.symbols(['a', 'b', 'a', 'b', 'b', 'a']));
    expect(m.data[1]).toEqual(q.longs([1, 2, 5, 5, 6, 9]));
  });

  test('another pool\'s syms are left out of a part', () => {
    expect(dropSyms(part([1, 2, 3], ['a', 'b', 'a']), new Set(['a'])).data[2]).toEqual(q.longs([2]));
  });
});
