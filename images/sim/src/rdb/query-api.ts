// The RDB's answer to the query API (images/sim/src/query): getData over
// the tables it holds, purview from its status and its rows' time range.

import type { RdbStatusFile } from '../../../../operator/src/api/rdb-status.ts';
import type { QueryBackend } from '../query/api.ts';
import { timeRange, type RdbPurview } from '../query/purview.ts';
import type { TableStore } from './table-store.ts';

/**
 * The first and last time of a table, kept up to date by scanning only the
 * rows appended since the last call: columns only grow until the store
 * replaces them (a clear or reset gives new arrays, and then it scans
 * again). The gateway asks for purview twice a query.
 */
class TimeRanges {
  private readonly seen = new Map<string, { col: readonly number[]; upTo: number; lo: number; hi: number }>();

  of(table: string, time: readonly number[]): { firstTime: number | null; lastTime: number | null } {
    let s = this.seen.get(table);
    if (s === undefined || s.col !== time || time.length < s.upTo) s = { col: time, upTo: 0, lo: Infinity, hi: -Infinity };
    if (time.length > s.upTo) {
      const tail = timeRange(time.slice(s.upTo));
      s.lo = Math.min(s.lo, tail.firstTime!);
      s.hi = Math.max(s.hi, tail.lastTime!);
      s.upTo = time.length;
    }
    this.seen.set(table, s);
    return s.upTo === 0 ? { firstTime: null, lastTime: null } : { firstTime: s.lo, lastTime: s.hi };
  }
}

export function rdbQueryBackend(store: TableStore, status: () => RdbStatusFile): QueryBackend {
  const ranges = new TimeRanges();
  return {
    parts(req) {
      const t = store.get(req.table);
      return t === undefined ? undefined : [{ columns: t.schema.columns, data: t.columns }];
    },
    columnsOf: (table) => store.get(table)?.schema.columns,
    tableNames: () => store.names,
    purview(): RdbPurview {
      const s = status();
      return {
        kind: 'rdb',
        name: s.name,
        pool: s.pool,
        state: s.state,
        day: s.day,
        firstI: s.window.firstI,
        lastI: s.window.lastI,
        lastProcessed: s.window.lastProcessed,
        subscription: store.subscription,
        tables: store.names.map((table) => {
          const time = store.get(table)!.columns[0] as number[];
          return { table, rows: time.length, ...ranges.of(table, time) };
        }),
        flushed: s.flushed.map((f) => ({ day: f.day, rows: f.rows })),
      };
    },
  };
}
