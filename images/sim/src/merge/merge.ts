import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TableChecksum, type TableSum } from '../checksum.ts';
import { CHUNK, SLICE_EXT, SLICE_EXT_V1, type SliceHeader } from '../rdb/flush.ts';
import type { Column, ColumnSpec } from '../schema.ts';
import { fsyncDir, writeFileAtomic } from '../util/atomic-write.ts';
import { MergeError } from './errors.ts';
import { convertV1, readSliceHeader, TableCursor } from './slice-reader.ts';
import { rowOwners, selectSlices, type Selection, type SliceInfo, type Skipped } from './windows.ts';

export { MergeError } from './errors.ts';

/**
 * The end-of-day merge the paper left open: the slices the RDBs of a day
 * flushed become one HDB day partition, <hdb>/<day>/<table>/ with a .d file
 * (column order) and one file per column, each table sorted by sym then time
 * (stable: rows of one sym and time keep message order). Which slices it
 * takes, so each message of each pool goes in once, is windows.ts. The
 * marker <hdb>/<day>/.complete is written last; with it present, merging
 * again changes nothing.
 *
 * Streamed: each slice is sorted by sym then time already (the RDB sorts it
 * as it flushes), so a table is a k-way merge of the slices holding it. In
 * memory at any time: one chunk (CHUNK = 4,096 rows) of the table per slice
 * being merged, CHUNK rows of output per column, a 1 MiB read buffer per
 * slice, and the headers — whatever the size of the day. A version 1 slice
 * (before the RDB sorted) is first rewritten as version 2, one at a time,
 * which takes that one slice's rows in memory.
 */
export const COMPLETE_MARKER = '.complete';

export interface MergeMarker {
  day: string;
  /** Every slice file of the day in staging (what a second run compares with). */
  slices: string[];
  tables: Record<string, TableSum>;
  mergedAt: string;
  /** The slices whose rows went in, and those left out with why. */
  merged?: string[];
  skipped?: Skipped[];
  /** The day's last message: every pool's windows reach it. */
  lastI?: number;
  /** Rows a pool held that an earlier pool (by name) holds too, left out per table. */
  overlapLeftOut?: Record<string, number>;
  /** What each slice held when merged (window and rows per table): a second run compares it too, not only the names. */
  sliceContents?: Record<string, string>;
}

/** A slice's window and rows, as its header says: two slices of one name with other contents are two different slices. */
const contentOf = (h: Pick<SliceHeader, 'window' | 'tables'>): string =>
  `(${h.window.firstI}, ${h.window.lastI}] ${Object.entries(h.tables)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, v]) => `${t}=${v.rows}`)
    .join(' ')}`;

export interface MergeResult {
  day: string;
  path: string;
  alreadyComplete: boolean;
  slices: string[];
  tables: Record<string, TableSum>;
  skipped: Skipped[];
}

export const listSlices = (stagingDir: string, day: string): string[] => {
  const dir = join(stagingDir, day);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => (f.endsWith(SLICE_EXT) || f.endsWith(SLICE_EXT_V1)) && !f.startsWith('.'))
    .sort();
};

/** One column file of the partition: the same bytes as JSON.stringify(column), written CHUNK values at a time. */
class ColumnWriter {
  private readonly fd: number;
  private buf: unknown[] = [];
  private wrote = false;

  constructor(path: string) {
    this.fd = openSync(path, 'w', 0o644);
  }

  push(v: unknown): void {
    this.buf.push(v);
    if (this.buf.length >= CHUNK) this.flush();
  }

  private write(s: string): void {
    const b = Buffer.from(s);
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    this.write((this.wrote ? ',' : '[') + JSON.stringify(this.buf).slice(1, -1));
    this.wrote = true;
    this.buf = [];
  }

  close(): void {
    this.flush();
    this.write(this.wrote ? ']' : '[]');
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** A min-heap of cursors by (sym, time, slice position): the k-way merge's next row. */
class CursorHeap {
  private readonly items: { c: TableCursor; pos: number }[] = [];

  private less(a: { c: TableCursor; pos: number }, b: { c: TableCursor; pos: number }): boolean {
    const sa = a.c.sym;
    const sb = b.c.sym;
    if (sa !== sb) return sa < sb;
    const ta = a.c.time;
    const tb = b.c.time;
    if (ta !== tb) return ta < tb;
    return a.pos < b.pos;
  }

  get size(): number {
    return this.items.length;
  }

  push(c: TableCursor, pos: number): void {
    const h = this.items;
    h.push({ c, pos });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  top(): { c: TableCursor; pos: number } {
    return this.items[0]!;
  }

  /** The top cursor moved on (or ended): restore the order. */
  fix(): void {
    const h = this.items;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  popTop(): void {
    const h = this.items;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.fix();
    }
  }
}

interface Located {
  info: SliceInfo;
  header: SliceHeader;
  path: string;
}

const readSlices = (stagingDir: string, day: string, names: string[], scratch: string): Located[] =>
  names.map((file) => {
    const path = join(stagingDir, day, file);
    let header: SliceHeader;
    let readFrom = path;
    if (file.endsWith(SLICE_EXT)) header = readSliceHeader(path);
    else {
      mkdirSync(scratch, { recursive: true });
      readFrom = join(scratch, `${file}l`);
      header = convertV1(path, readFrom);
    }
    if (header.day !== day) throw new MergeError(`slice ${file} of ${header.rdb} is for day ${header.day}, not ${day}`);
    const rows = Object.fromEntries(Object.entries(header.tables).map(([t, v]) => [t, v.rows]));
    return { info: { file, rdb: header.rdb, pool: header.pool, window: header.window, rows, subscription: header.subscription }, header, path: readFrom };
  });

/** Columns of each table, from the slices in message order; every slice holding a table must agree. */
const tableColumns = (located: Located[]): Map<string, ColumnSpec[]> => {
  const ordered = [...located].sort(
    (a, b) => a.info.window.firstI - b.info.window.firstI || a.info.rdb.localeCompare(b.info.rdb) || a.info.file.localeCompare(b.info.file),
  );
  const out = new Map<string, ColumnSpec[]>();
  for (const s of ordered)
    for (const [table, t] of Object.entries(s.header.tables)) {
      const known = out.get(table);
      if (!known) out.set(table, t.columns);
      else if (JSON.stringify(known) !== JSON.stringify(t.columns)) throw new MergeError(`table ${table}: slice of ${s.info.rdb} (${s.info.file}) has different columns`);
    }
  return out;
};

const mergeTable = (dir: string, table: string, columns: ColumnSpec[], selection: Selection, byFile: Map<string, Located>): { sum: TableSum; leftOut: number } => {
  mkdirSync(dir);
  const owners = rowOwners(selection, table);
  const heap = new CursorHeap();
  const open: TableCursor[] = [];
  const leaveOut = new Map<TableCursor, ReadonlySet<string> | null>();
  try {
    selection.take.forEach((s, pos) => {
      const t = byFile.get(s.file)!;
      const rows = t.header.tables[table]?.rows ?? 0;
      const kept = owners.get(s.file);
      if (rows === 0 || kept === undefined || kept === 'none') return;
      const c = new TableCursor(t.path, table, rows);
      open.push(c);
      leaveOut.set(c, kept.leaveOut);
      if (c.open()) heap.push(c, pos);
    });
    const writers = columns.map((c) => new ColumnWriter(join(dir, `${c.name}.json`)));
    const sum = new TableChecksum();
    const row = new Array<unknown>(columns.length);
    let leftOut = 0;
    while (heap.size > 0) {
      const { c } = heap.top();
      if (leaveOut.get(c)?.has(c.sym)) leftOut++;
      else {
        for (let k = 0; k < row.length; k++) {
          row[k] = c.value(k);
          writers[k]!.push(row[k]);
        }
        sum.addRow(row);
      }
      if (c.advance()) heap.fix();
      else heap.popTop();
    }
    for (const w of writers) w.close();
    writeFileAtomic(join(dir, '.d'), JSON.stringify(columns));
    fsyncDir(dir);
    return { sum: sum.toJSON(), leftOut };
  } finally {
    for (const c of open) c.close();
  }
};

export const mergeDay = (stagingDir: string, hdbDir: string, day: string, expect?: number): MergeResult => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new MergeError(`--day must be YYYY-MM-DD, got ${day}`);
  const names = listSlices(stagingDir, day);
  if (expect !== undefined && names.length !== expect)
    throw new MergeError(`day ${day}: expected ${expect} slices in ${join(stagingDir, day)}, found ${names.length} (${names.join(', ') || 'none'}); not merging an incomplete day`);
  if (names.length === 0) throw new MergeError(`day ${day}: no slices in ${join(stagingDir, day)}`);
  const dest = join(hdbDir, day);
  const markerPath = join(dest, COMPLETE_MARKER);
  if (existsSync(markerPath)) {
    const marker = JSON.parse(readFileSync(markerPath, 'utf8')) as MergeMarker;
    if (JSON.stringify(marker.slices) !== JSON.stringify(names))
      throw new MergeError(`day ${day} was merged from slices ${marker.slices.join(', ')} but staging now holds ${names.join(', ')}; remove ${dest} to merge again`);
    // Same names, other rows (a cluster re-created under its old name on the same trading day writes
    // slices of the same names): refused loudly, never taken for the day already merged.
    for (const file of names) {
      const was = marker.sliceContents?.[file];
      if (was === undefined || !file.endsWith(SLICE_EXT)) continue;
      const now = contentOf(readSliceHeader(join(stagingDir, day, file)));
      if (now !== was)
        throw new MergeError(`day ${day} was merged with slice ${file} holding ${was}, but that slice now holds ${now} (a cluster re-created under the same name?); move ${dest} aside to merge the new slices`);
    }
    return { day, path: dest, alreadyComplete: true, slices: names, tables: marker.tables, skipped: marker.skipped ?? [] };
  }

  mkdirSync(hdbDir, { recursive: true });
  const tmp = join(hdbDir, `.${day}.merge-${process.pid}`);
  const scratch = `${tmp}-v1`;
  rmSync(tmp, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  try {
    const located = readSlices(stagingDir, day, names, scratch);
    const selection = selectSlices(day, located.map((l) => l.info));
    const columns = tableColumns(located);
    const byFile = new Map(located.map((l) => [l.info.file, l]));
    mkdirSync(tmp);
    const sums: Record<string, TableSum> = {};
    const overlapLeftOut: Record<string, number> = {};
    for (const table of [...columns.keys()].sort()) {
      const r = mergeTable(join(tmp, table), table, columns.get(table)!, selection, byFile);
      sums[table] = r.sum;
      if (r.leftOut) overlapLeftOut[table] = r.leftOut;
    }
    fsyncDir(tmp);
    // A partition without a marker is what a crashed merge left: replace it whole.
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
    fsyncDir(hdbDir);
    const marker: MergeMarker = {
      day,
      slices: names,
      tables: sums,
      mergedAt: new Date().toISOString(),
      merged: selection.take.map((s) => s.file),
      skipped: selection.skipped,
      lastI: selection.lastI,
      ...(Object.keys(overlapLeftOut).length ? { overlapLeftOut } : {}),
      sliceContents: Object.fromEntries(located.map((l) => [l.info.file, contentOf(l.header)])),
    };
    writeFileAtomic(markerPath, JSON.stringify(marker, null, 1));
    return { day, path: dest, alreadyComplete: false, slices: names, tables: sums, skipped: selection.skipped };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
};

/** Reads a merged table back (tests, demo). */
export const readPartitionTable = (hdbDir: string, day: string, table: string): { columns: ColumnSpec[]; data: Column[] } => {
  const dir = join(hdbDir, day, table);
  const columns = JSON.parse(readFileSync(join(dir, '.d'), 'utf8')) as ColumnSpec[];
  return { columns, data: columns.map((c) => JSON.parse(readFileSync(join(dir, `${c.name}.json`), 'utf8')) as Column) };
};
