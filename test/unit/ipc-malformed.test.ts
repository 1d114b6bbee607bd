// Malformed and hostile messages are refused with an IpcDecodeError naming
// the reason, never another exception, a crash, a hang or an allocation the
// peer sized: truncated frames, bad lengths, unknown type bytes, bad
// attributes, bad compression, nesting bombs, and seeded random mutations.

import { describe, expect, test } from '@jest/globals';
import { mulberry32 } from '../../images/sim/src/feed/generator.ts';
import {
  BASIC_TYPE_BY_CODE,
  decodeMessage,
  encodeMessage,
  IpcDecodeError,
  NULL,
  q,
  type DecodeReason,
  type QValue,
} from '../../ipc/src/index.ts';

function reasonOf(f: () => unknown): DecodeReason | 'none' | string {
  try {
    f();
    return 'none';
  } catch (e) {
    if (e instanceof IpcDecodeError) return e.reason;
    return `not an IpcDecodeError: ${String(e)}`;
  }
}

/** A little-endian message around `body`, with the header's length set to the bytes given. */
function msg(body: Buffer | number[], opts: { type?: number; compressed?: boolean; length?: number } = {}): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const m = Buffer.alloc(8 + b.length);
  m[0] = 1;
  m[1] = opts.type ?? 0;
  m[2] = opts.compressed ? 1 : 0;
  m.writeUInt32LE(opts.length ?? m.length, 4);
  b.copy(m, 8);
  return m;
}

const i32 = (n: number) => [...Buffer.from(Int32Array.of(n).buffer)];

const trade = q.table({
  time: q.timestamps([1n, 2n, 3n]),
  sym: q.symbols(['AAPL', 'MSFT', 'AAPL']),
  price: q.floats([1.5, NULL.float, 3]),
  cond: q.list(q.string('A'), q.string(''), q.string('BC')),
});
const SAMPLES: [string, QValue][] = [
  ['table', trade],
  ['keyed table', q.keyedTable(q.table({ k: q.symbols(['a', 'b']) }), q.table({ v: q.longs([1, 2]) }))],
  ['.u.upd call', q.list(q.symbol('.u.upd'), q.symbol('trade'), trade)],
  ['dictionary', q.dict(q.symbols(['table', 'syms']), q.list(q.symbol('trade'), q.symbols(['AAPL'])))],
  ['guids and error', q.list(q.error('boom'), q.list(), q.identity())],
];

describe('truncated messages', () => {
  test.each(SAMPLES)('%s: every prefix is refused as truncated, header length as sent or patched to match', (_n, v) => {
    const full = encodeMessage(v);
    for (let n = 0; n < full.length; n++) {
      const cut = Buffer.from(full.subarray(0, n));
      expect(reasonOf(() => decodeMessage(cut))).toMatch(/^(truncated|bad-length)$/);
      if (n >= 9) {
        cut.writeUInt32LE(n, 4);
        expect(reasonOf(() => decodeMessage(cut))).toMatch(/^(truncated|bad-shape)$/);
      }
    }
  });

  test('a compressed message cut short at every length is refused', () => {
    const big = encodeMessage(q.symbols(Array(2000).fill('AAPL')), { compress: true });
    expect(big[2]).toBe(1);
    for (let n = 9; n < big.length; n++) {
      const cut = Buffer.from(big.subarray(0, n));
      cut.writeUInt32LE(n, 4);
      expect(reasonOf(() => decodeMessage(cut))).toBe('bad-compression');
    }
  });
});

describe('headers', () => {
  const ok = encodeMessage(q.long(1));
  test.each<[string, (b: Buffer) => void, DecodeReason]>([
    ['length 0', (b) => b.writeUInt32LE(0, 4), 'bad-length'],
    ['length 7', (b) => b.writeUInt32LE(7, 4), 'bad-length'],
    ['length 8 (a header and no value)', (b) => b.writeUInt32LE(8, 4), 'bad-length'],
    ['length above the maximum', (b) => b.writeUInt32LE(0xffffffff, 4), 'oversize'],
    ['length larger than the bytes given', (b) => b.writeUInt32LE(b.length + 1, 4), 'truncated'],
    ['length smaller than the bytes given', (b) => b.writeUInt32LE(b.length - 1, 4), 'trailing-bytes'],
    ['endianness byte 2', (b) => (b[0] = 2), 'bad-header'],
    ['message type 3', (b) => (b[1] = 3), 'bad-header'],
    ['compression flag 2', (b) => (b[2] = 2), 'bad-header'],
  ])('%s', (_n, mutate, reason) => {
    const b = Buffer.from(ok);
    mutate(b);
    expect(reasonOf(() => decodeMessage(b))).toBe(reason);
  });

  test('maxMessageSize is enforced on the header before the body is looked at', () => {
    const big = encodeMessage(q.longs(Array(200).fill(1)));
    expect(reasonOf(() => decodeMessage(big, { maxMessageSize: 1000 }))).toBe('oversize');
    expect(reasonOf(() => decodeMessage(big, { maxMessageSize: big.length }))).toBe('none');
  });

  test('bytes left after the value, within the declared length', () => {
    expect(reasonOf(() => decodeMessage(msg([0xf9, ...Array(8).fill(0), 0xff])))).toBe('trailing-bytes');
  });
});

describe('type, attribute and count bytes', () => {
  const known = new Set<number>([0, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 127, -128]);
  for (const code of BASIC_TYPE_BY_CODE.keys()) {
    known.add(code);
    known.add(-code);
  }
  test('every type byte the wire does not carry is refused as unknown-type', () => {
    const unknown: number[] = [];
    for (let t = -128; t <= 127; t++) if (!known.has(t)) unknown.push(t);
    expect(unknown).toContain(3);
    expect(unknown).toContain(-3);
    expect(unknown).toContain(20); // enumerations are sent as their values
    expect(unknown).toContain(77);
    expect(unknown).toContain(112); // foreign
    for (const t of unknown) expect([t, reasonOf(() => decodeMessage(msg([t & 0xff, ...Array(16).fill(0)])))]).toEqual([t, 'unknown-type']);
  });

  test('an attribute byte above 4', () => {
    expect(reasonOf(() => decodeMessage(msg([0x07, 5, ...i32(0)])))).toBe('bad-attribute');
    expect(reasonOf(() => decodeMessage(msg([0x00, 9, ...i32(0)])))).toBe('bad-attribute');
    expect(reasonOf(() => decodeMessage(msg([0x62, 7, 0x63])))).toBe('bad-attribute');
  });

  test('negative counts', () => {
    expect(reasonOf(() => decodeMessage(msg([0x07, 0, ...i32(-1)])))).toBe('bad-length');
    expect(reasonOf(() => decodeMessage(msg([0x00, 0, ...i32(-5)])))).toBe('bad-length');
    expect(reasonOf(() => decodeMessage(msg([0x68, ...i32(-2)])))).toBe('bad-length');
  });

  test('counts far beyond the message are refused before anything is allocated for them', () => {
    for (const t of [0x00, 0x02, 0x07, 0x0a, 0x0b, 0x01]) {
      expect(reasonOf(() => decodeMessage(msg([t, 0, ...i32(0x7fffffff)])))).toBe('truncated');
    }
    expect(reasonOf(() => decodeMessage(msg([0x68, ...i32(0x7fffffff)])))).toBe('truncated');
  });

  test('a symbol or error without its NUL', () => {
    expect(reasonOf(() => decodeMessage(msg([0xf5, 0x61, 0x62])))).toBe('truncated');
    expect(reasonOf(() => decodeMessage(msg([0x80, 0x61])))).toBe('truncated');
    expect(reasonOf(() => decodeMessage(msg([0x0b, 0, ...i32(2), 0x61, 0, 0x62])))).toBe('truncated');
  });
});

describe('shapes', () => {
  const sym = (s: string) => [...Buffer.from(s), 0];
  test.each<[string, number[]]>([
    ['a table around a sorted dictionary', [0x62, 0, 0x7f, 0x0b, 0, ...i32(1), ...sym('a'), 0, 0, ...i32(1), 0x07, 0, ...i32(0)]],
    ['a table around a symbol vector', [0x62, 0, 0x0b, 0, ...i32(1), ...sym('a')]],
    ['a table whose names are longs', [0x62, 0, 0x63, 0x07, 0, ...i32(1), ...Array(8).fill(0), 0, 0, ...i32(1), 0x07, 0, ...i32(0)]],
    ['a table whose columns are a long vector', [0x62, 0, 0x63, 0x0b, 0, ...i32(1), ...sym('a'), 0x07, 0, ...i32(1), ...Array(8).fill(0)]],
    ['a table of 2 names and 1 column', [0x62, 0, 0x63, 0x0b, 0, ...i32(2), ...sym('a'), ...sym('b'), 0, 0, ...i32(1), 0x07, 0, ...i32(0)]],
    [
      'a table of ragged columns',
      [0x62, 0, 0x63, 0x0b, 0, ...i32(2), ...sym('a'), ...sym('b'), 0, 0, ...i32(2), 0x07, 0, ...i32(0), 0x07, 0, ...i32(1), ...Array(8).fill(0)],
    ],
    ['a table column that is an atom', [0x62, 0, 0x63, 0x0b, 0, ...i32(1), ...sym('a'), 0, 0, ...i32(1), 0xf9, ...Array(8).fill(0)]],
    ['a dictionary of 2 keys and 1 value', [0x63, 0x0b, 0, ...i32(2), ...sym('a'), ...sym('b'), 0x07, 0, ...i32(1), ...Array(8).fill(0)]],
    ['a lambda whose body is a symbol', [0x64, 0, 0xf5, ...sym('x')]],
  ])('%s', (_n, body) => expect(reasonOf(() => decodeMessage(msg(body)))).toBe('bad-shape'));
});

describe('compression', () => {
  const plain = encodeMessage(q.symbols(Array(1000).fill('q')));
  const packed = encodeMessage(q.symbols(Array(1000).fill('q')), { compress: true });
  const withSize = (size: number) => {
    const b = Buffer.from(packed);
    b.writeUInt32LE(size, 8);
    return b;
  };
  test('the sample compresses and decodes', () => {
    expect(packed[2]).toBe(1);
    expect(decodeMessage(packed).value).toEqual(decodeMessage(plain).value);
  });
  test('a declared size smaller than the data makes (a back-reference runs past it)', () => {
    expect(reasonOf(() => decodeMessage(withSize(plain.length - 5)))).toBe('bad-compression');
  });
  test('a declared size larger than the data makes (the data runs out)', () => {
    expect(reasonOf(() => decodeMessage(withSize(plain.length + 5)))).toBe('bad-compression');
  });
  test('a declared size of a header or less, or above the maximum', () => {
    expect(reasonOf(() => decodeMessage(withSize(8)))).toBe('bad-compression');
    expect(reasonOf(() => decodeMessage(withSize(0)))).toBe('bad-compression');
    expect(reasonOf(() => decodeMessage(withSize(0x7fffffff)))).toBe('oversize');
    expect(reasonOf(() => decodeMessage(packed, { maxMessageSize: plain.length - 1 }))).toBe('oversize');
  });
  test('a back-reference to a position nothing has been hashed to', () => {
    // flags 0b1: the first item is a back-reference, before any byte exists to refer to.
    const b = msg([...i32(20), 0x01, 0x00, 0x00, ...Array(10).fill(0)], { compressed: true });
    expect(reasonOf(() => decodeMessage(b))).toBe('bad-compression');
    expect(() => decodeMessage(b)).toThrow(/back-reference to position 0/);
  });
  test('bytes left over after the data has made the declared size', () => {
    const b = Buffer.concat([packed, Buffer.of(0, 0, 0)]);
    b.writeUInt32LE(b.length, 4);
    expect(reasonOf(() => decodeMessage(b))).toBe('bad-compression');
  });
  test('a bomb: a small message declaring a large size is refused by the cap, not allocated', () => {
    const b = msg([...i32(200 * 1024 * 1024), 0xff, ...Array(20).fill(0)], { compressed: true });
    expect(reasonOf(() => decodeMessage(b, { maxMessageSize: 64 * 1024 * 1024 }))).toBe('oversize');
  });
});

describe('nesting', () => {
  const nested = (depth: number, open: number[]) => {
    const parts: number[] = [];
    for (let i = 0; i < depth; i++) parts.push(...open);
    parts.push(0x65, 0x00);
    return Buffer.from(parts);
  };
  test('a million nested one-item lists is refused at the depth cap, quickly and without a stack overflow', () => {
    const bomb = msg(nested(1_000_000, [0x00, 0x00, ...i32(1)]));
    expect(reasonOf(() => decodeMessage(bomb))).toBe('too-deep');
  });
  test('nested dictionaries and tables count toward the cap too', () => {
    expect(reasonOf(() => decodeMessage(msg(nested(10_000, [0x63, 0x65, 0x00]))))).toBe('too-deep');
    expect(reasonOf(() => decodeMessage(msg(nested(10_000, [0x6a]))))).toBe('too-deep');
  });
  test('the cap is configurable, and a value within it decodes', () => {
    const v = msg(nested(5, [0x00, 0x00, ...i32(1)]));
    expect(reasonOf(() => decodeMessage(v, { maxDepth: 5 }))).toBe('too-deep');
    expect(reasonOf(() => decodeMessage(v, { maxDepth: 6 }))).toBe('none');
    expect(reasonOf(() => decodeMessage(v))).toBe('none');
  });
});

describe('seeded random mutations', () => {
  // The feed's mulberry32: a fixed seed gives the same cases every run.
  const rng = mulberry32;
  const seeds = [
    ...SAMPLES.map(([, v]) => encodeMessage(v)),
    encodeMessage(q.symbols(Array(800).fill('AAPL')), { compress: true }),
    encodeMessage(q.table({ a: q.longs(Array.from({ length: 300 }, (_, i) => i)), s: q.symbols(Array(300).fill('x')) }), { compress: true }),
  ];
  test('5000 mutated messages each decode or are refused with an IpcDecodeError', () => {
    const next = rng(20261202);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(seeds[i % seeds.length]!);
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) {
        const at = 8 + Math.floor(next() * (b.length - 8)); // keep the header, so the body gets exercised
        b[at] = Math.floor(next() * 256);
      }
      const r = reasonOf(() => decodeMessage(b, { maxMessageSize: 1 << 20 }));
      expect(r).not.toMatch(/^not an IpcDecodeError/);
      outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    }
    // The mutations reach both outcomes, so the loop is not vacuous.
    expect(outcomes.get('none')).toBeGreaterThan(0);
    expect([...outcomes.keys()].filter((k) => k !== 'none').length).toBeGreaterThan(3);
  });
  test('2000 random bodies behind a valid header each decode or are refused', () => {
    const next = rng(7);
    for (let i = 0; i < 2000; i++) {
      const body = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
      const r = reasonOf(() => decodeMessage(msg(body, { compressed: next() < 0.3 })));
      expect(r).not.toMatch(/^not an IpcDecodeError/);
    }
  });
});
