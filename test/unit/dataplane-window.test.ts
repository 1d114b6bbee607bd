import { describe, expect, test } from '@jest/globals';
import { inWindow, tilesExactly, windowSize } from '../../images/sim/src/window.ts';

describe('message windows (firstI, lastI]', () => {
  test('both edges: firstI is out, firstI+1 and lastI are in, lastI+1 is out', () => {
    const w = { firstI: 10, lastI: 20 };
    expect([9, 10, 11, 20, 21].map((i) => inWindow(i, w))).toEqual([false, false, true, true, false]);
    expect(windowSize(w)).toBe(10);
  });
  test('numbering starts at 1: (0, n] is the first n messages; (k, k] is empty', () => {
    expect(inWindow(0, { firstI: 0, lastI: 3 })).toBe(false);
    expect(inWindow(1, { firstI: 0, lastI: 3 })).toBe(true);
    expect(windowSize({ firstI: 5, lastI: 5 })).toBe(0);
  });
  test('consecutive windows share no message and miss none', () => {
    const ws = [{ firstI: 0, lastI: 10 }, { firstI: 10, lastI: 20 }, { firstI: 20, lastI: 25 }];
    for (let i = 1; i <= 25; i++) expect(ws.filter((w) => inWindow(i, w)).length).toBe(1);
    expect(tilesExactly(ws, 25)).toBe(true);
    expect(tilesExactly([ws[0]!, ws[2]!], 25)).toBe(false);
    expect(tilesExactly([ws[0]!, { firstI: 9, lastI: 25 }], 25)).toBe(false);
    expect(tilesExactly(ws, 26)).toBe(false);
  });
  test("the paper's rule (count from zero, keep i > start, start = lastI + 1) loses a message per roll; ours does not", () => {
    // Paper: the rolled RDB processed messages up to lastI; the next one replays and keeps i > start where start was taken one too far.
    const paperKept = (i: number, start: number) => i > start + 1;
    expect(paperKept(11, 10)).toBe(false);
    expect(inWindow(11, { firstI: 10, lastI: 20 })).toBe(true);
  });
});
