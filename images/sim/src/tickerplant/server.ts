import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import type { TickerplantConfig } from '../config.ts';
import { logPathFor, LogWriter, scanLog, truncateLog } from '../log/tplog.ts';
import { encodeControl, FrameReader, FrameType, parseControl, publishHeader } from '../protocol/framing.ts';
import type { AssignMsg, EodMsg, SubscribeMsg } from '../protocol/messages.ts';
import { schemaMap, validateUpdate, type SchemaMap } from '../schema.ts';
import type { Logger } from '../util/logger.ts';
import { StateStore } from './state-store.ts';
import * as queue from './subscriber-queue.ts';
import { addDays, tradingDayAt } from './trading-day.ts';

export class CorruptLogError extends Error {}

interface RdbLink {
  pool: string;
  name: string;
  /** Highest message number this RDB has been given (replay window end or last publish). */
  sentI: number;
  live: boolean;
}

interface Conn {
  socket: net.Socket;
  reader: FrameReader;
  updates: number;
  refused: number;
  rdb: RdbLink | null;
}

interface Pending {
  i: number;
  payload: Buffer;
}

const key = (pool: string, name: string): string => `${pool}/${name}`;

/**
 * The reference tickerplant. Single-threaded on purpose: a message is logged,
 * then counted, then published, and registration reads the count in the same
 * synchronous step, so no publish can slip between a window end and the
 * first live message of a new subscriber.
 */
export class Tickerplant {
  readonly cfg: TickerplantConfig;
  private readonly log: Logger;
  private readonly schemas: SchemaMap;
  private readonly store: StateStore;
  private table!: queue.QueueTable;
  private writer!: LogWriter;
  private count = 0;
  private server: net.Server | null = null;
  private readonly conns = new Set<Conn>();
  private readonly rdbs = new Map<string, Conn>();
  private readonly live = new Map<string, Conn>();
  private pending: Pending[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;

  constructor(cfg: TickerplantConfig, log: Logger, now: () => number = Date.now) {
    this.cfg = cfg;
    this.log = log;
    this.schemas = schemaMap(cfg.schema);
    this.store = new StateStore(cfg.stateDir);
    this.now = now;
  }

  get day(): string {
    return this.table.day;
  }

  get messageCount(): number {
    return this.count;
  }

  get address(): net.AddressInfo {
    return this.server!.address() as net.AddressInfo;
  }

  async start(): Promise<void> {
    mkdirSync(this.cfg.logDir, { recursive: true });
    const today = tradingDayAt(this.now(), this.cfg.eodMinutes, this.cfg.tz);
    const saved = this.store.load();
    this.table = saved ?? queue.emptyTable(today);
    // Down across an end of day: the subscribers learn the new day when they reconnect.
    if (this.table.day < today) this.table = queue.endOfDay(this.table, today);
    this.openLog();
    this.store.save(this.table);
    for (const s of this.table.subscribers)
      if (s.lastI !== null && s.lastI > this.count)
        this.log.warn('subscriber window beyond the log', { name: s.name, lastI: s.lastI, count: this.count });

    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.cfg.port, this.cfg.host, () => resolve());
    });
    if (this.cfg.batchMs > 0) this.timers.push(setInterval(() => this.publishPending(), this.cfg.batchMs));
    this.timers.push(setInterval(() => this.checkEndOfDay(), 250));
    this.log.info('tickerplant started', { host: this.cfg.host, port: this.address.port, day: this.day, count: this.count, log: this.writer.path });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.publishPending();
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.writer?.close();
  }

  /** Validates the day's log; a corrupt tail stops the tickerplant unless told to truncate it. */
  private openLog(): void {
    const path = logPathFor(this.cfg.logDir, this.day);
    this.count = 0;
    if (existsSync(path)) {
      const scan = scanLog(path);
      if (scan.corruption !== null) {
        const cmd = `node images/sim/src/main.ts truncate-log ${path} ${scan.validBytes}`;
        if (!this.cfg.truncateCorruptLog)
          throw new CorruptLogError(
            `tickerplant log ${path} is corrupt after byte ${scan.validBytes} of ${scan.totalBytes} (${scan.count} whole messages): ${scan.corruption}. ` +
              `Truncate to length ${scan.validBytes} and restart: ${cmd} (or set KDB_TRUNCATE_CORRUPT_LOG=1)`,
          );
        this.log.warn('truncating corrupt log tail', { path, validBytes: scan.validBytes, totalBytes: scan.totalBytes, count: scan.count, why: scan.corruption });
        truncateLog(path, scan.validBytes);
      }
      this.count = scan.count;
    }
    this.writer = new LogWriter(path);
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn: Conn = { socket, reader: new FrameReader(), updates: 0, refused: 0, rdb: null };
    this.conns.add(conn);
    socket.on('data', (chunk) => this.onData(conn, chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose(conn));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    let frames;
    try {
      frames = conn.reader.push(chunk);
    } catch (e) {
      this.send(conn, { op: 'error', message: `protocol error: ${(e as Error).message}` });
      conn.socket.end();
      return;
    }
    // Updates of one chunk are logged with one write, then counted, then published.
    let batch: Buffer[] = [];
    for (const f of frames) {
      if (f.type === FrameType.UPDATE) {
        const payload = this.acceptUpdate(conn, f.body);
        if (payload) batch.push(payload);
      } else {
        if (batch.length) this.ingest(batch);
        batch = [];
        if (f.type === FrameType.CONTROL) this.onControl(conn, f.body);
        else this.send(conn, { op: 'error', message: `unexpected frame type ${f.type}` });
      }
    }
    if (batch.length) this.ingest(batch);
  }

  /** Returns the bytes to log, or null after telling the feed why the update was refused. */
  private acceptUpdate(conn: Conn, body: Buffer): Buffer | null {
    const seq = ++conn.updates;
    let msg: unknown;
    try {
      msg = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return this.refuse(conn, seq, `not JSON: ${(e as Error).message}`);
    }
    const v = validateUpdate(this.schemas, msg);
    if (!v.ok) return this.refuse(conn, seq, v.error);
    if (!v.needsTime) return body;
    const stamp = this.now();
    const time = new Array<number>(v.rows).fill(stamp);
    return Buffer.from(JSON.stringify({ t: v.table.name, c: [time, ...v.columns] }));
  }

  private refuse(conn: Conn, seq: number, message: string): null {
    conn.refused++;
    this.send(conn, { op: 'error', seq, message: `update ${seq} refused: ${message}` });
    return null;
  }

  private ingest(payloads: Buffer[]): void {
    this.writer.append(payloads); // logged before counted
    const first = this.count + 1;
    this.count += payloads.length;
    if (this.cfg.batchMs > 0) {
      for (let k = 0; k < payloads.length; k++) this.pending.push({ i: first + k, payload: payloads[k]! });
    } else {
      this.publish(payloads.map((payload, k) => ({ i: first + k, payload })));
    }
  }

  private publishPending(): void {
    if (this.pending.length === 0) return;
    const p = this.pending;
    this.pending = [];
    this.publish(p);
  }

  /** Only the live RDB of each pool is published to, and only what it was not given by its replay window. */
  private publish(msgs: readonly Pending[]): void {
    for (const conn of this.live.values()) {
      const link = conn.rdb!;
      const parts: Buffer[] = [];
      for (const m of msgs) {
        if (m.i <= link.sentI) continue;
        parts.push(publishHeader(m.i, m.payload.length), m.payload);
        link.sentI = m.i;
      }
      if (parts.length) conn.socket.write(Buffer.concat(parts));
    }
  }

  private onControl(conn: Conn, body: Buffer): void {
    let msg: ReturnType<typeof parseControl>;
    try {
      msg = parseControl(body);
    } catch (e) {
      this.send(conn, { op: 'error', message: `bad control message: ${(e as Error).message}` });
      return;
    }
    switch (msg.op) {
      case 'subscribe':
        return this.onSubscribe(conn, msg as unknown as SubscribeMsg);
      case 'roll':
        return this.onRoll(conn, Number(msg.lastI));
      case 'sync':
        this.publishPending();
        return this.send(conn, { op: 'synced', id: msg.id, day: this.day, count: this.count, refused: conn.refused });
      case 'end-of-day': {
        const day = this.day;
        const count = this.count;
        const nextDay = this.endOfDay(addDays(day, 1));
        return this.send(conn, { op: 'end-of-day-done', day, nextDay, count });
      }
      case 'subscribers':
        return this.send(conn, { op: 'subscribers', day: this.day, count: this.count, logPath: this.writer.path, subscribers: this.table.subscribers });
      default:
        return this.send(conn, { op: 'error', message: `unknown op ${JSON.stringify(msg.op)}` });
    }
  }

  private onSubscribe(conn: Conn, msg: SubscribeMsg): void {
    const bad = (m: string) => {
      this.send(conn, { op: 'error', message: m });
      conn.socket.end();
    };
    if (typeof msg.name !== 'string' || typeof msg.pool !== 'string' || !msg.name || !msg.pool) return bad('subscribe needs name and pool');
    const tables = Array.isArray(msg.tables) ? msg.tables.map(String) : [];
    for (const t of tables) if (!this.schemas.has(t)) return bad(`unknown table ${t}`);
    // What it holds of an older day is flushed by the RDB itself on seeing the new day; it counts for nothing here.
    const held = msg.held && msg.held.day === this.day ? msg.held : null;
    const r = queue.subscribe(
      this.table,
      { name: msg.name, pool: msg.pool, tables, syms: Array.isArray(msg.syms) ? msg.syms.map(String) : [], replaces: msg.replaces ?? null, held },
      this.count,
      new Date(this.now()).toISOString(),
    );
    if (!r.ok) return bad(r.error);
    const k = key(msg.pool, msg.name);
    const previous = this.rdbs.get(k);
    if (previous && previous !== conn) {
      // A reconnect overtook the close of its old connection: the old one no longer speaks for it.
      previous.rdb = null;
      previous.socket.destroy();
    }
    conn.rdb = { pool: msg.pool, name: msg.name, sentI: 0, live: false };
    this.rdbs.set(k, conn);
    this.commit(r.table, [r.value.assignment, ...r.value.promoted]);
  }

  private onRoll(conn: Conn, lastI: number): void {
    const link = conn.rdb;
    if (!link) return this.send(conn, { op: 'error', message: 'roll before subscribe' });
    const r = queue.roll(this.table, link.pool, link.name, lastI, this.count, new Date(this.now()).toISOString());
    if (!r.ok) return this.send(conn, { op: 'error', message: r.error });
    this.commit(r.table, r.value);
  }

  private onClose(conn: Conn): void {
    this.conns.delete(conn);
    const link = conn.rdb;
    if (!link || this.rdbs.get(key(link.pool, link.name)) !== conn) return;
    this.rdbs.delete(key(link.pool, link.name));
    if (this.live.get(link.pool) === conn) this.live.delete(link.pool);
    const r = queue.disconnect(this.table, link.pool, link.name, link.sentI, this.count, new Date(this.now()).toISOString());
    if (r.ok) this.commit(r.table, r.value);
    this.log.info('subscriber disconnected', { pool: link.pool, name: link.name, sentI: link.sentI });
  }

  /**
   * Saves the table, then tells each RDB concerned its role; all in the
   * current synchronous step, with the count the assignments were made at.
   */
  private commit(table: queue.QueueTable, assignments: readonly queue.Assignment[]): void {
    this.table = table;
    this.store.save(table);
    // Pools whose live RDB changed stop publishing to the old one now.
    for (const [pool, conn] of this.live) {
      const s = queue.liveOf(table, pool);
      if (!s || !conn.rdb || s.name !== conn.rdb.name) {
        if (conn.rdb) conn.rdb.live = false;
        this.live.delete(pool);
      }
    }
    if (assignments.some((a) => a.role !== 'queued')) this.writer.sync();
    for (const a of assignments) {
      const from = a.day !== undefined ? (table.previous?.subscribers ?? []) : table.subscribers;
      const s = from.find((x) => x.name === a.name && x.replacedBy === null);
      if (!s) continue;
      const conn = this.rdbs.get(key(s.pool, s.name));
      if (!conn || !conn.rdb) continue; // told when it reconnects
      if (a.role === 'live') {
        conn.rdb.live = true;
        conn.rdb.sentI = a.replayTo;
        this.live.set(s.pool, conn);
      } else if (a.role === 'rolled') {
        conn.rdb.sentI = a.lastI ?? 0;
      }
      const msg: AssignMsg = {
        op: 'assign',
        day: a.day ?? this.day,
        logPath: a.day !== undefined ? logPathFor(this.cfg.logDir, a.day) : this.writer.path,
        ...(a.day !== undefined ? { currentDay: this.day } : {}),
        role: a.role,
        firstI: a.firstI,
        replayFrom: a.replayFrom,
        replayTo: a.replayTo,
        lastI: a.lastI,
        schema: this.cfg.schema,
      };
      this.send(conn, msg);
    }
  }

  private checkEndOfDay(): void {
    const today = tradingDayAt(this.now(), this.cfg.eodMinutes, this.cfg.tz);
    if (today > this.day) this.endOfDay(today);
  }

  /**
   * Everything of the day is published first; then every subscriber is told
   * once, the log closed and the next day's opened, the counter reset.
   */
  endOfDay(nextDay: string): string {
    this.publishPending();
    const day = this.day;
    const messages = this.count;
    const eod: EodMsg = { op: 'eod', day, nextDay };
    for (const conn of this.rdbs.values()) this.send(conn, eod);
    this.writer.close();
    this.table = queue.endOfDay(this.table, nextDay);
    this.store.save(this.table);
    this.openLog();
    for (const conn of this.live.values()) conn.rdb!.sentI = 0;
    // Rolled RDBs leave the table at end of day; their connections stay until they go.
    for (const [k, conn] of this.rdbs) {
      const link = conn.rdb!;
      if (!this.table.subscribers.some((s) => s.pool === link.pool && s.name === link.name)) {
        conn.rdb = null;
        this.rdbs.delete(k);
      }
    }
    this.log.info('end of day', { day, nextDay, messages });
    return nextDay;
  }

  private send(conn: Conn, msg: object): void {
    if (!conn.socket.destroyed) conn.socket.write(encodeControl(msg));
  }
}
