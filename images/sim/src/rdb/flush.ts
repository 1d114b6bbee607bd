import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Column, ColumnSpec } from '../schema.ts';
import { writeFileAtomicStream } from '../util/atomic-write.ts';
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
  let rows = 0;
  const J = JSON.stringify;
  // The same JSON as JSON.stringify(slice), written a bounded chunk at a time.
  writeFileAtomicStream(path, (write) => {
    write(`{"version":1,"day":${J(day)},"rdb":${J(rdb)},"pool":${J(pool)},"window":${J(window)},"tables":{`);
    store.names.forEach((name, i) => {
      const t = store.get(name)!;
      const n = t.columns[0]!.length;
      rows += n;
      write(`${i ? ',' : ''}${J(name)}:{"columns":${J(t.schema.columns)},"rows":${n},"data":[`);
      t.columns.forEach((col, k) => {
        write(k ? ',[' : '[');
        for (let at = 0; at < n; at += CHUNK) write((at ? ',' : '') + J(col.slice(at, at + CHUNK)).slice(1, -1));
        write(']');
      });
      write(']}');
    });
    write('}}');
  });
  return { path, rows };
};

// Small enough that each piece stays in V8's young generation: large pieces go
// to large-object space, freed only by a full collection, and pile up.
const CHUNK = 4_096;

export const readSlice = (path: string): Slice => {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Slice;
  if (s.version !== 1 || typeof s.day !== 'string' || typeof s.tables !== 'object') throw new Error(`${path}: not a slice`);
  return s;
};
