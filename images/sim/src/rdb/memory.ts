import type { ColumnType, TableSchema } from '../schema.ts';

/**
 * Deterministic memory accounting: a fixed cost per value by column type plus
 * a fixed baseline for the idle process (the paper measured about 150 MB).
 * The JS heap is not measured, so thresholds behave the same on every machine
 * and in every test. The costs are what this reference RDB really spends, not
 * kdb+'s vector layout: a JS array slot is 8 bytes and grows by half again
 * when it fills, and garbage waits for the collector, so 24 bytes per 8-byte
 * value keeps the accounted figure above the process's real footprint, and the memory limit is reached by the
 * account (which rolls the RDB) before the kernel's OOM killer gets there.
 */
export const BYTES_PER_VALUE: Record<ColumnType, number> = {
  timestamp: 24,
  symbol: 24,
  float: 24,
  long: 24,
  int: 24,
  boolean: 24,
  string: 64,
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
