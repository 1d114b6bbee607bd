import { describe, expect, test } from '@jest/globals';
import { MergeError } from '../../images/sim/src/merge/errors.ts';
import { rowOwners, selectSlices, type SliceInfo } from '../../images/sim/src/merge/windows.ts';

// Which slices of a day the merge takes: each message window of a pool once,
// and a refusal naming the slices when a pool's windows leave a hole or
// overlap in a way no row can be told apart.
const DAY = '2026-03-02';
const all = { tables: [], syms: [] };
const slice = (file: string, firstI: number, lastI: number, rows: Record<string, number> = { trade: lastI - firstI }, o: Partial<SliceInfo> = {}): SliceInfo => ({
  file,
  rdb: file.replace(/\.slice\.jsonl?$/, ''),
  pool: 'main',
  window: { firstI, lastI },
  rows,
  subscription: all,
  ...o,
});
const refusal = (slices: SliceInfo[]): string => {
  try {
    selectSlices(DAY, slices);
  } catch (e) {
    expect(e).toBeInstanceOf(MergeError);
    return (e as Error).message;
  }
  throw new Error('selectSlices did not refuse');
};

describe('one pool', () => {
  test('windows that tile the day are all taken, in message order; a queued RDB\'s empty slice holds nothing', () => {
    const s = selectSlices(DAY, [slice('r3.slice.jsonl', 250, 400), slice('r1.slice.jsonl', 0, 100), slice('r2.slice.jsonl', 100, 250), slice('r4.slice.jsonl', 0, 0, { trade: 0 })]);
    expect(s.take.map((x) => x.file)).toEqual(['r1.slice.jsonl', 'r2.slice.jsonl', 'r3.slice.jsonl']);
    expect(s.skipped).toEqual([{ file: 'r4.slice.jsonl', reason: 'empty window' }]);
    expect(s.lastI).toBe(400);
  });

  test('a lost RDB and its replacement flushed the same window with the same rows: taken once', () => {
    const s = selectSlices(DAY, [slice('r1.slice.jsonl', 0, 100), slice('r1-replacement.slice.jsonl', 0, 100), slice('r2.slice.jsonl', 100, 150)]);
    expect(s.take.map((x) => x.file)).toEqual(['r1-replacement.slice.jsonl', 'r2.slice.jsonl']);
    expect(s.skipped).toEqual([{ file: 'r1.slice.jsonl', reason: 'the same window as r1-replacement.slice.jsonl' }]);
  });

  test('the lost live RDB, cut off on a partitioned node, flushed a prefix of its replacement\'s window: the prefix is left out', () => {
    const s = selectSlices(DAY, [slice('r1.slice.jsonl', 0, 80), slice('r1-replacement.slice.jsonl', 0, 100), slice('r2.slice.jsonl', 100, 150)]);
    expect(s.take.map((x) => x.file)).toEqual(['r1-replacement.slice.jsonl', 'r2.slice.jsonl']);
    expect(s.skipped).toEqual([{ file: 'r1.slice.jsonl', reason: 'its window lies inside r1-replacement.slice.jsonl (0, 100]' }]);
  });

  test('the same window with different row counts is refused, naming both slices', () => {
    const m = refusal([slice('r1.slice.jsonl', 0, 100, { trade: 100 }), slice('r1-replacement.slice.jsonl', 0, 100, { trade: 99 })]);
    expect(m).toContain('r1.slice.jsonl');
    expect(m).toContain('r1-replacement.slice.jsonl');
    expect(m).toMatch(/same window \(0, 100\] but trade has (100|99) rows/);
    expect(m).toContain('not merging');
  });

  test('a window inside another holding more rows than it is refused', () => {
    expect(refusal([slice('r1.slice.jsonl', 0, 80, { trade: 120 }), slice('r1-replacement.slice.jsonl', 0, 100, { trade: 100 })])).toMatch(
      /r1\.slice\.jsonl \(0, 80\] lies inside r1-replacement\.slice\.jsonl \(0, 100\] but holds more rows/,
    );
  });

  test('a gap is refused, naming the missing messages and the slices on both sides', () => {
    const m = refusal([slice('r1.slice.jsonl', 0, 100), slice('r3.slice.jsonl', 150, 200)]);
    expect(m).toContain('no slice holds messages (100, 150]');
    expect(m).toContain('r1.slice.jsonl (0, 100]');
    expect(m).toContain('r3.slice.jsonl (150, 200]');
  });

  test('a pool whose first window does not start the day is a gap', () => {
    expect(refusal([slice('r2.slice.jsonl', 100, 200)])).toContain('no slice holds messages (0, 100] (between the start of the day and r2.slice.jsonl');
  });

  test('windows that overlap without one holding the other are refused, naming both', () => {
    const m = refusal([slice('r1.slice.jsonl', 0, 100), slice('r2.slice.jsonl', 50, 150)]);
    expect(m).toContain('the window of r2.slice.jsonl (50, 150] overlaps r1.slice.jsonl (0, 100]');
  });

  test('a window straddling the boundary of two others is refused, though the pool is tiled without it', () => {
    const m = refusal([slice('r1.slice.jsonl', 0, 100), slice('r2.slice.jsonl', 100, 200), slice('x.slice.jsonl', 50, 150, { trade: 10 })]);
    expect(m).toContain('the window of x.slice.jsonl (50, 150] overlaps r1.slice.jsonl (0, 100] without lying inside one');
  });

  test('an empty window holding rows is refused', () => {
    expect(refusal([slice('r1.slice.jsonl', 0, 100), slice('q.slice.jsonl', 0, 0, { trade: 3 })])).toContain('q.slice.jsonl (0, 0] has an empty window but holds 3 rows of trade');
  });

  test('slices of one pool written with different subscriptions are refused', () => {
    expect(refusal([slice('r1.slice.jsonl', 0, 100), slice('r2.slice.jsonl', 100, 200, undefined, { subscription: { tables: ['trade'], syms: [] } })])).toMatch(
      /pool main: r1\.slice\.jsonl and r2\.slice\.jsonl were written with different subscriptions/,
    );
  });
});

describe('several pools', () => {
  const fx = { pool: 'fx', subscription: { tables: [], syms: ['EURUSD'] } };
  test('every pool must reach the day\'s last message: a pool ending short is a hole, refused', () => {
    const m = refusal([slice('eq-1.slice.jsonl', 0, 300), slice('fx-1.slice.jsonl', 0, 200, undefined, fx)]);
    expect(m).toContain('pool fx: its slices end at message 200 (fx-1.slice.jsonl (0, 200]) but pool main\'s reach 300');
    expect(m).toContain('messages (200, 300] of pool fx are in no slice');
  });

  test('pools are chosen independently and taken in message order across pools', () => {
    const s = selectSlices(DAY, [
      slice('eq-2.slice.jsonl', 120, 300),
      slice('fx-1.slice.jsonl', 0, 300, undefined, fx),
      slice('eq-1.slice.jsonl', 0, 120),
      slice('eq-1-replacement.slice.jsonl', 0, 120),
    ]);
    expect(s.take.map((x) => x.file)).toEqual(['eq-1-replacement.slice.jsonl', 'fx-1.slice.jsonl', 'eq-2.slice.jsonl']);
    expect(s.pools).toEqual({
      fx: { slices: ['fx-1.slice.jsonl'], subscription: fx.subscription },
      main: { slices: ['eq-1-replacement.slice.jsonl', 'eq-1.slice.jsonl', 'eq-2.slice.jsonl'], subscription: all },
    });
  });

  test('overlapping pools (a removed pool drains beside its replacements): a row goes in from the first pool by name that holds it', () => {
    const s = selectSlices(DAY, [
      slice('a.slice.jsonl', 0, 100, undefined, { pool: 'a-fx', subscription: { tables: ['trade'], syms: ['EURUSD', 'GBPUSD'] } }),
      slice('b.slice.jsonl', 0, 100, undefined, { pool: 'b-all', subscription: all }),
      slice('c.slice.jsonl', 0, 100, undefined, { pool: 'c-quote', subscription: { tables: ['quote'], syms: [] } }),
      slice('d.slice.jsonl', 0, 100, undefined, { pool: 'd-old', subscription: null }),
    ]);
    const trade = rowOwners(s, 'trade');
    expect(trade.get('a.slice.jsonl')).toEqual({ leaveOut: null });
    expect(trade.get('b.slice.jsonl')).toEqual({ leaveOut: new Set(['EURUSD', 'GBPUSD']) });
    // c-quote holds no trade rows: b-all is its only earlier pool for quote.
    expect(rowOwners(s, 'quote').get('c.slice.jsonl')).toBe('none');
    expect(trade.get('c.slice.jsonl')).toBe('none');
    // A slice of before version 2 did not record its subscription: kept whole, and it hides nothing.
    expect(trade.get('d.slice.jsonl')).toEqual({ leaveOut: null });
    expect(rowOwners(s, 'quote').get('b.slice.jsonl')).toEqual({ leaveOut: null });
  });
});
