// What a q feedhandler sends, accepted: `.u.upd[table; data]` over kdb+ IPC
// on its own port (KDB_TP_IPC_PORT). Each IPC connection is bridged to one
// feed connection of the tickerplant's own port, so an update goes the
// path every feed's update goes (validateUpdate, the log, the group commit,
// the publish): nothing here logs or publishes by itself.
//
//   neg[h](`.u.upd; `trade; (`AAPL`MSFT; 10.5 11.25; 100 200))   time left out: the tickerplant stamps it
//   neg[h](`.u.upd; `trade; (.z.p; `AAPL; 10.5; 100))          one row as atoms
//   neg[h](`.u.upd; `trade; ([] time:...; sym:...; ...))       a table, columns by name
//   h(`.u.upd; `trade; data)                                   sync: answers (::) once the update is durable, or the error
//
// `upd` is accepted as well as `.u.upd`. A refused async update is answered
// as tick.q does, with an async `(`.feed.error; "message")` to that feed.
// Times are kept to the millisecond (see query/columns.ts timestampToMs).

import net from 'node:net';
import { listen, q, serveIpcConnection, type Authenticate, type IpcPeer, type IpcServeOptions, type QValue } from '../../../../ipc/src/index.ts';
import { ConfigError } from '../config.ts';
import { encodeControl, encodeUpdate, FrameReader, parseControl } from '../protocol/framing.ts';
import { describe, fromQColumn } from '../query/columns.ts';
import { authenticateFromEnv } from '../query/serve.ts';
import { validateUpdate, type Column, type SchemaMap, type TableSchema } from '../schema.ts';
import type { Logger } from '../util/logger.ts';

type Env = Record<string, string | undefined>;

/** KDB_TP_IPC_PORT: the kdb+ IPC feed port; unset or empty, no such port (the JSON feed port alone). */
export function ipcFeedPort(env: Env): number | undefined {
  const raw = env.KDB_TP_IPC_PORT;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`KDB_TP_IPC_PORT is invalid (${JSON.stringify(raw)}): a TCP port 1..65535, or empty for none`);
  return n;
}

/** A feed's refusal: the message names the table and column and what they take. */
export class UpdateError extends Error {}

const isAtom = (v: QValue) => v.kind === 'atom';

/** `.u.upd`'s data as the columns of a feed update ({t, c}, time first or left out), checked against the table's schema. */
export function updateFromQ(schema: TableSchema, data: QValue): Column[] {
  const specs = schema.columns;
  let items: QValue[];
  if (data.kind === 'table') {
    const names = specs.map((c) => c.name);
    const extra = data.columns.find((c) => !names.includes(c));
    if (extra !== undefined) throw new UpdateError(`table ${schema.name} has no column ${extra}; its columns are ${names.join(', ')}`);
    const wanted = data.columns.includes('time') ? names : names.slice(1);
    const missing = wanted.find((c) => !data.columns.includes(c));
    if (missing !== undefined) throw new UpdateError(`table ${schema.name}: the update has no column ${missing}`);
    items = wanted.map((c) => data.data[data.columns.indexOf(c)]!);
  } else if (data.kind === 'list') items = data.values;
  else throw new UpdateError(`the data of .u.upd must be a list of columns, one row of atoms or a table, got ${describe(data)}`);
  const offset = items.length === specs.length - 1 ? 1 : 0;
  if (items.length !== specs.length && offset === 0) throw new UpdateError(`table ${schema.name} has ${specs.length} columns (or ${specs.length - 1} without time), got ${items.length}`);
  // One row: every item an atom, or a string for a string column.
  const oneRow = items.every((v, k) => isAtom(v) || (specs[k + offset]!.type === 'string' && v.kind === 'vector' && v.type === 'char'));
  return items.map((v, k) => {
    const spec = specs[k + offset]!;
    let col: QValue = v;
    if (oneRow) col = v.kind === 'atom' ? (v.type === 'char' ? q.list(q.string(v.value)) : ({ kind: 'vector', type: v.type, values: vectorOf(v) } as QValue)) : q.list(v);
    const out = fromQColumn(spec.type, col);
    if (typeof out === 'string') throw new UpdateError(`table ${schema.name} column ${spec.name}: ${out}`);
    return out;
  });
}

/** The one-item storage of an atom's vector type. */
function vectorOf(a: Extract<QValue, { kind: 'atom' }>): unknown {
  return (q.vector(a.type, [a.value] as never) as { values: unknown }).values;
}

/** The table and data of an `.u.upd` call, or why it is not one. */
export function parseUpd(value: QValue): { table: string; data: QValue } {
  if (value.kind === 'vector' && value.type === 'char') throw new UpdateError('free-form q is not evaluated here: send (`.u.upd; `table; data)');
  if (value.kind !== 'list' || value.values.length === 0) throw new UpdateError(`this port takes (\`.u.upd; \`table; data), got ${describe(value)}`);
  const [head, table, data, ...more] = value.values;
  const name = head!.kind === 'atom' && head!.type === 'symbol' ? head!.value : head!.kind === 'vector' && head!.type === 'char' ? head!.values : undefined;
  if (name !== '.u.upd' && name !== 'upd') throw new UpdateError(`this port answers .u.upd only, got ${name === undefined ? describe(head!) : JSON.stringify(name)} as the function`);
  if (table === undefined || data === undefined || more.length > 0) throw new UpdateError(`.u.upd takes two arguments (table; data), got ${value.values.length - 1}`);
  const t = table.kind === 'atom' && table.type === 'symbol' ? table.value : table.kind === 'vector' && table.type === 'char' ? table.values : undefined;
  if (t === undefined) throw new UpdateError(`.u.upd: the table must be a symbol, got ${describe(table)}`);
  return { table: t, data };
}

/** One bridge: an IPC feed's updates on one feed connection of the tickerplant. */
class Bridge {
  private readonly socket: net.Socket;
  private readonly reader = new FrameReader();
  private syncs = new Map<number, (refused: number) => void>();
  private nextSync = 1;
  private refusedSeen = 0;
  private lastError = '';
  readonly closed: Promise<void>;

  constructor(host: string, port: number, onRefused: (message: string) => void) {
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk) => {
      for (const f of this.reader.push(chunk)) {
        const m = parseControl(f.body);
        if (m.op === 'error') {
          this.lastError = String(m.message);
          onRefused(this.lastError);
        } else if (m.op === 'synced') {
          const done = this.syncs.get(Number(m.id));
          this.syncs.delete(Number(m.id));
          done?.(Number(m.refused));
        }
      }
    });
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
    this.socket.on('error', () => {});
  }

  send(table: string, columns: Column[]): void {
    // The updates of one read from the feed go to the tickerplant in one write (and so are logged in one).
    if (this.socket.writableCorked === 0) {
      this.socket.cork();
      process.nextTick(() => this.socket.uncork());
    }
    this.socket.write(encodeUpdate(table, columns as unknown[][]));
  }

  /** Resolves once everything sent so far is durable; rejects with the tickerplant's error if something since the last barrier was refused. */
  barrier(): Promise<void> {
    const id = this.nextSync++;
    return new Promise((resolve, reject) => {
      this.syncs.set(id, (refused) => {
        if (refused > this.refusedSeen) {
          this.refusedSeen = refused;
          reject(new UpdateError(this.lastError));
        } else resolve();
      });
      this.socket.write(encodeControl({ op: 'sync', id }));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface IpcFeedOptions {
  schemas: SchemaMap;
  /** Where the tickerplant's own feed port is. */
  tpHost: string;
  tpPort: number;
  env: Env;
  log: Logger;
}

/** The IPC serve options of one feed connection; `bridge` opens its tickerplant connection on first use. */
function feedServeOptions(o: IpcFeedOptions, authenticate: Authenticate | undefined, bridge: (peer: IpcPeer) => Bridge): IpcServeOptions {
  const toColumns = (value: QValue): { table: string; columns: Column[] } => {
    const { table, data } = parseUpd(value);
    const schema = o.schemas.get(table);
    if (schema === undefined) throw new UpdateError(`unknown table ${table}; the tickerplant has ${[...o.schemas.keys()].join(', ')}`);
    const columns = updateFromQ(schema, data);
    // The check the tickerplant makes too, so a refusal is answered here, on the update that caused it.
    const v = validateUpdate(o.schemas, { t: table, c: columns });
    if (!v.ok) throw new UpdateError(v.error);
    return { table, columns };
  };
  return {
    ...(authenticate ? { authenticate } : {}),
    onAsync(value, peer) {
      let u: { table: string; columns: Column[] };
      try {
        u = toColumns(value);
      } catch (e) {
        if (!(e instanceof UpdateError)) throw e;
        peer.sendAsync(feedError(e.message));
        return;
      }
      bridge(peer).send(u.table, u.columns);
    },
    async onSync(value, peer) {
      const u = toColumns(value);
      const b = bridge(peer);
      b.send(u.table, u.columns);
      await b.barrier();
      return q.identity();
    },
    onEvent: (e) => {
      if (e.kind === 'refused') o.log.warn('kdb+ feed refused: bad credentials', { user: e.user, remote: e.remote });
      else if (e.kind === 'bad-frame') o.log.warn('kdb+ feed message not decodable', { user: e.user, reason: e.reason, error: e.message });
      else if (e.kind === 'closed-broken-stream') o.log.warn('kdb+ feed closed: stream lost its framing', { user: e.user, remote: e.remote, error: e.message });
      else if (e.kind === 'async-error') o.log.error('kdb+ feed update failed', { user: e.user, error: e.error.message });
    },
  };
}

/** What tick.q sends a feed whose update it refused. */
const feedError = (message: string): QValue => q.list(q.symbol('.feed.error'), q.string(message));

/** Listens for kdb+ IPC feeds; resolves once bound. */
export function startIpcFeed(o: IpcFeedOptions, port: number, host: string): Promise<net.Server> {
  const authenticate = authenticateFromEnv(o.env);
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let bridge: Bridge | undefined;
    const bridgeFor = (peer: IpcPeer): Bridge => {
      if (bridge === undefined) {
        bridge = new Bridge(o.tpHost, o.tpPort, (message) => peer.sendAsync(feedError(message)));
        // The tickerplant connection gone: so is this feed's, so the feed knows and reconnects.
        void bridge.closed.then(() => socket.destroy());
      }
      return bridge;
    };
    serveIpcConnection(socket, feedServeOptions(o, authenticate, bridgeFor));
    socket.on('close', () => bridge?.close());
  });
  return listen(server, port, host);
}
