import type { ColumnType, TableSchema } from '../schema.ts';

/**
 * Deterministic memory accounting: a fixed cost per value by column type (as
 * kdb+ lays out vectors: 8-byte timestamps, floats, longs and symbol
 * references) plus a fixed baseline for the idle process (the paper measured
 * about 150 MB). The JS heap is not measured, so thresholds behave the same
 * on every machine and in every test.
 */
export const BYTES_PER_VALUE: Record<ColumnType, number> = {
  timestamp: 8,
  symbol: 8,
  float: 8,
  long: 8,
  int: 4,
  boolean: 1,
  string: 32,
};

export const rowBytes = (t: TableSchema): number => t.columns.reduce((sum, c) => sum + BYTES_PER_VALUE[c.type], 0);

export class MemoryAccount {
  readonly baselineBytes: number;
  readonly limitBytes: number;
  private dataBytes = 0;

  constructor(baselineBytes: number, limitBytes: number) {
    this.baselineBytes = baselineBytes;
    this.limitBytes = limitBytes;
  }

  add(bytes: number): void {
    this.dataBytes += bytes;
  }

  clear(): void {
    this.dataBytes = 0;
  }

  get usedBytes(): number {
    return this.baselineBytes + this.dataBytes;
  }

  /** Percent of the limit in use. */
  get percent(): number {
    return (100 * this.usedBytes) / this.limitBytes;
  }

  reached(thresholdPercent: number): boolean {
    return this.usedBytes * 100 >= thresholdPercent * this.limitBytes;
  }
}
