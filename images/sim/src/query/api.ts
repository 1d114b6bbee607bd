// Answers the query API (request.ts) from columns a process holds: picks
// the rows of getData's range, in time order, as a kdb+ table, within a row
// limit; and routes a sync call to getData or purview. Shared by the RDB
// and the HDB, which differ only in where their columns come from.

import { q, type QTable, type QValue } from '../../../../ipc/src/index.ts';
import type { Column, ColumnSpec } from '../schema.ts';
import { timestampToMsBound, toQColumn } from './columns.ts';
import { encodePurview, type Purview } from './purview.ts';
import { parseCall, parseGetData, QueryError, type GetDataRequest } from './request.ts';

/** Rows one getData may answer unless configured otherwise (KDB_QUERY_ROW_LIMIT). */
export const DEFAULT_ROW_LIMIT = 1_000_000;

/** Columns of one table as held (schema order: time, sym, ...), e.g. an RDB's table or one HDB day's. */
export interface HeldTable {
  columns: readonly ColumnSpec[];
  data: readonly Column[];
}

export interface QueryBackend {
  /** The parts of `table` that can hold the request's rows (an RDB: its one table; the HDB: one per day), or undefined for a table it does not know. */
  parts(req: GetDataRequest): HeldTable[] | undefined | Promise<HeldTable[] | undefined>;
  /** The columns of `table` when no part holds it (an empty answer still has the table's columns). */
  columnsOf(table: string): readonly ColumnSpec[] | undefined;
  /** Tables this backend knows, for the error naming them. */
  tableNames(): string[];
  purview(): Purview | Promise<Purview>;
}

/** Rows of a part in the request's range, as indexes in time order (stable). */
function matching(part: HeldTable, from: number | undefined, to: number | undefined, syms: ReadonlySet<string> | undefined): number[] {
  const time = part.data[0] as number[];
  const sym = part.data[1] as string[];
  const idx: number[] = [];
  for (let r = 0; r < time.length; r++) {
    const t = time[r]!;
    if (from !== undefined && t < from) continue;
    if (to !== undefined && t >= to) continue;
    if (syms !== undefined && !syms.has(sym[r]!)) continue;
    idx.push(r);
  }
  let sorted = true;
  for (let k = 1; k < idx.length && sorted; k++) if (time[idx[k]!]! < time[idx[k - 1]!]!) sorted = false;
  // Array.prototype.sort is stable: rows of one time keep their storage order.
  if (!sorted) idx.sort((a, b) => time[a]! - time[b]!);
  return idx;
}

/** The columns a request asks for, checked against the table's. */
export function projection(req: GetDataRequest, columns: readonly ColumnSpec[]): ColumnSpec[] {
  if (req.columns === undefined || req.columns.length === 0) return [...columns];
  return req.columns.map((name) => {
    const c = columns.find((x) => x.name === name);
    if (c === undefined) throw new QueryError(`getData: table ${req.table} has no column ${name}; its columns are ${columns.map((x) => x.name).join(', ')}`);
    return c;
  });
}

/** getData over held parts: the rows in range, time order, the asked columns, at most `limit` rows. */
export async function getData(backend: QueryBackend, req: GetDataRequest, limit: number): Promise<QTable> {
  const parts = await backend.parts(req);
  const columns = backend.columnsOf(req.table);
  if (parts === undefined || columns === undefined)
    throw new QueryError(`getData: unknown table ${req.table}; this server holds ${backend.tableNames().join(', ') || 'no tables'}`);
  const want = projection(req, columns);
  const from = req.start === undefined ? undefined : timestampToMsBound(req.start);
  const to = req.end === undefined ? undefined : timestampToMsBound(req.end);
  const syms = req.syms === undefined ? undefined : new Set(req.syms);
  const picked = parts.map((p) => matching(p, from, to, syms));
  const total = picked.reduce((n, idx) => n + idx.length, 0);
  if (total > limit) throw new QueryError(`getData: ${total} rows of ${req.table} match, above the row limit of ${limit}; ask for a shorter time range or fewer syms`);
  // Several parts (HDB days) are disjoint in time in practice, but merge by time so the answer is in time order regardless.
  const order = mergeOrder(parts, picked);
  const data = want.map((spec) => {
    const source = parts.map((part) => part.data[part.columns.findIndex((c) => c.name === spec.name)] as unknown[]);
    const out: unknown[] = new Array(total);
    for (let k = 0; k < total; k++) {
      const [p, r] = order[k]!;
      out[k] = source[p]![r];
    }
    return toQColumn(spec.type, out);
  });
  return { kind: 'table', columns: want.map((c) => c.name), data };
}

/** (part, row) pairs in time order across parts; ties keep part order. */
function mergeOrder(parts: readonly HeldTable[], picked: readonly number[][]): [number, number][] {
  const out: [number, number][] = [];
  picked.forEach((idx, p) => {
    for (const r of idx) out.push([p, r]);
  });
  if (parts.length > 1) out.sort((a, b) => (parts[a[0]]!.data[0] as number[])[a[1]]! - (parts[b[0]]!.data[0] as number[])[b[1]]! || a[0] - b[0]);
  return out;
}

export interface ApiHandlerOptions {
  rowLimit?: number;
}

/** The sync handler of a reference process: parses the call and answers it, refusing anything but the named API. */
export function apiHandler(backend: QueryBackend, options: ApiHandlerOptions = {}): (value: QValue) => Promise<QValue> {
  const limit = options.rowLimit ?? DEFAULT_ROW_LIMIT;
  return async (value) => {
    const { fn, arg } = parseCall(value);
    if (fn === 'purview') return encodePurview(await backend.purview());
    return getData(backend, parseGetData(arg), limit);
  };
}

/** An empty table with these columns, typed. */
export const emptyTable = (columns: readonly ColumnSpec[]): QTable => q.table(Object.fromEntries(columns.map((c) => [c.name, toQColumn(c.type, [])])));
