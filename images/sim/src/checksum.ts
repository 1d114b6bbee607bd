/**
 * Order-independent checksum of table rows: the sum, mod 2^64, of a 64-bit
 * hash of each row. Sums add up, so the checksums of the RDBs (or slices) of
 * a pool add up to the feed's when every row landed exactly once.
 * Reported as a decimal string (2^64 does not fit a JS number).
 */
const TWO32 = 4294967296;

const canon = (v: unknown): string => {
  if (typeof v === 'number') return Object.is(v, -0) ? '0' : String(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
};

/** Two independent 32-bit lanes (cyrb53-style mixing): [high, low]. */
export const hash64 = (s: string): [number, number] => {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let k = 0; k < s.length; k++) {
    const ch = s.charCodeAt(k);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h2 >>> 0, h1 >>> 0];
};

export const rowKey = (values: readonly unknown[]): string => {
  let s = canon(values[0]);
  for (let k = 1; k < values.length; k++) s += '\u001f' + canon(values[k]);
  return s;
};

export class TableChecksum {
  rows = 0;
  private hi = 0;
  private lo = 0;

  addRow(values: readonly unknown[]): void {
    const [h, l] = hash64(rowKey(values));
    this.rows++;
    this.lo += l;
    let carry = 0;
    if (this.lo >= TWO32) {
      this.lo -= TWO32;
      carry = 1;
    }
    this.hi = (this.hi + h + carry) % TWO32;
  }

  /** Rows [from, to) of a columnar table. */
  addColumns(columns: readonly (readonly unknown[])[], from = 0, to = columns[0]?.length ?? 0): void {
    const row = new Array<unknown>(columns.length);
    for (let r = from; r < to; r++) {
      for (let k = 0; k < columns.length; k++) row[k] = columns[k]![r];
      this.addRow(row);
    }
  }

  get value(): string {
    return (BigInt(this.hi) * BigInt(TWO32) + BigInt(this.lo)).toString();
  }

  toJSON(): { rows: number; checksum: string } {
    return { rows: this.rows, checksum: this.value };
  }
}

export interface TableSum {
  rows: number;
  checksum: string;
}

export const addSums = (a: TableSum, b: TableSum): TableSum => ({
  rows: a.rows + b.rows,
  checksum: ((BigInt(a.checksum) + BigInt(b.checksum)) % (1n << 64n)).toString(),
});

/** Adds per-table sums from several sources (RDBs, slices, feeds). */
export const combineSums = (parts: readonly Record<string, TableSum>[]): Record<string, TableSum> => {
  const out: Record<string, TableSum> = {};
  for (const p of parts) for (const [t, s] of Object.entries(p)) out[t] = out[t] ? addSums(out[t], s) : { ...s };
  return out;
};

export const checksumColumns = (columns: readonly (readonly unknown[])[]): TableSum => {
  const c = new TableChecksum();
  c.addColumns(columns);
  return c.toJSON();
};
