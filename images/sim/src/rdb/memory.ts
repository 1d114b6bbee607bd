import type { ColumnType, TableSchema } from '../schema.ts';

/**
 * Deterministic memory accounting: a fixed cost per value by column type plus
 * a fixed baseline for the idle process (the paper measured about 150 MB).
 * The JS heap is not measured, so thresholds behave the same on every machine
 * and in every test. The costs are what this reference RDB really takes from
 * the machine, not kdb+'s vector layout: a value is 8 bytes in a JS array,
 * but arrays grow by copying and V8 keeps the old space it grew into, so the
 * process's resident memory rises by about 35 bytes per value held (measured:
 * 860,000 six-column rows, 179 MiB above the idle process). 40 bytes keeps
 * the account above the real footprint, so the account rolls the RDB before
 * the memory limit's OOM killer can end it.
 */
export const BYTES_PER_VALUE: Record<ColumnType, number> = {
  timestamp: 40,
  symbol: 40,
  float: 40,
  long: 40,
  int: 40,
  boolean: 40,
  string: 80,
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
