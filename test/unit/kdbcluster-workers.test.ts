import { describe, expect, test } from '@jest/globals';
import { DEFAULT_WORKERS, workersFrom } from '../../operator/src/controllers/kdbcluster/index.ts';

describe('KDB_WORKERS', () => {
  test.each([
    [undefined, DEFAULT_WORKERS],
    ['', DEFAULT_WORKERS],
    ['1', 1],
    ['8', 8],
    ['64', 64],
    ['0', DEFAULT_WORKERS],
    ['65', DEFAULT_WORKERS],
    ['2.5', DEFAULT_WORKERS],
    ['many', DEFAULT_WORKERS],
  ])('%p -> %p', (value, workers) => {
    expect(workersFrom(value)).toBe(workers);
  });
  test('the default runs a few clusters side by side', () => expect(DEFAULT_WORKERS).toBe(4));
});
