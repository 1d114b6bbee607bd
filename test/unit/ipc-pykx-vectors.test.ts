// Bytes from KX's own serializer: PyKX 4.2.0 (PyPI) in unlicensed mode,
// kx.serialize(kx.toq(...), mode=3), which calls the kdb+ C library's b9 and
// needs no q process or licence. Recorded once (the project carries no
// Python dependency); each decodes to the value we expect and re-encodes to
// the same bytes.

import { describe, expect, test } from '@jest/globals';
import {
  atom,
  decodeMessage,
  encodeMessage,
  INF,
  NULL,
  q,
  timestampFromUnixNanos,
  vector,
  type QValue,
} from '../../ipc/src/index.ts';

const unixNs = (iso: string, extraNs: bigint) => BigInt(Date.parse(iso)) * 1_000_000n + extraNs;

const cases: [string, string, QValue][] = [
  ['boolean vector', '0100000011000000010003000000010001', vector('boolean', [true, false, true])],
  ['byte vector', '0100000011000000040003000000007fff', vector('byte', [0, 127, 255])],
  ['short vector 1 0Nh 0Wh -0Wh', '010000001600000005000400000001000080ff7f0180', vector('short', [1, NULL.short, INF.short, -INF.short])],
  ['int vector 1 0Ni 0Wi -0Wi', '010000001e0000000600040000000100000000000080ffffff7f01000080', q.ints([1, NULL.int, INF.int, -INF.int])],
  ['long vector 1 0Nj 0Wj -0Wj', '010000002e00000007000400000001000000000000000000000000000080ffffffffffffff7f0100000000000080', q.longs([1n, NULL.long, INF.long, -INF.long])],
  ['long 9007199254740993 (2^53+1)', '0100000011000000f90100000000002000', q.long(9007199254740993n)],
  ['real vector 1.5 0Ne 0We -0We', '010000001e0000000800040000000000c03f0000c07f0000807f000080ff', vector('real', [1.5, NULL.real, INF.real, -INF.real])],
  ['float vector 1.5 0n 0w -0w', '010000002e000000090004000000000000000000f83f000000000000f87f000000000000f07f000000000000f0ff', q.floats([1.5, NULL.float, INF.float, -INF.float])],
  ['guid vector', '010000002e0000000200020000008c680a015a495aab5a65d4bfddb6a66100000000000000000000000000000000', vector('guid', ['8c680a01-5a49-5aab-5a65-d4bfddb6a661', NULL.guid])],
  ['char vector', '01000000130000000a000500000068656c6c6f', q.string('hello')],
  ['symbol vector with null', '01000000190000000b00030000004141504c00004d53465400', q.symbols(['AAPL', '', 'MSFT'])],
  ['timestamp 2000.01.04D05:36:57.600000001', '0100000011000000f401c0cafa20fe0000', q.timestamp(279417600000001n)],
  [
    'timestamp vector 2026.12.02D09:30:00.123456789 1999.12.31D23:59:59.999999999',
    '010000001e0000000c000200000015bd4d980719ca0bffffffffffffffff',
    q.timestamps([timestampFromUnixNanos(unixNs('2026-12-02T09:30:00.123Z', 456789n)), -1n]),
  ],
  ['month 2001.01m', '010000000d000000f30c000000', atom('month', 12)],
  ['date vector 2001.01.01 1979.10.12', '01000000160000000e00020000006e01000026e3ffff', vector('date', [366, -7386])],
  ['timespan 0D05:36:57.600000001', '0100000011000000f001c0dd4663120000', atom('timespan', 20217600000001n)],
  ['minute 12:01', '010000000d000000efd1020000', atom('minute', 721)],
  ['second 12:05:00', '010000000d000000eeeca90000', atom('second', 43500)],
  ['time 12:04:59.123', '010000000d000000ed73be9702', atom('time', 43499123)],
  ['general list (1;`a;2.5)', '0100000023000000000003000000f90100000000000000f56100f70000000000000440', q.list(q.long(1), q.symbol('a'), q.float(2.5))],
  ['dictionary `a`b!(1;2)', '010000002b000000630b000200000061006200000002000000f90100000000000000f90200000000000000', q.dict(q.symbols(['a', 'b']), q.list(q.long(1), q.long(2)))],
  [
    'table ([] sym:`a`b; px:1.5 2.5; n:1 2i)',
    '010000004e0000006200630b000300000073796d007078006e000000030000000b000200000061006200090002000000000000000000f83f00000000000004400600020000000100000002000000',
    q.table({ sym: q.symbols(['a', 'b']), px: q.floats([1.5, 2.5]), n: q.ints([1, 2]) }),
  ],
  [
    'keyed table ([k:`a`b] v:1 2)',
    '010000004b000000636200630b00010000006b000000010000000b0002000000610062006200630b0001000000760000000100000007000200000001000000000000000200000000000000',
    q.keyedTable(q.table({ k: q.symbols(['a', 'b']) }), q.table({ v: q.longs([1, 2]) })),
  ],
];

describe('PyKX 4.2.0 (KX b9) serializations', () => {
  test.each(cases)('%s', (_n, hex, value) => {
    const bytes = Buffer.from(hex, 'hex');
    expect(decodeMessage(bytes).value).toEqual(value);
    expect(encodeMessage(value).toString('hex')).toBe(hex);
  });

  test('message types: sync (1) and response (2) in header byte 1', () => {
    expect(encodeMessage(q.long(1), { messageType: 'sync' }).toString('hex')).toBe('0101000011000000f90100000000000000');
    expect(encodeMessage(q.long(1), { messageType: 'response' }).toString('hex')).toBe('0102000011000000f90100000000000000');
    expect(decodeMessage(Buffer.from('0101000011000000f90100000000000000', 'hex')).messageType).toBe('sync');
  });
});
