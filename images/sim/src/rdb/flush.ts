import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Column, ColumnSpec } from '../schema.ts';
import { writeFileAtomicStream } from '../util/atomic-write.ts';
import type { TableStore } from './table-store.ts';

/**
 * End-of-day slice: the rows of one day one RDB held, written to
 * <staging>/<day>/<rdb>.slice.jsonl by temp file, fsync, rename, so a crash
 * leaves no slice or a whole one.
 *
 * JSON Lines, so the merge can stream it (images/sim/src/merge/):
 * - line 1, the header: version 2, day, rdb, pool, the message window
 *   (firstI, lastI] the rows came from, the subscription (tables and syms,
 *   empty = all) and per table its columns and row count;
 * - then per table, in header order, its rows sorted by sym then time
 *   (stable: rows of one sym and time keep message order), CHUNK rows a
 *   line: {"t":"<table>","c":[[column 0 ...],[column 1 ...],...]}.
 * Version 1 (<rdb>.slice.json, one JSON object, rows in message order) is
 * what RDBs wrote before; the merge still reads it.
 */
export const SLICE_EXT = '.slice.jsonl';
export const SLICE_EXT_V1 = '.slice.json';

/** Rows per line: small enough that each piece stays in V8's young generation (large pieces go to large-object space, freed only by a full collection, and pile up). */
export const CHUNK = 4_096;

export interface SliceWindow {
  firstI: number;
  lastI: number;
}

export interface SliceSubscription {
  tables: string[];
  syms: string[];
}

export interface SliceHeader {
  version: 2;
  day: string;
  rdb: string;
  pool: string;
  window: SliceWindow;
  /** null for a slice converted from version 1, which did not record it. */
  subscription: SliceSubscription | null;
  order: ['sym', 'time'];
  tables: Record<string, { columns: ColumnSpec[]; rows: number }>;
}

/** Version 1, read by the merge only. */
export interface SliceV1 {
  version: 1;
  day: string;
  rdb: string;
  pool: string;
  window: SliceWindow;
  tables: Record<string, { columns: ColumnSpec[]; rows: number; data: Column[] }>;
}

export interface SliceTable {
  name: string;
  columns: ColumnSpec[];
  data: readonly Column[];
}

export const slicePath = (stagingDir: string, day: string, rdb: string): string => join(stagingDir, day, `${rdb}${SLICE_EXT}`);

export const chunkLinePrefix = (table: string): string => `{"t":${JSON.stringify(table)},"c":`;

/**
 * Row order of a table by sym then time; the row number breaks ties, so the
 * order is the stable one whatever the sort does.
 */
export const symTimeOrder = (data: readonly Column[]): Uint32Array => {
  const time = data[0] as number[];
  const sym = data[1] as string[];
  const order = new Uint32Array(time.length);
  for (let r = 0; r < order.length; r++) order[r] = r;
  return order.sort((a, b) => (sym[a]! < sym[b]! ? -1 : sym[a]! > sym[b]! ? 1 : time[a]! - time[b]! || a - b));
};

/** Writes a version 2 slice file whole (temp, fsync, rename), sorting each table on the way. */
export const writeSliceFile = (
  path: string,
  meta: Omit<SliceHeader, 'version' | 'order' | 'tables'>,
  tables: readonly SliceTable[],
): { rows: number } => {
  let rows = 0;
  const J = JSON.stringify;
  const header: SliceHeader = {
    version: 2,
    ...meta,
    order: ['sym', 'time'],
    tables: Object.fromEntries(tables.map((t) => [t.name, { columns: t.columns, rows: t.data[0]?.length ?? 0 }])),
  };
  // Bounded pieces: a whole day's slice rendered as one string would need
  // several times the RDB's data in memory at the moment it is fullest.
  writeFileAtomicStream(path, (write) => {
    write(J(header) + '\n');
    for (const t of tables) {
      const n = t.data[0]?.length ?? 0;
      rows += n;
      const order = symTimeOrder(t.data);
      const prefix = chunkLinePrefix(t.name);
      // The RDB is at its fullest here: one gather array per column, reused
      // for every chunk, and one write per column rather than a whole line as
      // one string keep what the flush allocates small (the young generation's
      // size, images/sim/entrypoint.sh, bounds the rest).
      const gather = t.data.map(() => new Array<unknown>(CHUNK));
      for (let at = 0; at < n; at += CHUNK) {
        const end = Math.min(n, at + CHUNK);
        write(`${prefix}[`);
        t.data.forEach((col, k) => {
          const out = gather[k]!;
          if (out.length !== end - at) out.length = end - at;
          for (let r = at; r < end; r++) out[r - at] = col[order[r]!];
          write(k ? `,${J(out)}` : J(out));
        });
        write(']}\n');
      }
    }
  });
  return { rows };
};

export const writeSlice = (
  stagingDir: string,
  day: string,
  rdb: string,
  pool: string,
  window: SliceWindow,
  store: TableStore,
): { path: string; rows: number } => {
  const path = slicePath(stagingDir, day, rdb);
  mkdirSync(join(stagingDir, day), { recursive: true });
  const tables = store.names.map((name) => {
    const t = store.get(name)!;
    return { name, columns: t.schema.columns, data: t.columns };
  });
  const { rows } = writeSliceFile(path, { day, rdb, pool, window, subscription: store.subscription }, tables);
  return { path, rows };
};
