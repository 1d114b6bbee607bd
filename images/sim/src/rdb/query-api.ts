// The RDB's answer to the query API (images/sim/src/query): getData over
// the tables it holds, purview from its status and its rows' time range.

import type { RdbStatusFile } from '../../../../operator/src/api/rdb-status.ts';
import type { QueryBackend } from '../query/api.ts';
import { timeRange, type RdbPurview } from '../query/purview.ts';
import type { TableStore } from './table-store.ts';

export function rdbQueryBackend(store: TableStore, status: () => RdbStatusFile): QueryBackend {
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
          return { table, rows: time.length, ...timeRange(time) };
        }),
        flushed: s.flushed.map((f) => ({ day: f.day, rows: f.rows })),
      };
    },
  };
}
