// The reference HDB: serves the days the merge wrote (<hdb>/<day>/<table>/,
// images/sim/src/merge/merge.ts) through the query API. Only complete days
// count (the .complete marker is written last), so a merge in progress or
// one that crashed is never half-served. A day's table is read when first
// asked for; its row count and time range are kept for good (small), its
// columns for the last few tables read.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMPLETE_MARKER, readPartitionTable } from '../merge/merge.ts';
import type { HeldTable, QueryBackend } from '../query/api.ts';
import { msToTimestamp } from '../query/columns.ts';
import { timeRange, type HdbPurview, type TableRange } from '../query/purview.ts';
import type { GetDataRequest } from '../query/request.ts';
import type { ColumnSpec } from '../schema.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

interface Stats {
  /** The marker's mtime when read: a day merged again (after its folder was removed) is read again. */
  stamp: number;
  range: TableRange;
  columns: ColumnSpec[];
}

export interface HdbOptions {
  /** Tables whose columns stay in memory after a query (least recently used leave first). Default 8. */
  cachedTables?: number;
}

export class Hdb implements QueryBackend {
  readonly dir: string;
  private readonly stats = new Map<string, Stats>();
  private readonly cache = new Map<string, HeldTable>();
  private readonly cachedTables: number;

  constructor(dir: string, options: HdbOptions = {}) {
    this.dir = dir;
    this.cachedTables = options.cachedTables ?? 8;
  }

  /** Complete days, oldest first. */
  days(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((d) => DAY.test(d) && existsSync(join(this.dir, d, COMPLETE_MARKER)))
      .sort();
  }

  private tablesOf(day: string): string[] {
    return readdirSync(join(this.dir, day), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(this.dir, day, e.name, '.d')))
      .map((e) => e.name)
      .sort();
  }

  private stamp(day: string): number {
    return statSync(join(this.dir, day, COMPLETE_MARKER)).mtimeMs;
  }

  private load(day: string, table: string): HeldTable {
    const key = `${day}/${table}`;
    const hit = this.cache.get(key);
    const stamp = this.stamp(day);
    if (hit && this.stats.get(key)?.stamp === stamp) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const t = readPartitionTable(this.dir, day, table);
    const held: HeldTable = { columns: t.columns, data: t.data };
    const time = t.data[0] as number[];
    this.stats.set(key, { stamp, columns: t.columns, range: { table, rows: time.length, ...timeRange(time) } });
    this.cache.set(key, held);
    while (this.cache.size > this.cachedTables) this.cache.delete(this.cache.keys().next().value!);
    return held;
  }

  private statsOf(day: string, table: string): Stats {
    const key = `${day}/${table}`;
    const s = this.stats.get(key);
    if (s && s.stamp === this.stamp(day)) return s;
    this.load(day, table);
    return this.stats.get(key)!;
  }

  parts(req: GetDataRequest): HeldTable[] | undefined {
    const days = this.days().filter((d) => this.tablesOf(d).includes(req.table));
    if (days.length === 0) return undefined;
    const start = req.start;
    const end = req.end;
    return days
      .filter((d) => {
        const { range } = this.statsOf(d, req.table);
        if (range.rows === 0) return false;
        if (start !== undefined && msToTimestamp(range.lastTime!) < start) return false;
        if (end !== undefined && msToTimestamp(range.firstTime!) >= end) return false;
        return true;
      })
      .map((d) => this.load(d, req.table));
  }

  columnsOf(table: string): readonly ColumnSpec[] | undefined {
    const day = this.days().reverse().find((d) => this.tablesOf(d).includes(table));
    return day === undefined ? undefined : this.statsOf(day, table).columns;
  }

  tableNames(): string[] {
    return [...new Set(this.days().flatMap((d) => this.tablesOf(d)))].sort();
  }

  purview(): HdbPurview {
    const days = this.days();
    return { kind: 'hdb', days, tables: days.flatMap((day) => this.tablesOf(day).map((t) => ({ day, ...this.statsOf(day, t).range }))) };
  }
}
