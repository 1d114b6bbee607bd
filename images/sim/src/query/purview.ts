// What a process holds, as purview[] answers it: enough for a gateway to
// send a query only where its rows can be. An RDB says its state, day,
// message window, subscription and per table the rows and first and last
// time it holds; the HDB says its days and the same per day and table.
// Encoded as a kdb+ dictionary so a q user can read it (`h(`.kdb.purview;::)`),
// and decoded back by the gateway.

import { INF, NULL, dateFromIso, dateToIso, q, type QDict, type QTable, type QValue } from '../../../../ipc/src/index.ts';
import { msToTimestamp, timestampToMs } from './columns.ts';

export interface TableRange {
  table: string;
  rows: number;
  /** Epoch ms of the first and last row time held (by time, not by storage order); null with no rows. */
  firstTime: number | null;
  lastTime: number | null;
}

export interface RdbPurview {
  kind: 'rdb';
  name: string;
  pool: string;
  state: string;
  day: string;
  firstI: number;
  lastI: number | null;
  lastProcessed: number;
  /** What the RDB subscribes to; empty means all. */
  subscription: { tables: string[]; syms: string[] };
  tables: TableRange[];
  /** Days this RDB flushed to staging (rows written), newest last: a gateway knows a day awaits its merge. */
  flushed: { day: string; rows: number }[];
}

export interface HdbPurview {
  kind: 'hdb';
  /** Complete days (merged, with their .complete marker), oldest first. */
  days: string[];
  tables: (TableRange & { day: string })[];
}

export type Purview = RdbPurview | HdbPurview;

/** The first and last time in a column of epoch ms. */
export function timeRange(time: readonly number[]): { firstTime: number | null; lastTime: number | null } {
  if (time.length === 0) return { firstTime: null, lastTime: null };
  let lo = time[0]!;
  let hi = lo;
  for (let r = 1; r < time.length; r++) {
    const t = time[r]!;
    if (t < lo) lo = t;
    else if (t > hi) hi = t;
  }
  return { firstTime: lo, lastTime: hi };
}

const ts = (ms: number | null) => q.timestamp(ms === null ? NULL.timestamp : msToTimestamp(ms));
const ll = (n: number | null) => q.long(n === null ? NULL.long : BigInt(n));
const tsv = (xs: (number | null)[]) => q.timestamps(xs.map((x) => (x === null ? NULL.timestamp : msToTimestamp(x))));

const rangeColumns = (rs: readonly TableRange[]) => ({
  table: q.symbols(rs.map((r) => r.table)),
  rows: q.longs(rs.map((r) => r.rows)),
  firstTime: tsv(rs.map((r) => r.firstTime)),
  lastTime: tsv(rs.map((r) => r.lastTime)),
});

const dictOf = (o: Record<string, QValue>): QDict => q.dict(q.symbols(Object.keys(o)), q.list(...Object.values(o)));

export function encodePurview(p: Purview): QDict {
  if (p.kind === 'rdb')
    return dictOf({
      kind: q.symbol('rdb'),
      name: q.symbol(p.name),
      pool: q.symbol(p.pool),
      state: q.symbol(p.state),
      day: q.atom('date', dateFromIso(p.day)),
      firstI: ll(p.firstI),
      lastI: ll(p.lastI),
      lastProcessed: ll(p.lastProcessed),
      subscription: dictOf({ tables: q.symbols(p.subscription.tables), syms: q.symbols(p.subscription.syms) }),
      tables: q.table(rangeColumns(p.tables)),
      flushed: q.table({ day: q.vector('date', p.flushed.map((f) => dateFromIso(f.day))), rows: q.longs(p.flushed.map((f) => f.rows)) }),
    });
  return dictOf({
    kind: q.symbol('hdb'),
    days: q.vector('date', p.days.map(dateFromIso)),
    tables: q.table({ day: q.vector('date', p.tables.map((t) => dateFromIso(t.day))), ...rangeColumns(p.tables) }),
  });
}

class PurviewShapeError extends Error {}

const field = (d: QValue, key: string): QValue => {
  if (d.kind !== 'dict' || d.keys.kind !== 'vector' || d.keys.type !== 'symbol' || d.values.kind !== 'list') throw new PurviewShapeError('purview is not a dictionary of symbols to a general list');
  const i = d.keys.values.indexOf(key);
  if (i < 0) throw new PurviewShapeError(`purview has no \`${key}`);
  return d.values.values[i]!;
};
const sym = (v: QValue, key: string): string => {
  if (v.kind === 'atom' && v.type === 'symbol') return v.value;
  throw new PurviewShapeError(`purview \`${key} is not a symbol`);
};
const longOrNull = (v: QValue, key: string): number | null => {
  if (v.kind !== 'atom' || v.type !== 'long') throw new PurviewShapeError(`purview \`${key} is not a long`);
  return v.value === NULL.long ? null : Number(v.value);
};
const syms = (v: QValue, key: string): string[] => {
  if (v.kind === 'vector' && v.type === 'symbol') return [...v.values];
  if (v.kind === 'list' && v.values.length === 0) return [];
  throw new PurviewShapeError(`purview \`${key} is not a symbol vector`);
};
const col = (t: QTable, name: string): QValue => {
  const i = t.columns.indexOf(name);
  if (i < 0) throw new PurviewShapeError(`purview tables has no column ${name}`);
  return t.data[i]!;
};
const times = (v: QValue): (number | null)[] => {
  if (v.kind !== 'vector' || v.type !== 'timestamp') throw new PurviewShapeError('purview times are not timestamps');
  return Array.from(v.values, (x) => (x === NULL.timestamp || x === INF.timestamp ? null : timestampToMs(x)));
};
const ranges = (v: QValue): { t: QTable; rs: TableRange[] } => {
  if (v.kind !== 'table') throw new PurviewShapeError('purview `tables is not a table');
  const names = syms(col(v, 'table'), 'tables.table');
  const rows = col(v, 'rows');
  if (rows.kind !== 'vector' || rows.type !== 'long') throw new PurviewShapeError('purview tables.rows is not a long vector');
  const first = times(col(v, 'firstTime'));
  const last = times(col(v, 'lastTime'));
  return { t: v, rs: names.map((table, i) => ({ table, rows: Number(rows.values[i]!), firstTime: first[i]!, lastTime: last[i]! })) };
};
const dates = (v: QValue, key: string): string[] => {
  if (v.kind === 'vector' && v.type === 'date') return Array.from(v.values, dateToIso);
  if (v.kind === 'list' && v.values.length === 0) return [];
  throw new PurviewShapeError(`purview \`${key} is not a date vector`);
};

/** The flushed days of an RDB's purview; a purview without them (an older or q RDB) flushed none the gateway can know of. */
const flushedOf = (v: QValue): { day: string; rows: number }[] => {
  if (v.kind !== 'dict' || v.keys.kind !== 'vector' || v.keys.type !== 'symbol' || !v.keys.values.includes('flushed')) return [];
  const t = field(v, 'flushed');
  if (t.kind !== 'table') throw new PurviewShapeError('purview `flushed is not a table');
  const rows = col(t, 'rows');
  if (rows.kind !== 'vector' || rows.type !== 'long') throw new PurviewShapeError('purview flushed.rows is not a long vector');
  return dates(col(t, 'day'), 'flushed.day').map((day, i) => ({ day, rows: Number(rows.values[i]!) }));
};

/** A purview as a process answered it; throws naming the field when the shape is off. */
export function decodePurview(v: QValue): Purview {
  try {
    const kind = sym(field(v, 'kind'), 'kind');
    if (kind === 'rdb') {
      const day = field(v, 'day');
      if (day.kind !== 'atom' || day.type !== 'date') throw new PurviewShapeError('purview `day is not a date');
      const sub = field(v, 'subscription');
      return {
        kind,
        name: sym(field(v, 'name'), 'name'),
        pool: sym(field(v, 'pool'), 'pool'),
        state: sym(field(v, 'state'), 'state'),
        day: dateToIso(day.value),
        firstI: longOrNull(field(v, 'firstI'), 'firstI') ?? 0,
        lastI: longOrNull(field(v, 'lastI'), 'lastI'),
        lastProcessed: longOrNull(field(v, 'lastProcessed'), 'lastProcessed') ?? 0,
        subscription: { tables: syms(field(sub, 'tables'), 'subscription.tables'), syms: syms(field(sub, 'syms'), 'subscription.syms') },
        tables: ranges(field(v, 'tables')).rs,
        flushed: flushedOf(v),
      };
    }
    if (kind === 'hdb') {
      const { t, rs } = ranges(field(v, 'tables'));
      const day = dates(col(t, 'day'), 'tables.day');
      return { kind, days: dates(field(v, 'days'), 'days'), tables: rs.map((r, i) => ({ ...r, day: day[i]! })) };
    }
    throw new PurviewShapeError(`purview \`kind is ${kind}, not rdb or hdb`);
  } catch (e) {
    if (e instanceof PurviewShapeError) throw new Error(`unreadable purview: ${e.message}`);
    throw e;
  }
}
