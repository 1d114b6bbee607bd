import { TableChecksum, type TableSum } from '../checksum.ts';
import type { Column, TableSchema } from '../schema.ts';
import { rowBytes } from './memory.ts';

export interface StoredTable {
  schema: TableSchema;
  columns: Column[];
  rowBytes: number;
}

export interface RowFilter {
  from?: number;
  to?: number;
  syms?: ReadonlySet<string>;
}

/**
 * The day's rows an RDB holds, columnar like kdb+. Subscription filters
 * (tables, syms) are applied here, both to replayed and to live messages.
 */
export class TableStore {
  private readonly tables = new Map<string, StoredTable>();
  private readonly wanted: ReadonlySet<string> | null;
  private readonly syms: ReadonlySet<string> | null;
  /** One string per distinct sym, like kdb+'s sym list: JSON.parse makes a new string per row. */
  private readonly symbols = new Map<string, string>();

  constructor(schema: readonly TableSchema[], tables: readonly string[], syms: readonly string[]) {
    this.wanted = tables.length ? new Set(tables) : null;
    this.syms = syms.length ? new Set(syms) : null;
    this.reset(schema);
  }

  reset(schema: readonly TableSchema[]): void {
    this.tables.clear();
    for (const t of schema)
      if (!this.wanted || this.wanted.has(t.name)) this.tables.set(t.name, { schema: t, columns: t.columns.map(() => []), rowBytes: rowBytes(t) });
  }

  clear(): void {
    for (const t of this.tables.values()) t.columns = t.schema.columns.map(() => []);
  }

  /** Applies one update message; returns the bytes of data added. */
  apply(table: string, cols: Column[]): number {
    const t = this.tables.get(table);
    if (!t) return 0;
    const n = cols[0]!.length;
    const dest = t.columns;
    const symCol = cols[1] as string[];
    for (let r = 0; r < n; r++) {
      const sym = symCol[r]!;
      let one = this.symbols.get(sym);
      if (one === undefined) this.symbols.set(sym, (one = sym));
      symCol[r] = one;
    }
    if (!this.syms) {
      for (let k = 0; k < dest.length; k++) {
        const d = dest[k]!;
        const s = cols[k]!;
        for (let r = 0; r < n; r++) d.push(s[r]);
      }
      return n * t.rowBytes;
    }
    let kept = 0;
    for (let r = 0; r < n; r++) {
      if (!this.syms.has(symCol[r]!)) continue;
      for (let k = 0; k < dest.length; k++) dest[k]!.push(cols[k]![r]);
      kept++;
    }
    return kept * t.rowBytes;
  }

  get names(): string[] {
    return [...this.tables.keys()];
  }

  /** What this store keeps (empty = all), written into the RDB's slice so the merge knows which pools overlap. */
  get subscription(): { tables: string[]; syms: string[] } {
    return { tables: this.wanted ? [...this.wanted] : [], syms: this.syms ? [...this.syms] : [] };
  }

  get(table: string): StoredTable | undefined {
    return this.tables.get(table);
  }

  rowCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, t] of this.tables) out[name] = t.columns[0]!.length;
    return out;
  }

  totalRows(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.columns[0]!.length;
    return n;
  }

  private matching(t: StoredTable, f: RowFilter): number[] | null {
    if (f.from === undefined && f.to === undefined && !f.syms) return null;
    const time = t.columns[0] as number[];
    const sym = t.columns[1] as string[];
    const idx: number[] = [];
    for (let r = 0; r < time.length; r++) {
      if (f.from !== undefined && time[r]! < f.from) continue;
      if (f.to !== undefined && time[r]! >= f.to) continue;
      if (f.syms && !f.syms.has(sym[r]!)) continue;
      idx.push(r);
    }
    return idx;
  }

  count(table: string, f: RowFilter): number {
    const t = this.tables.get(table);
    if (!t) return 0;
    const idx = this.matching(t, f);
    return idx ? idx.length : t.columns[0]!.length;
  }

  /** Rows as columns, with time in [from, to) and sym in syms. */
  select(table: string, f: RowFilter, limit = Infinity): { columns: string[]; data: Column[] } | null {
    const t = this.tables.get(table);
    if (!t) return null;
    const idx = this.matching(t, f) ?? [...Array(t.columns[0]!.length).keys()];
    const take = idx.length > limit ? idx.slice(0, limit) : idx;
    return { columns: t.schema.columns.map((c) => c.name), data: t.columns.map((col) => take.map((r) => col[r])) };
  }

  checksum(table: string): TableSum | null {
    const t = this.tables.get(table);
    if (!t) return null;
    const c = new TableChecksum();
    c.addColumns(t.columns);
    return c.toJSON();
  }
}
