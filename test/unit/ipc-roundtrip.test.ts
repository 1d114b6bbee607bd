// Every basic type as atom and vector, with its nulls and infinities, and
// every container, survives encode -> decode -> encode unchanged; big-endian
// messages decode; values q could not hold are refused naming the field.

import { describe, expect, test } from '@jest/globals';
import {
  atom,
  compress,
  dateFromIso,
  dateToIso,
  decodeMessage,
  encodeMessage,
  INF,
  IpcEncodeError,
  isInfinite,
  isNull,
  monthOf,
  NULL,
  q,
  timestampFromDate,
  timestampFromUnixNanos,
  timestampToDate,
  timestampToUnixNanos,
  TYPE_CODE,
  vector,
  type AtomValues,
  type BasicType,
  type QValue,
} from '../../ipc/src/index.ts';

function roundTrip(v: QValue, messageType: 'async' | 'sync' | 'response' = 'response'): Buffer {
  const bytes = encodeMessage(v, { messageType });
  const m = decodeMessage(bytes);
  expect(m.messageType).toBe(messageType);
  expect(m.littleEndian).toBe(true);
  expect(m.value).toEqual(v);
  expect(encodeMessage(m.value, { messageType }).equals(bytes)).toBe(true);
  return bytes;
}

/** Sample values per type: ordinary ones, then null, +inf, -inf where the type has them. */
const SAMPLES: { [T in BasicType]: AtomValues[T][] } = {
  boolean: [true, false],
  guid: ['8c680a01-5a49-5aab-5a65-d4bfddb6a661', 'ffffffff-0000-ffff-0000-ffffffffffff', NULL.guid],
  byte: [0, 1, 127, 128, 255],
  short: [0, -1, 12345, NULL.short, INF.short, -INF.short],
  int: [0, -1, 1234567890, NULL.int, INF.int, -INF.int],
  long: [0n, -1n, 9007199254740993n, -9007199254740993n, NULL.long, INF.long, -INF.long],
  real: [0, -1.5, 3.25, NULL.real, INF.real, -INF.real],
  float: [0, -0.1, 1e300, Number.MIN_VALUE, NULL.float, INF.float, -INF.float],
  char: ['a', ' ', '\n', '\u00ff'],
  symbol: ['', 'AAPL', 'a b', 'ünï', '.u.upd'],
  timestamp: [0n, 851213371123456789n, -1n, NULL.timestamp, INF.timestamp, -INF.timestamp],
  month: [0, 12, -1, NULL.month, INF.month, -INF.month],
  date: [0, 9832, -7386, NULL.date, INF.date, -INF.date],
  datetime: [0, 3.234, -0.5, NULL.datetime, INF.datetime, -INF.datetime],
  timespan: [0n, 20217600000001n, -86400000000000n, NULL.timespan, INF.timespan, -INF.timespan],
  minute: [0, 721, NULL.minute, INF.minute, -INF.minute],
  second: [0, 43500, NULL.second, INF.second, -INF.second],
  time: [0, 43499123, NULL.time, INF.time, -INF.time],
};

const TYPES = Object.keys(SAMPLES) as BasicType[];

describe('atoms and vectors of every basic type', () => {
  test('all 18 basic types are sampled', () => expect(TYPES.sort()).toEqual(Object.keys(TYPE_CODE).sort()));

  test.each(TYPES)('%s atoms, including nulls and infinities', (type) => {
    for (const v of SAMPLES[type]) {
      const bytes = roundTrip(atom(type, v as never));
      expect(bytes[8]).toBe(256 - TYPE_CODE[type]);
    }
  });

  test.each(TYPES)('%s vectors: empty, samples, and every attribute', (type) => {
    const values = type === 'char' ? (SAMPLES.char as string[]).join('') : SAMPLES[type];
    roundTrip(vector(type, (type === 'char' ? '' : []) as never));
    const bytes = roundTrip(vector(type, values as never));
    expect(bytes[8]).toBe(TYPE_CODE[type]);
    for (const attr of ['s', 'u', 'p', 'g'] as const) {
      const b = roundTrip(vector(type, values as never, attr));
      expect(b[9]).toBe({ s: 1, u: 2, p: 3, g: 4 }[attr]);
    }
  });

  test('infinities and nulls have the bytes q gives them', () => {
    const body = (v: QValue) => encodeMessage(v).subarray(8).toString('hex');
    expect(body(q.long(INF.long))).toBe('f9ffffffffffffff7f'); // 0Wj
    expect(body(q.long(-INF.long))).toBe('f90100000000000080'); // -0Wj
    expect(body(q.long(NULL.long))).toBe('f90000000000000080'); // 0Nj
    expect(body(q.float(INF.float))).toBe('f7000000000000f07f'); // 0w
    expect(body(q.float(-INF.float))).toBe('f7000000000000f0ff'); // -0w
    expect(body(q.float(NULL.float))).toBe('f7000000000000f87f'); // 0n
    expect(body(atom('int', INF.int))).toBe('faffffff7f'); // 0Wi
    expect(body(atom('short', -INF.short))).toBe('fb0180'); // -0Wh
    expect(body(q.timestamp(NULL.timestamp))).toBe('f40000000000000080'); // 0Np
    expect(body(q.timestamp(INF.timestamp))).toBe('f4ffffffffffffff7f'); // 0Wp
  });

  test('isNull and isInfinite read the sentinels per type', () => {
    expect(isNull('long', NULL.long)).toBe(true);
    expect(isNull('long', 0n)).toBe(false);
    expect(isNull('float', Number.NaN)).toBe(true);
    expect(isNull('symbol', '')).toBe(true);
    expect(isNull('boolean', false)).toBe(false);
    expect(isInfinite('timestamp', -INF.timestamp)).toBe(true);
    expect(isInfinite('int', NULL.int)).toBe(false);
    expect(isInfinite('real', Number.NEGATIVE_INFINITY)).toBe(true);
  });

  test('a long keeps every bit past 2^53 and a timestamp keeps its nanoseconds', () => {
    const m = decodeMessage(encodeMessage(q.list(q.long(2n ** 62n + 1n), q.timestamp(851213371123456789n))));
    expect(m.value).toEqual(q.list(q.long(4611686018427387905n), q.timestamp(851213371123456789n)));
  });

  test('UTF-8 text in symbols and char vectors, counted in bytes on the wire', () => {
    const bytes = roundTrip(q.string('ünï'));
    expect(bytes.readInt32LE(10)).toBe(5);
    roundTrip(q.table({ s: q.string('é') })); // a 1-row column whose one byte-pair is one character
  });
});

describe('containers', () => {
  const trade = q.table({
    time: q.timestamps([1n, 2n, 3n]),
    sym: q.symbols(['AAPL', 'MSFT', 'AAPL'], 'g'),
    price: q.floats([1.5, NULL.float, 3]),
    size: q.longs([100, 200, NULL.long]),
    cond: q.list(q.string('A'), q.string(''), q.string('BC')),
  });

  test.each<[string, QValue]>([
    ['empty general list', q.list()],
    ['nested general lists', q.list(q.list(q.list(q.long(1)), q.identity()), q.symbol('x'))],
    ['dictionary of symbols to a general list', q.dict(q.symbols(['a', 'b']), q.list(q.long(1), q.string('two')))],
    ['sorted dictionary', { kind: 'dict', keys: q.symbols(['a', 'b'], 's'), values: q.ints([1, 2]), sorted: true }],
    ['dictionary with atom key and value', q.dict(q.long(1), q.symbol('x'))],
    ['table', trade],
    ['empty table', q.table({ a: q.longs([]), b: q.symbols([]) })],
    ['table with the sorted attribute', q.table({ a: q.longs([1, 2], 'p') }, 's')],
    ['keyed table', q.keyedTable(q.table({ sym: q.symbols(['a', 'b']) }), q.table({ px: q.floats([1, 2]), n: q.ints([3, 4]) }))],
    ['error', q.error('rdb-2 unreachable')],
    ['identity (::)', q.identity()],
    ['a .u.upd call: (`.u.upd; `trade; table)', q.list(q.symbol('.u.upd'), q.symbol('trade'), trade)],
    ['a .u.upd call with a list of columns', q.list(q.symbol('.u.upd'), q.symbol('trade'), q.list(...trade.data))],
    ['lambda', { kind: 'lambda', context: '', body: '{x+y}' }],
  ])('%s', (_name, v) => {
    for (const mt of ['async', 'sync', 'response'] as const) roundTrip(v, mt);
  });

  test('a large message compresses only when asked, and decodes the same either way', () => {
    const big = q.table({ sym: q.symbols(Array(5000).fill('AAPL')), px: q.floats(Array(5000).fill(1.25)) });
    const plain = encodeMessage(big);
    const packed = encodeMessage(big, { compress: true });
    expect(packed[2]).toBe(1);
    expect(packed.length * 2).toBeLessThanOrEqual(plain.length);
    expect(decodeMessage(packed).value).toEqual(big);
    expect(decodeMessage(packed).compressed).toBe(true);
  });

  test('a message of 2000 bytes or less, or one that does not halve, goes uncompressed', () => {
    const small = q.symbols(Array(300).fill('q')); // 1814 bytes
    expect(encodeMessage(small, { compress: true })[2]).toBe(0);
    let seed = 7;
    const noise = vector('byte', Array.from({ length: 4000 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 16) & 255));
    const out = encodeMessage(noise, { compress: true });
    expect(out[2]).toBe(0);
    expect(out.equals(encodeMessage(noise))).toBe(true);
  });
});

describe('big-endian messages (header byte 0 = 0) decode', () => {
  const be = (h: string) => decodeMessage(Buffer.from(h.replaceAll(' ', ''), 'hex'));
  test('int atom, as c.java sends it', () => {
    expect(be('00 01 00 00 0000000d fa 00000001')).toMatchObject({ littleEndian: false, messageType: 'sync', value: atom('int', 1) });
  });
  test('long vector with a null, float and short atoms, timestamp', () => {
    expect(be('00 00 00 00 0000001e 07 00 00000002 0000000000000001 8000000000000000').value).toEqual(q.longs([1, NULL.long]));
    expect(be('00 02 00 00 00000011 f7 400de5604189374c').value).toEqual(q.float(3.737));
    expect(be('00 02 00 00 0000000b fb ff16').value).toEqual(atom('short', -234));
    expect(be('00 02 00 00 00000011 f4 0000fe20facac000').value).toEqual(q.timestamp(279417600000000n));
  });
  test('a compressed big-endian message: sizes are read big-endian too', () => {
    const body = Buffer.concat([Buffer.from('0b0000000' + '3e8', 'hex'), Buffer.from('q\0'.repeat(1000), 'latin1')]);
    const plain = Buffer.concat([Buffer.from([0, 2, 0, 0, 0, 0, 0, 0]), body]);
    plain.writeUInt32BE(plain.length, 4);
    expect(decodeMessage(plain).value).toEqual(q.symbols(Array(1000).fill('q')));
    const packed = Buffer.from(compress(plain)!);
    expect(packed.readUInt32BE(4)).toBe(packed.length);
    expect(packed.readUInt32BE(8)).toBe(plain.length);
    expect(decodeMessage(packed)).toMatchObject({ littleEndian: false, compressed: true, value: q.symbols(Array(1000).fill('q')) });
  });

  test('a table of an int and a symbol column; guids keep their byte order', () => {
    const t = be('00 02 00 00 0000002d 62 00 63 0b 00 00000002 6100 6200 00 00 00000002 06 00 00000001 00000002 0b 00 00000001 7800');
    expect(t.value).toEqual(q.table({ a: q.ints([2]), b: q.symbols(['x']) }));
    expect(be('00 02 00 00 00000019 fe 8c680a015a495aab5a65d4bfddb6a661').value).toEqual(atom('guid', '8c680a01-5a49-5aab-5a65-d4bfddb6a661'));
  });
});

describe('values q cannot hold are refused, naming the field', () => {
  const refuse = (v: unknown, path: RegExp, what: RegExp) => {
    let err: unknown;
    try {
      encodeMessage(v as QValue);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpcEncodeError);
    expect((err as IpcEncodeError).path).toMatch(path);
    expect((err as Error).message).toMatch(what);
  };
  test.each<[string, unknown, RegExp, RegExp]>([
    ['int out of range', q.list(q.long(1), atom('int', 2 ** 31)), /^value\.values\[1\]\.value$/, /integer in -2147483648\.\.2147483647/],
    ['long given as a number', { kind: 'atom', type: 'long', value: 5 }, /^value\.value$/, /bigint/],
    ['a fractional short', atom('short', 1.5), /value/, /integer/],
    ['byte 256 in a Uint8Array-backed vector', { kind: 'vector', type: 'byte', values: [1, 256] }, /values\[1\]/, /0\.\.255/],
    ['symbol with NUL', q.symbols(['ok', 'a\0b']), /values\[1\]/, /NUL/],
    ['char atom of two characters', atom('char', 'ab'), /value/, /one-character/],
    ['bad guid', atom('guid', 'not-a-guid'), /value/, /32 hex digits/],
    ['ragged table', q.table({ a: q.longs([1, 2]), b: q.longs([1]) }), /data\[1\]/, /column b has 1 rows where the columns before it have 2/],
    ['table column that is an atom', q.table({ a: q.long(1) }), /data\[0\]/, /vector or general list/],
    ['dictionary of 2 keys and 3 values', q.dict(q.symbols(['a', 'b']), q.longs([1, 2, 3])), /^value$/, /2 keys but 3 values/],
    ['keyed table of mismatched rows', q.keyedTable(q.table({ k: q.longs([1]) }), q.table({ v: q.longs([1, 2]) })), /^value$/, /1 key rows but 2 value rows/],
    ['unknown kind', { kind: 'bogus' }, /kind/, /unknown value kind/],
    ['a long vector stored as Int32Array', { kind: 'vector', type: 'long', values: new Int32Array(2) }, /values/, /BigInt64Array/],
  ])('%s', (_n, v, path, what) => refuse(v, path, what));

  test('the builders refuse what a typed array would wrap or truncate', () => {
    expect(() => vector('byte', [1, 256])).toThrow(/values\[1\]: 256 does not fit type byte/);
    expect(() => vector('int', [1.5])).toThrow(/does not fit type int/);
    expect(() => vector('long', [2n ** 63n])).toThrow(/does not fit type long/);
    expect(() => vector('long', [1 as never])).toThrow(/must be a bigint/);
  });

  test('a cycle stops at the depth cap instead of overflowing the stack', () => {
    const l: { kind: 'list'; values: QValue[] } = { kind: 'list', values: [] };
    l.values.push(l);
    refuse(l, /values\[0\]/, /deeper than the maximum of 64/);
  });
});

describe('temporal helpers', () => {
  test('kdb+ epoch conversions', () => {
    expect(timestampFromDate(new Date('2000-01-04T05:36:57.600Z'))).toBe(279417600000000n);
    expect(timestampToDate(279417600000001n).toISOString()).toBe('2000-01-04T05:36:57.600Z');
    expect(timestampToDate(-1n).toISOString()).toBe('1999-12-31T23:59:59.999Z');
    expect(timestampToUnixNanos(timestampFromUnixNanos(1764633600123456789n))).toBe(1764633600123456789n);
    expect(dateFromIso('2001-01-01')).toBe(366);
    expect(dateToIso(-7386)).toBe('1979-10-12');
    expect(monthOf(2001, 1)).toBe(12);
    expect(() => dateFromIso('2001-1-1')).toThrow(/YYYY-MM-DD/);
  });
});
