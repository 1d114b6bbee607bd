import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Column, ColumnSpec } from '../schema.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { TableStore } from './table-store.ts';

/**
 * End-of-day slice: the rows of one day one RDB held, written to
 * <staging>/<day>/<rdb>.slice.json by temp file, fsync, rename, so a crash
 * leaves no slice or a whole one.
 */
export const SLICE_EXT = '.slice.json';

export interface Slice {
  version: 1;
  day: string;
  rdb: string;
  pool: string;
  window: { firstI: number; lastI: number };
  tables: Record<string, { columns: ColumnSpec[]; rows: number; data: Column[] }>;
}

export const slicePath = (stagingDir: string, day: string, rdb: string): string => join(stagingDir, day, `${rdb}${SLICE_EXT}`);

export const writeSlice = (
  stagingDir: string,
  day: string,
  rdb: string,
  pool: string,
  window: { firstI: number; lastI: number },
  store: TableStore,
): { path: string; rows: number } => {
  const path = slicePath(stagingDir, day, rdb);
  mkdirSync(join(stagingDir, day), { recursive: true });
  const tables: Slice['tables'] = {};
  let rows = 0;
  for (const name of store.names) {
    const t = store.get(name)!;
    const n = t.columns[0]!.length;
    rows += n;
    tables[name] = { columns: t.schema.columns, rows: n, data: t.columns };
  }
  const slice: Slice = { version: 1, day, rdb, pool, window, tables };
  writeFileAtomic(path, JSON.stringify(slice));
  return { path, rows };
};

export const readSlice = (path: string): Slice => {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Slice;
  if (s.version !== 1 || typeof s.day !== 'string' || typeof s.tables !== 'object') throw new Error(`${path}: not a slice`);
  return s;
};
