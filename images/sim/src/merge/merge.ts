import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TableChecksum, type TableSum } from '../checksum.ts';
import { readSlice, SLICE_EXT, type Slice } from '../rdb/flush.ts';
import type { Column, ColumnSpec } from '../schema.ts';
import { fsyncDir, writeFileAtomic } from '../util/atomic-write.ts';

/**
 * The end-of-day merge the paper left open: the slices the RDBs of a day
 * flushed become one HDB day partition, <hdb>/<day>/<table>/ with a .d file
 * (column order) and one file per column, each table sorted by sym then time
 * (stable: rows of one sym and time keep message order). The marker
 * <hdb>/<day>/.complete is written last; with it present, merging again
 * changes nothing.
 */
export class MergeError extends Error {}

export const COMPLETE_MARKER = '.complete';

export interface MergeMarker {
  day: string;
  slices: string[];
  tables: Record<string, TableSum>;
  mergedAt: string;
}

export interface MergeResult {
  day: string;
  path: string;
  alreadyComplete: boolean;
  slices: string[];
  tables: Record<string, TableSum>;
}

export const listSlices = (stagingDir: string, day: string): string[] => {
  const dir = join(stagingDir, day);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(SLICE_EXT) && !f.startsWith('.'))
    .sort();
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
    return { day, path: dest, alreadyComplete: true, slices: names, tables: marker.tables };
  }

  const slices: Slice[] = names.map((n) => readSlice(join(stagingDir, day, n)));
  for (const s of slices) if (s.day !== day) throw new MergeError(`slice of ${s.rdb} is for day ${s.day}, not ${day}`);
  // Window order is message order, which the stable sort keeps within a sym and time.
  slices.sort((a, b) => a.window.firstI - b.window.firstI || a.rdb.localeCompare(b.rdb));

  mkdirSync(hdbDir, { recursive: true });
  const tmp = join(hdbDir, `.${day}.merge-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const sums: Record<string, TableSum> = {};
  const tableNames = [...new Set(slices.flatMap((s) => Object.keys(s.tables)))].sort();
  for (const table of tableNames) {
    let columns: ColumnSpec[] | null = null;
    const merged: Column[] = [];
    for (const s of slices) {
      const t = s.tables[table];
      if (!t) continue;
      if (!columns) {
        columns = t.columns;
        for (let k = 0; k < columns.length; k++) merged.push([]);
      } else if (JSON.stringify(columns) !== JSON.stringify(t.columns)) throw new MergeError(`table ${table}: slice of ${s.rdb} has different columns`);
      for (let k = 0; k < merged.length; k++) {
        const src = t.data[k]!;
        const dst = merged[k]!;
        for (let r = 0; r < src.length; r++) dst.push(src[r]);
      }
    }
    if (!columns) continue;
    const time = merged[0] as number[];
    const sym = merged[1] as string[];
    const order = Array.from(time.keys()).sort((a, b) => (sym[a]! < sym[b]! ? -1 : sym[a]! > sym[b]! ? 1 : time[a]! - time[b]!));
    const dir = join(tmp, table);
    mkdirSync(dir);
    const sorted = merged.map((col) => order.map((r) => col[r]));
    for (let k = 0; k < columns.length; k++) writeFileAtomic(join(dir, `${columns[k]!.name}.json`), JSON.stringify(sorted[k]));
    writeFileAtomic(join(dir, '.d'), JSON.stringify(columns));
    const c = new TableChecksum();
    c.addColumns(sorted);
    sums[table] = c.toJSON();
  }
  fsyncDir(tmp);
  // A partition without a marker is what a crashed merge left: replace it whole.
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  fsyncDir(hdbDir);
  const marker: MergeMarker = { day, slices: names, tables: sums, mergedAt: new Date().toISOString() };
  writeFileAtomic(markerPath, JSON.stringify(marker, null, 1));
  return { day, path: dest, alreadyComplete: false, slices: names, tables: sums };
};

/** Reads a merged table back (tests, demo). */
export const readPartitionTable = (hdbDir: string, day: string, table: string): { columns: ColumnSpec[]; data: Column[] } => {
  const dir = join(hdbDir, day, table);
  const columns = JSON.parse(readFileSync(join(dir, '.d'), 'utf8')) as ColumnSpec[];
  return { columns, data: columns.map((c) => JSON.parse(readFileSync(join(dir, `${c.name}.json`), 'utf8')) as Column) };
};
