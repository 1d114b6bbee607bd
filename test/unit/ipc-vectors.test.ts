// Bytes that q itself produced, decoded to our model and re-encoded byte for
// byte: the examples on KX's "Serialization examples" page (whole messages,
// `-8!x`), and the q-recorded expressions that qPython (exxeleron/qPython,
// Apache-2.0) tests its reader with (tests/QExpressions3.out and
// tests/QCompressedExpressions3.out: the bytes after the 8-byte header).

import { describe, expect, test } from '@jest/globals';
import {
  atom,
  compress,
  decodeMessage,
  decompress,
  encodeMessage,
  NULL,
  q,
  vector,
  type QValue,
} from '../../ipc/src/index.ts';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/** A message of q's bytes `body` behind a little-endian header, as qPython's tests build them. */
function message(body: Buffer, compressed = false): Buffer {
  const m = Buffer.alloc(8 + body.length);
  m[0] = 1;
  m[2] = compressed ? 1 : 0;
  m.writeUInt32LE(m.length, 4);
  body.copy(m, 8);
  return m;
}

function expectBothWays(bytes: Buffer, value: QValue): void {
  expect(decodeMessage(bytes).value).toEqual(value);
  expect(encodeMessage(value).toString('hex')).toBe(bytes.toString('hex'));
}

const lam = (body: string, context = ''): QValue => ({ kind: 'lambda', context, body });
const prim = (type: 101 | 102 | 103, index: number): QValue => ({ kind: 'primitive', type, index });
const derived = (type: 104 | 105 | 106 | 107 | 108 | 109 | 110 | 111, ...parts: QValue[]): QValue => ({ kind: 'derived', type, parts });

describe("KX's serialization examples (whole messages)", () => {
  const t2 = q.table({ a: vector('int', [2]), b: vector('int', [3]) });
  const cases: [string, string, QValue][] = [
    ['-8!1i', '010000000d000000fa01000000', atom('int', 1)],
    ['-8!enlist 1i', '010000001200000006000100000001000000', vector('int', [1])],
    ['-8!`byte$til 5', '01000000130000000400050000000001020304', vector('byte', [0, 1, 2, 3, 4])],
    ['-8!`byte$enlist til 5', '01000000190000000000010000000400050000000001020304', q.list(vector('byte', [0, 1, 2, 3, 4]))],
    ['-8!`a`b!2 3i', '0100000021000000630b0002000000610062000600020000000200000003000000', q.dict(q.symbols(['a', 'b']), vector('int', [2, 3]))],
    [
      '-8!`s#`a`b!2 3i',
      '01000000210000007f0b0102000000610062000600020000000200000003000000',
      { kind: 'dict', keys: q.symbols(['a', 'b'], 's'), values: vector('int', [2, 3]), sorted: true },
    ],
    [
      '-8!`a`b!enlist each 2 3i',
      '010000002d000000630b0002000000610062000000020000000600010000000200000006000100000003000000',
      q.dict(q.symbols(['a', 'b']), q.list(vector('int', [2]), vector('int', [3]))),
    ],
    ['-8!([]a:enlist 2i;b:enlist 3i)', '010000002f0000006200630b0002000000610062000000020000000600010000000200000006000100000003000000', t2],
    [
      '-8!`s#([]a:enlist 2i;b:enlist 3i)',
      '010000002f0000006201630b0002000000610062000000020000000603010000000200000006000100000003000000',
      q.table({ a: vector('int', [2], 'p'), b: vector('int', [3]) }, 's'),
    ],
    [
      '-8!([a:enlist 2i]b:enlist 3i)',
      '010000003f000000636200630b00010000006100000001000000060001000000020000006200630b0001000000620000000100000006000100000003000000',
      q.keyedTable(q.table({ a: vector('int', [2]) }), q.table({ b: vector('int', [3]) })),
    ],
    [
      '-8!`s#([a:enlist 2i]b:enlist 3i)',
      '010000003f0000007f6201630b00010000006100000001000000060001000000020000006200630b0001000000620000000100000006000100000003000000',
      { kind: 'keyedTable', keys: q.table({ a: vector('int', [2]) }, 's'), values: q.table({ b: vector('int', [3]) }), sorted: true },
    ],
    ['-8!{x+y}', '010000001500000064000a00050000007b782b797d', lam('{x+y}')],
    ['-8!.d.test (a lambda in context .d)', '01000000160000006464000a00050000007b782b797d', lam('{x+y}', 'd')],
  ];
  test.each(cases)('%s', (_q, h, value) => expectBothWays(hex(h), value));

  test('the brief\'s "-8!1 = 0x010000000d000000f901000000" is not a q message: 0xf9 is a long and needs 8 bytes', () => {
    expect(() => decodeMessage(hex('010000000d000000f901000000'))).toThrow(/long atom needs 8 bytes/);
    expect(encodeMessage(q.long(1)).toString('hex')).toBe('0100000011000000f90100000000000000');
  });
});

describe('q-recorded expressions (qPython QExpressions3.out)', () => {
  const guid = '8c680a01-5a49-5aab-5a65-d4bfddb6a661';
  const cases: [string, string, QValue][] = [
    ['1+`', '807479706500', q.error('type')],
    ['1', 'F90100000000000000', q.long(1)],
    ['1i', 'FA01000000', atom('int', 1)],
    ['-234h', 'FB16FF', atom('short', -234)],
    ['0b', 'FF00', q.boolean(false)],
    ['1b', 'FF01', q.boolean(true)],
    ['0x2a', 'FC2A', atom('byte', 42)],
    ['89421099511627575j (above 2^53)', 'F937BFD02704B03D01', q.long(89421099511627575n)],
    ['3.234', 'F7AC1C5A643BDF0940', q.float(3.234)],
    ['5.5e', 'F80000B040', atom('real', 5.5)],
    ['"0"', 'F630', atom('char', '0')],
    ['"abc"', '0A0003000000616263', q.string('abc')],
    ['""', '0A0000000000', q.string('')],
    ['`abc', 'F561626300', q.symbol('abc')],
    ['2000.01.04D05:36:57.600', 'F400C0CAFA20FE0000', q.timestamp(279417600000000n)],
    ['2001.01m', 'F30C000000', atom('month', 12)],
    ['2001.01.01', 'F26E010000', atom('date', 366)],
    ['2000.05.01', 'F279000000', atom('date', 121)],
    ['2000.01.04T05:36:57.600', 'F1AC1C5A643BDF0940', atom('datetime', 3.234)],
    ['0D05:36:57.600', 'F000C0DD4663120000', atom('timespan', 20217600000000n)],
    ['12:01', 'EFD1020000', atom('minute', 721)],
    ['12:05:00', 'EEECA90000', atom('second', 43500)],
    ['12:04:59.123', 'ED73BE9702', atom('time', 43499123)],
    ['0x00', 'FC00', atom('byte', 0)],
    ['0Nh', 'FB0080', atom('short', NULL.short)],
    ['0N', 'F90000000000000080', atom('long', NULL.long)],
    ['0Ni', 'FA00000080', atom('int', NULL.int)],
    ['0Ne', 'F80000C07F', atom('real', NULL.real)],
    ['0n', 'F7000000000000F87F', atom('float', NULL.float)],
    ['" "', 'F620', atom('char', NULL.char)],
    ['`', 'F500', q.symbol(NULL.symbol)],
    ['0Np', 'F40000000000000080', atom('timestamp', NULL.timestamp)],
    ['0Nm', 'F300000080', atom('month', NULL.month)],
    ['0Nd', 'F200000080', atom('date', NULL.date)],
    ['0Nz', 'F1000000000000F87F', atom('datetime', NULL.datetime)],
    ['0Nn', 'F00000000000000080', atom('timespan', NULL.timespan)],
    ['0Nu', 'EF00000080', atom('minute', NULL.minute)],
    ['0Nv', 'EE00000080', atom('second', NULL.second)],
    ['0Nt', 'ED00000080', atom('time', NULL.time)],
    ['0Ng', 'fe00000000000000000000000000000000', atom('guid', NULL.guid)],
    ['"G"$"8c68..."', 'FE8C680A015A495AAB5A65D4BFDDB6A661', atom('guid', guid)],
    ['("G"$"8c68..."; 0Ng)', '0200020000008C680A015A495AAB5A65D4BFDDB6A66100000000000000000000000000000000', vector('guid', [guid, NULL.guid])],
    ['()', '000000000000', q.list()],
    ['(0b;1b;0b)', '010003000000000100', vector('boolean', [false, true, false])],
    ['(0x01;0x02;0xff)', '0400030000000102FF', vector('byte', [1, 2, 255])],
    ['(1h;0Nh;3h)', '050003000000010000800300', vector('short', [1, NULL.short, 3])],
    ['1 0N 3', '070003000000010000000000000000000000000000800300000000000000', q.longs([1n, NULL.long, 3n])],
    ['(1i;0Ni;3i)', '060003000000010000000000008003000000', q.ints([1, NULL.int, 3])],
    ['(5.5e; 0Ne)', '0800020000000000B0400000C07F', vector('real', [5.5, NULL.real])],
    ['3.23 0n', '090002000000D7A3703D0AD70940000000000000F87F', q.floats([3.23, NULL.float])],
    ['(1;`bcd;"0bc";5.5e)', '000004000000F90100000000000000F5626364000A0003000000306263F80000B040', q.list(q.long(1), q.symbol('bcd'), q.string('0bc'), atom('real', 5.5))],
    ['(42;::;`foo)', '000003000000f92a000000000000006500f5666f6f00', q.list(q.long(42), q.identity(), q.symbol('foo'))],
    [
      '(`one;2 3;"456";(7;8 9))',
      '000004000000f56f6e6500070002000000020000000000000003000000000000000a0003000000343536000002000000f9070000000000000007000200000008000000000000000900000000000000',
      q.list(q.symbol('one'), q.longs([2, 3]), q.string('456'), q.list(q.long(7), q.longs([8, 9]))),
    ],
    ['``quick``fox', '0B000400000000717569636B0000666F7800', q.symbols(['', 'quick', '', 'fox'])],
    ['2000.01.04D05:36:57.600 0Np', '0C000200000000C0CAFA20FE00000000000000000080', q.timestamps([279417600000000n, NULL.timestamp])],
    ['(2001.01m; 0Nm)', '0D00020000000C00000000000080', vector('month', [12, NULL.month])],
    ['2001.01.01 2000.05.01 0Nd', '0E00030000006E0100007900000000000080', vector('date', [366, 121, NULL.date])],
    ['2000.01.04T05:36:57.600 0Nz', '0F0002000000AC1C5A643BDF0940000000000000F87F', vector('datetime', [3.234, NULL.datetime])],
    ['0D05:36:57.600 0Nn', '10000200000000C0DD46631200000000000000000080', vector('timespan', [20217600000000n, NULL.timespan])],
    ['12:01 0Nu', '110002000000D102000000000080', vector('minute', [721, NULL.minute])],
    ['12:05:00 0Nv', '120002000000ECA9000000000080', vector('second', [43500, NULL.second])],
    ['12:04:59.123 0Nt', '13000200000073BE970200000080', vector('time', [43499123, NULL.time])],
    ['::', '6500', q.identity()],
    ['{x+y}', '64000A00050000007B782B797D', lam('{x+y}')],
    ['{x+y}[3]', '680200000064000A00050000007B782B797DF90300000000000000', derived(104, lam('{x+y}'), q.long(3))],
    ['insert [1]', '6802000000661cf90100000000000000', derived(104, prim(102, 0x1c), q.long(1))],
    ['not', '650f', prim(101, 15)],
    ['and', '6605', prim(102, 5)],
    ['md5', '68020000006610f9f1ffffffffffffff', derived(104, prim(102, 0x10), q.long(-15))],
    ['any', '6902000000651c6802000000660bf662', derived(105, prim(101, 0x1c), derived(104, prim(102, 0x0b), atom('char', 'b')))],
    ['raze', '6b660c', derived(107, prim(102, 0x0c))],
    ['sums', '6c6601', derived(108, prim(102, 1))],
    ['prev', '6d6600', derived(109, prim(102, 0))],
    ['(enlist `a)!(enlist 1)', '630B000100000061000700010000000100000000000000', q.dict(q.symbols(['a']), q.longs([1]))],
    ['1 2!`abc`cdefgh', '63070002000000010000000000000002000000000000000B00020000006162630063646566676800', q.dict(q.longs([1, 2]), q.symbols(['abc', 'cdefgh']))],
    [
      '`abc`def`gh!([] one: 1 2 3; two: 4 5 6)',
      '630B000300000061626300646566006768006200630B00020000006F6E650074776F00000002000000070003000000010000000000000002000000000000000300000000000000070003000000040000000000000005000000000000000600000000000000',
      q.dict(q.symbols(['abc', 'def', 'gh']), q.table({ one: q.longs([1, 2, 3]), two: q.longs([4, 5, 6]) })),
    ],
    [
      '`A`B`C!((1;3.234;3);(`x`y!(`a;2));5.5e)',
      '630b0003000000410042004300000003000000000003000000f90100000000000000f7ac1c5a643bdf0940f90300000000000000630b000200000078007900000002000000f56100f90200000000000000f80000b040',
      q.dict(
        q.symbols(['A', 'B', 'C']),
        q.list(q.list(q.long(1), q.float(3.234), q.long(3)), q.dict(q.symbols(['x', 'y']), q.list(q.symbol('a'), q.long(2))), atom('real', 5.5)),
      ),
    ],
    [
      'flip `name`iq`grade!(`Dent`Beeblebrox`Prefect;98 42 126;"a c")',
      '6200630B00030000006E616D65006971006772616465000000030000000B000300000044656E7400426565626C6562726F7800507265666563740007000300000062000000000000002A000000000000007E000000000000000A0003000000612063',
      q.table({ name: q.symbols(['Dent', 'Beeblebrox', 'Prefect']), iq: q.longs([98, 42, 126]), grade: q.string('a c') }),
    ],
    [
      'flip `name`iq`misc!(...;("The Hitch Hiker\'s Guide to the Galaxy"; 160; 1979.10.12))',
      '6200630B00030000006E616D65006971006D697363000000030000000B000300000044656E7400426565626C6562726F7800507265666563740007000300000062000000000000002A000000000000007E000000000000000000030000000A00250000005468652048697463682048696B6572277320477569646520746F207468652047616C617879F9A000000000000000F226E3FFFF',
      q.table({
        name: q.symbols(['Dent', 'Beeblebrox', 'Prefect']),
        iq: q.longs([98, 42, 126]),
        misc: q.list(q.string("The Hitch Hiker's Guide to the Galaxy"), q.long(160), atom('date', -7386)),
      }),
    ],
    [
      '([] sc:1 2 3; nsc:(1 2; 3 4; 5 6 7))',
      '6200630B00020000007363006E7363000000020000000700030000000100000000000000020000000000000003000000000000000000030000000700020000000100000000000000020000000000000007000200000003000000000000000400000000000000070003000000050000000000000006000000000000000700000000000000',
      q.table({ sc: q.longs([1, 2, 3]), nsc: q.list(q.longs([1, 2]), q.longs([3, 4]), q.longs([5, 6, 7])) }),
    ],
    ['([] name:`symbol$(); iq:`int$())', '6200630B00020000006E616D65006971000000020000000B0000000000060000000000', q.table({ name: q.symbols([]), iq: q.ints([]) })],
    [
      '([eid:1001 1002 1003] pos:`d1`d2`d3;dates:(2001.01.01;2000.05.01;0Nd))',
      '636200630B000100000065696400000001000000070003000000E903000000000000EA03000000000000EB030000000000006200630B0002000000706F73006461746573000000020000000B00030000006431006432006433000E00030000006E0100007900000000000080',
      q.keyedTable(
        q.table({ eid: q.longs([1001, 1002, 1003]) }),
        q.table({ pos: q.symbols(['d1', 'd2', 'd3']), dates: vector('date', [366, 121, NULL.date]) }),
      ),
    ],
  ];
  test.each(cases)('%s', (_q, h, value) => expectBothWays(message(hex(h)), value));

  test('xbar and save: lambdas in the .q context, one under an each', () => {
    const xbar = hex('6471000a00240000006b297b782a792064697620783a245b3136683d6162735b40785d3b226a2224783b785d7d');
    expectBothWays(message(xbar), lam('k){x*y div x:$[16h=abs[@x];"j"$x;x]}', 'q'));
    const save = hex('6a6471000a003c0000006b297b245b313d23703a605c3a2a7c605c3a783a2d3121783b7365745b783b2e202a705d3b2020207820303a2e682e74785b7020315d402e2a705d7d');
    expect(decodeMessage(message(save)).value).toMatchObject({ kind: 'derived', type: 106, parts: [{ kind: 'lambda', context: 'q' }] });
    expect(encodeMessage(decodeMessage(message(save)).value).equals(message(save))).toBe(true);
  });
});

describe('q-compressed messages (qPython QCompressedExpressions3.out)', () => {
  const cases: [string, string, QValue][] = [
    ['1000#`q', 'DE070000800B00E80300007171FFAA7171FF7171FF7171FF7171FF2A7171FF7171FF7171BF', q.symbols(Array(1000).fill('q'))],
    [
      '([] q:1000#`q)',
      'EF070000006200630B0001000034007100000001020B00E803570000710071FF0071FF0071FF005571FF0071FF0071FF0071FF000171BE',
      q.table({ q: q.symbols(Array(1000).fill('q')) }),
    ],
    [
      '([] a:til 200;b:25+til 200;c:200#`a)',
      '3F0E0000006200630B00030000580061006201000000030207AC00C800010006010005020005DB0302000204000200010500010002BE0600020001070000010001080001ED000209000200010A000100020B00DB000200000C000000030D00030000B60E000000030F000300001000006D00031100030000120000000313DB0003000014000000031500030000B6160000000317000300001800006D000319000300001A000000031BDB000300001C000000031D00030000B61E000000031F000300002000006D00032100030000220000000323DB0003000024000000032500030000B6260000000327000300002800006D000329000300002A000000032BDB000300002C000000032D00030000B62E000000032F000300003000006D00033100030000320000000333DB0003000034000000033500030000B6360000000337000300003800006D000339000300003A000000033BDB000300003C000000033D00030000B63E000000033F000300004000006D00034100030000420000000343DB0003000044000000034500030000B6460000000347000300004800006D000349000300004A000000034BDB000300004C000000034D00030000B64E000000034F000300005000006D00035100030000520000000353DB0003000054000000035500030000B6560000000357000300005800006D000359000300005A000000035BDB000300005C000000035D00030000B65E000000035F00030000600000B700036100000300620000046300045400640005650005660005675500056800056900056A00056B5500056C00056D00056E00056F55000570000571000572000573550005740005750005760005775500057800057900057A00057B5500057C00057D00057E00057F55000580000581000582000583550005840005850005860005875500058800058900058A00058B5500058C00058D00058E00058F55000590000591000592000593550005940005950005960005975500059800059900059A00059B5500059C00059D00059E00059F550005A00005A10005A20005A3550005A40005A50005A60005A7550005A80005A90005AA0005AB550005AC0005AD0005AE0005AF550005B00005B10005B20005B3550005B40005B50005B60005B7550005B80005B90005BA0005BB550005BC0005BD0005BE0005BF550005C00005C10005C20005C3550005C40005C50005C60005C7FF00050700C80219FF00053AFF00055BFFFF00057CFF00059DFF0005BE4EC8020002B6C900020001CA00010002CB00026D0001CC00010002CD00020001CEDB00010002CF00020001D000010002B6D100020001D200010002D300026D0001D400010002D500020001D6DB00010002D700020001D800010002B6D900020001DA00010002DB00026D0001DC00010002DD00020001DEDB00010002DF00020001E0000100022F0B00C802610061FF00618A',
      q.table({
        a: q.longs(Array.from({ length: 200 }, (_, i) => i)),
        b: q.longs(Array.from({ length: 200 }, (_, i) => 25 + i)),
        c: q.symbols(Array(200).fill('a')),
      }),
    ],
  ];
  test.each(cases)('%s decodes, and our compressor makes q\'s exact bytes', (_q, h, value) => {
    const wire = message(hex(h), true);
    const m = decodeMessage(wire);
    expect(m.compressed).toBe(true);
    expect(m.value).toEqual(value);
    const plain = encodeMessage(value);
    expect(Buffer.from(decompress(wire, 1 << 20)).equals(plain)).toBe(true);
    expect(Buffer.from(compress(plain)!).toString('hex')).toBe(wire.toString('hex'));
    expect(encodeMessage(value, { compress: true }).toString('hex')).toBe(wire.toString('hex'));
  });
});
