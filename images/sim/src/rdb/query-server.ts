import http from 'node:http';
import type net from 'node:net';
import { serveIpcConnection, type IpcServeOptions } from '../../../../ipc/src/index.ts';
import { listenSniffing } from '../query/serve.ts';
import type { RowFilter, TableStore } from './table-store.ts';

/**
 * The RDB's query port. kdb+ IPC clients (q's hopen, PyKX, node-q, the
 * gateway) get the read-only query API (images/sim/src/query: getData,
 * purview) through `ipc`; HTTP clients get the queries below. Which one a
 * connection speaks is told by its first bytes (query/sniff.ts).
 *
 * Simple queries over HTTP (curl-able in the demo), answered from what the
 * RDB holds:
 *   GET /count?table=T[&from=&to=&syms=a,b]       -> {table, rows}
 *   GET /rows?table=T[&from=&to=&syms=&limit=]    -> {table, columns, data (columnar)}
 *   GET /checksum[?table=T]                       -> {tables: {T: {rows, checksum}}}
 *   GET /status                                   -> the status file content
 * from/to are epoch milliseconds or ISO times; rows have from <= time < to.
 */
const parseTime = (v: string | null): number | undefined => {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`not a time: ${v}`);
  return t;
};

export const startQueryServer = (host: string, port: number, store: TableStore, status: () => object, ipc?: IpcServeOptions): Promise<net.Server> => {
  const server = http.createServer((req, res) => {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://rdb');
      const q = url.searchParams;
      const filter: RowFilter = {};
      const from = parseTime(q.get('from'));
      const to = parseTime(q.get('to'));
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      if (q.get('syms')) filter.syms = new Set(q.get('syms')!.split(','));
      const table = q.get('table');
      const needTable = (): string => {
        if (!table || !store.get(table)) throw Object.assign(new Error(`unknown table ${table}`), { status: 404 });
        return table;
      };
      switch (url.pathname) {
        case '/count':
          return reply(200, { table: needTable(), rows: store.count(needTable(), filter) });
        case '/rows': {
          const limit = q.get('limit') ? Number(q.get('limit')) : Infinity;
          return reply(200, { table: needTable(), ...store.select(needTable(), filter, limit) });
        }
        case '/checksum': {
          const names = table ? [needTable()] : store.names;
          return reply(200, { tables: Object.fromEntries(names.map((n) => [n, store.checksum(n)])) });
        }
        case '/status':
          return reply(200, status());
        default:
          return reply(404, { error: `unknown query ${url.pathname}` });
      }
    } catch (e) {
      return reply((e as { status?: number }).status ?? 400, { error: (e as Error).message });
    }
  });
  const refuse: IpcServeOptions = { onSync: () => { throw new Error('this RDB serves no kdb+ IPC queries'); } };
  return listenSniffing(server, (socket, head) => serveIpcConnection(socket, ipc ?? refuse, head), port, host);
};
