import { z } from 'zod';

/**
 * Table schemas shared by the tickerplant, RDB, feed and merge. Column types
 * are the kdb+ types the demo needs; on the wire a timestamp is milliseconds
 * since the Unix epoch (a JS number), so JSON carries it without loss.
 */
export const ColumnType = z.enum(['timestamp', 'symbol', 'float', 'long', 'int', 'boolean', 'string']);
export type ColumnType = z.infer<typeof ColumnType>;

/**
 * The KdbCluster API speaks q type names; the reference data plane keeps a
 * smaller set of physical types. Every q type maps onto the one that holds
 * its values without loss (temporal types as nanosecond timestamps).
 */
const Q_TYPES: Record<string, ColumnType> = {
  timestamp: 'timestamp', timespan: 'timestamp', datetime: 'timestamp', time: 'timestamp', second: 'timestamp',
  minute: 'timestamp', date: 'timestamp', month: 'timestamp',
  symbol: 'symbol', char: 'string', string: 'string', guid: 'string',
  float: 'float', real: 'float', long: 'long', int: 'int', short: 'int', byte: 'int', boolean: 'boolean',
};

export const ColumnSpec = z.object({
  name: z.string().min(1),
  type: z.preprocess((t) => (typeof t === 'string' && t in Q_TYPES ? Q_TYPES[t] : t), ColumnType),
});
export type ColumnSpec = z.infer<typeof ColumnSpec>;

export const TableSchema = z
  .object({ name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), columns: z.array(ColumnSpec).min(2) })
  .refine((t) => t.columns[0]?.name === 'time' && t.columns[0].type === 'timestamp', {
    message: 'the first column must be time:timestamp',
  })
  .refine((t) => t.columns[1]?.name === 'sym' && t.columns[1].type === 'symbol', {
    message: 'the second column must be sym:symbol',
  })
  .refine((t) => new Set(t.columns.map((c) => c.name)).size === t.columns.length, { message: 'duplicate column names' });
export type TableSchema = z.infer<typeof TableSchema>;

export const Schema = z
  .array(TableSchema)
  .min(1)
  .refine((s) => new Set(s.map((t) => t.name)).size === s.length, { message: 'duplicate table names' });

/** The mock trade and quote tables of the paper's simulation. */
export const DEFAULT_SCHEMA: TableSchema[] = [
  {
    name: 'trade',
    columns: [
      { name: 'time', type: 'timestamp' },
      { name: 'sym', type: 'symbol' },
      { name: 'price', type: 'float' },
      { name: 'size', type: 'long' },
    ],
  },
  {
    name: 'quote',
    columns: [
      { name: 'time', type: 'timestamp' },
      { name: 'sym', type: 'symbol' },
      { name: 'bid', type: 'float' },
      { name: 'ask', type: 'float' },
      { name: 'bsize', type: 'long' },
      { name: 'asize', type: 'long' },
    ],
  },
];

export type SchemaMap = ReadonlyMap<string, TableSchema>;
export const schemaMap = (tables: readonly TableSchema[]): SchemaMap => new Map(tables.map((t) => [t.name, t]));

/** A column of values as carried on the wire, in the log and in the RDB. */
export type Column = unknown[];

/** The update message of a feed: one table, columnar rows. */
export interface Update {
  table: string;
  columns: Column[];
}

const checkValue: Record<ColumnType, (v: unknown) => boolean> = {
  timestamp: (v) => typeof v === 'number' && Number.isFinite(v),
  symbol: (v) => typeof v === 'string' && v.length > 0,
  float: (v) => typeof v === 'number' && Number.isFinite(v),
  long: (v) => Number.isSafeInteger(v),
  int: (v) => Number.isInteger(v) && (v as number) >= -2147483647 && (v as number) <= 2147483647,
  boolean: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
};

export type Validated =
  | { ok: true; table: TableSchema; columns: Column[]; rows: number; needsTime: boolean }
  | { ok: false; error: string };

/**
 * Checks an update against the schema. A feed may leave out the time column
 * (then the tickerplant stamps it), nothing else. Every value is checked, so
 * nothing malformed can ever reach the log.
 */
export const validateUpdate = (schemas: SchemaMap, msg: unknown): Validated => {
  if (typeof msg !== 'object' || msg === null) return { ok: false, error: 'update must be an object {t, c}' };
  const { t, c } = msg as { t?: unknown; c?: unknown };
  if (typeof t !== 'string') return { ok: false, error: 'update.t (table name) must be a string' };
  const table = schemas.get(t);
  if (!table) return { ok: false, error: `unknown table ${JSON.stringify(t)}` };
  if (!Array.isArray(c)) return { ok: false, error: 'update.c (columns) must be an array' };
  const n = table.columns.length;
  const needsTime = c.length === n - 1;
  if (c.length !== n && !needsTime)
    return { ok: false, error: `table ${t} has ${n} columns (or ${n - 1} without time), got ${c.length}` };
  const offset = needsTime ? 1 : 0;
  let rows = -1;
  for (let k = 0; k < c.length; k++) {
    const col = c[k];
    const spec = table.columns[k + offset]!;
    if (!Array.isArray(col)) return { ok: false, error: `column ${spec.name} must be an array` };
    if (rows === -1) rows = col.length;
    else if (col.length !== rows) return { ok: false, error: `column ${spec.name} has ${col.length} rows, expected ${rows}` };
    const check = checkValue[spec.type];
    for (let r = 0; r < col.length; r++) {
      if (!check(col[r])) return { ok: false, error: `column ${spec.name} row ${r}: not a ${spec.type}: ${JSON.stringify(col[r])}` };
    }
  }
  if (rows < 1) return { ok: false, error: 'an update needs at least one row' };
  return { ok: true, table, columns: c as Column[], rows, needsTime };
};
