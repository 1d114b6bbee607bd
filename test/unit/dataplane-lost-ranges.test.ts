import { describe, expect, test } from '@jest/globals';
import { lostIn, type LostRange } from '../../images/sim/src/log/tplog.ts';

describe('lostIn: does a window (afterI, uptoI] need a lost message?', () => {
  const lost: LostRange[] = [[901, 1000]];
  test.each([
    [0, 900, null],
    [1000, 1500, null],
    [1000, 1000, null],
    [0, 901, [901, 1000]],
    [950, 1500, [901, 1000]],
    [900, 1000, [901, 1000]],
    [999, 2000, [901, 1000]],
    [800, 2000, [901, 1000]],
  ])('(%i, %i] -> %j', (afterI, uptoI, want) => {
    expect(lostIn(lost, afterI, uptoI)).toEqual(want);
  });
  test('no lost range, nothing needed; the first range a window meets is named', () => {
    expect(lostIn([], 0, 10)).toBeNull();
    expect(lostIn([[5, 6], [20, 30]], 10, 25)).toEqual([20, 30]);
  });
});
