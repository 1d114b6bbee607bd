// Interop with node-q 2.7.0 (npm, MIT, Michael Wittig), a kdb+ client
// nobody here wrote: what it serializes we decode to the value we expect
// and re-encode to the same bytes; what we encode (compressed too) it
// deserializes to the same values.

import { describe, expect, test } from '@jest/globals';
import { createRequire } from 'node:module';
import {
  atom,
  decodeMessage,
  encodeMessage,
  INF,
  NULL,
  q,
  timestampFromDate,
  vector,
  type QValue,
} from '../../ipc/src/index.ts';

const require = createRequire(import.meta.url);
type Serialize = (x: unknown) => Buffer;
type Deserialize = (b: Buffer, nanos2date?: boolean, flipTables?: boolean, emptyChar2null?: boolean, long2number?: boolean) => unknown;
const nq = require('node-q') as Record<string, (x: unknown) => unknown>;
const c = require('node-q/lib/c.js') as { serialize: Serialize; deserialize: Deserialize };
const typed = require('node-q/lib/typed.js') as { Typed: new (type: string, value: unknown, valuetype?: string) => unknown };
/** A node-q typed list without its argument checks, which refuse nulls and infinities its writer handles. */
const tl = (valuetype: string, values: unknown[]) => new typed.Typed('typedlist', values, valuetype);
const Long = createRequire(require.resolve('node-q'))('long') as { fromString(s: string): unknown };

/** node-q's reading of our bytes, with its lossy conversions off where it has a switch. */
const theirs = (b: Buffer, flipTables = false) => c.deserialize(b, false, flipTables, false, false);
const hexOf = (b: Buffer) => b.toString('hex');

const d = (iso: string) => new Date(iso);
const GUID = '8c680a01-5a49-5aab-5a65-d4bfddb6a661';

describe('node-q serializes, we decode, and we re-encode the same bytes', () => {
  const cases: [string, unknown, QValue][] = [
    ['boolean', nq.boolean!(true), q.boolean(true)],
    ['booleans', nq.booleans!([true, false, true]), vector('boolean', [true, false, true])],
    ['guid', nq.guid!(GUID), atom('guid', GUID)],
    ['guids with the null guid', tl('guid', [GUID, null]), vector('guid', [GUID, NULL.guid])],
    ['byte', nq.byte!(200 - 256), atom('byte', 200)],
    ['bytes', nq.bytes!([1, 2, 127]), vector('byte', [1, 2, 127])],
    ['short', nq.short!(-234), atom('short', -234)],
    ['shorts with null and infinities', tl('short', [1, null, Infinity, -Infinity]), vector('short', [1, NULL.short, INF.short, -INF.short])],
    ['int', nq.int!(1234567890), atom('int', 1234567890)],
    ['ints with null and infinities', tl('int', [1, null, Infinity, -Infinity]), q.ints([1, NULL.int, INF.int, -INF.int])],
    ['long past 2^53', nq.long!(Long.fromString('9007199254740993')), q.long(9007199254740993n)],
    ['longs with 0Nj 0Wj -0Wj', tl('long', [Long.fromString('-5'), null, Infinity, -Infinity]), q.longs([-5n, NULL.long, INF.long, -INF.long])],
    ['real', nq.real!(5.5), atom('real', 5.5)],
    ['reals with infinities', tl('real', [5.5, Infinity, -Infinity]), vector('real', [5.5, INF.real, -INF.real])],
    ['float', nq.float!(3.234), q.float(3.234)],
    ['floats with infinities', tl('float', [3.23, Infinity, -Infinity]), q.floats([3.23, INF.float, -INF.float])],
    ['char', nq.char!('x'), atom('char', 'x')],
    ['symbol', nq.symbol!('AAPL'), q.symbol('AAPL')],
    ['null symbol', nq.symbol!(null), q.symbol(NULL.symbol)],
    ['symbols', nq.symbols!(['a', 'bc', 'ünï']), q.symbols(['a', 'bc', 'ünï'])],
    ['string', 'quick brown fox', q.string('quick brown fox')],
    ['timestamp', nq.timestamp!(d('2000-01-04T05:36:57.600Z')), q.timestamp(279417600000000n)],
    ['timestamps with null', tl('timestamp', [d('2000-01-04T05:36:57.601Z'), null]), q.timestamps([timestampFromDate(d('2000-01-04T05:36:57.601Z')), NULL.timestamp])],
    ['month', nq.month!(d('2001-01-01T00:00:00Z')), atom('month', 12)],
    ['date', nq.date!(d('2001-01-01T00:00:00Z')), atom('date', 366)],
    ['dates with null', tl('date', [d('1979-10-12T00:00:00Z'), null]), vector('date', [-7386, NULL.date])],
    // node-q computes datetimes as ms / 86400000 - 10957, in floating point.
    ['datetime', nq.datetime!(d('2000-01-04T05:36:57.600Z')), atom('datetime', d('2000-01-04T05:36:57.600Z').getTime() / 86400000 - 10957)],
    ['timespan', nq.timespan!(d('2000-01-01T05:36:57.600Z')), atom('timespan', 20217600000000n)],
    ['minute', nq.minute!(d('2000-01-01T12:01:00Z')), atom('minute', 721)],
    ['second', nq.second!(d('2000-01-01T12:05:00Z')), atom('second', 43500)],
    ['time', nq.time!(d('2000-01-01T12:04:59.123Z')), atom('time', 43499123)],
    ['seconds with null', tl('second', [d('2000-01-01T12:05:00Z'), null]), vector('second', [43500, NULL.second])],
    ['general list', [1, 'abc', '`sym', nq.long!(Long.fromString('3')), null], q.list(q.float(1), q.string('abc'), q.symbol('sym'), q.long(3), q.identity())],
    ['dict', { a: 1, b: 2 }, q.dict(q.symbols(['a', 'b']), q.floats([1, 2]))],
    ['nested dict', { f: '`.u.upd', args: [nq.symbol!('trade'), { sym: nq.symbols!(['a']) }] }, q.dict(q.symbols(['f', 'args']), q.list(q.symbol('.u.upd'), q.list(q.symbol('trade'), q.dict(q.symbols(['sym']), q.list(q.symbols(['a'])))))) ],
  ];
  test.each(cases)('%s', (_n, js, expected) => {
    const bytes = c.serialize(js);
    expect(decodeMessage(bytes).value).toEqual(expected);
    expect(hexOf(encodeMessage(expected))).toBe(hexOf(bytes));
  });

  test('nulls of real, float and datetime: node-q sets the NaN sign bit where q does not; both are null to us, we keep the bits we got, and write q\'s for a new NaN', () => {
    for (const [js, type, qBytes] of [
      [tl('real', [null]), 'real', '0000c07f'],
      [tl('float', [null]), 'float', '000000000000f87f'],
      [tl('datetime', [null]), 'datetime', '000000000000f87f'],
    ] as const) {
      const bytes = c.serialize(js);
      const got = decodeMessage(bytes).value;
      expect(got).toEqual(vector(type, [Number.NaN]));
      expect(hexOf(bytes.subarray(14))).not.toBe(qBytes);
      expect(encodeMessage(got).equals(bytes)).toBe(true);
      expect(hexOf(encodeMessage(vector(type, [Number.NaN])).subarray(14))).toBe(qBytes);
    }
  });
});

describe('we encode, node-q deserializes', () => {
  test('node-q computes timestamps from Dates in floating point, so far from 2000 it is off by tens of nanoseconds; we are exact', () => {
    const day = d('2026-12-02T00:00:00.123Z');
    const got = decodeMessage(c.serialize(nq.timestamp!(day))).value as { value: bigint };
    expect(timestampFromDate(day)).toBe(849484800123000000n);
    expect(got.value).not.toBe(849484800123000000n);
    expect(Number(got.value - 849484800123000000n)).toBeLessThan(1000);
  });

  test('atoms and vectors', () => {
    expect(theirs(encodeMessage(q.long(9007199254740993n)))?.toString()).toBe('9007199254740993');
    expect((theirs(encodeMessage(q.longs([1n, NULL.long, INF.long, -INF.long]))) as unknown[]).map(String)).toEqual(['1', 'null', 'Infinity', '-Infinity']);
    expect(theirs(encodeMessage(q.ints([1, NULL.int, INF.int])))).toEqual([1, null, Infinity]);
    expect(theirs(encodeMessage(q.floats([1.5, NULL.float, -INF.float])))).toEqual([1.5, null, -Infinity]);
    expect(theirs(encodeMessage(q.symbols(['a', '', 'ünï'])))).toEqual(['a', null, 'ünï']);
    expect(theirs(encodeMessage(q.string('hello')))).toBe('hello');
    expect(theirs(encodeMessage(vector('guid', [GUID])))).toEqual([GUID]);
    expect(theirs(encodeMessage(vector('boolean', [true, false])))).toEqual([true, false]);
    expect(theirs(encodeMessage(atom('date', 366)))).toEqual(d('2001-01-01T00:00:00Z'));
    expect(theirs(encodeMessage(atom('month', 12)))).toEqual(d('2001-01-01T00:00:00Z'));
    expect(theirs(encodeMessage(q.timestamp(279417600000000n)))).toBe(946684800000000000 + 279417600000000);
    expect(String(theirs(encodeMessage(atom('timespan', 20217600000000n))))).toBe('20217600000000');
    expect(theirs(encodeMessage(q.identity()))).toBeNull();
  });

  test('dictionaries, tables (flipped to rows) and keyed tables', () => {
    expect(theirs(encodeMessage(q.dict(q.symbols(['a', 'b']), q.list(q.long(1), q.string('x'))))))
      .toEqual({ a: expect.anything(), b: 'x' });
    const t = q.table({ sym: q.symbols(['AAPL', 'MSFT']), px: q.floats([1.5, 2.5]), n: q.ints([1, 2]) });
    expect(theirs(encodeMessage(t), true)).toEqual([
      { sym: 'AAPL', px: 1.5, n: 1 },
      { sym: 'MSFT', px: 2.5, n: 2 },
    ]);
    const kt = q.keyedTable(q.table({ k: q.symbols(['a', 'b']) }), q.table({ v: q.ints([1, 2]) }));
    expect(theirs(encodeMessage(kt), true)).toEqual([[{ k: 'a' }, { k: 'b' }], [{ v: 1 }, { v: 2 }]]);
  });

  test('an error message', () => {
    expect(() => theirs(encodeMessage(q.error('rdb-2 unreachable')))).toThrow('rdb-2 unreachable');
  });

  test('our compressed messages decompress with node-q\'s decompressor to the same values', () => {
    const n = 4000;
    const t = q.table({
      time: q.timestamps(Array.from({ length: n }, (_, i) => 851213371000000000n + BigInt(i) * 1000n)),
      sym: q.symbols(Array.from({ length: n }, (_, i) => ['AAPL', 'MSFT', 'IBM'][i % 3]!)),
      px: q.floats(Array.from({ length: n }, (_, i) => 100 + (i % 17) / 4)),
      size: q.ints(Array.from({ length: n }, (_, i) => (i * 7) % 1000)),
    });
    const packed = encodeMessage(t, { compress: true });
    const plain = encodeMessage(t);
    expect(packed[2]).toBe(1);
    expect(packed.length).toBeLessThan(plain.length / 2);
    const rows = theirs(packed, true) as { sym: string; px: number; size: number }[];
    const rowsPlain = theirs(plain, true);
    expect(rows).toHaveLength(n);
    expect(rows).toEqual(rowsPlain);
    expect(rows[4]).toMatchObject({ sym: 'MSFT', px: 101, size: 28 });
  });
});
