import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import type { TickerplantConfig } from '../config.ts';
import { commitPathFor, logPathFor, LogWriter, lostIn, readCommit, scanLog, truncateLog, type CommitRecord, type LostRange } from '../log/tplog.ts';
import { encodeControl, FrameReader, FrameType, parseControl, publishHeader } from '../protocol/framing.ts';
import type { AssignMsg, EodMsg, SubscribeMsg } from '../protocol/messages.ts';
import { schemaMap, validateUpdate, type SchemaMap } from '../schema.ts';
import type { Logger } from '../util/logger.ts';
import type { TickerplantStats } from './metrics.ts';
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
  /** Since when bytes have waited in user space for this socket, and how many had reached the kernel then. */
  backlog: { since: number; flushed: number } | null;
}

interface Conn {
  socket: net.Socket;
  reader: FrameReader;
  updates: number;
  refused: number;
  rdb: RdbLink | null;
  /** The feed id this connection speaks for (after hello); its updates are that feed's next sequence numbers. */
  feed: string | null;
  /** Last sequence of its feed this connection was told is durable. */
  acked: number;
}

/** Something that waits for a commit to cover message `count` (a sync barrier or a feed's hello). */
interface Waiter {
  count: number;
  answer: () => void;
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
  /** Highest message number logged (written, maybe not yet durable). */
  private count = 0;
  /** Highest message number a commit made durable: the only numbers published, windowed or acknowledged. */
  private durable = 0;
  private epoch = 0;
  /** Messages made durable since this process started (for metrics: only grows, across end of day). */
  private durableSinceStart = 0;
  private lost: LostRange[] = [];
  /** Per feed id, the last sequence handled (logged or refused), and the part of it durable. */
  private feeds = new Map<string, number>();
  private durableFeeds: Record<string, number> = {};
  private feedConns = new Map<string, Conn>();
  private unsynced: Pending[] = [];
  private unsyncedHead = 0;
  private committing = false;
  private commitWanted = false;
  private waiters: Waiter[] = [];
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
    return this.durable;
  }

  /** What its metrics read at a scrape (metrics.ts); nothing on the message path. */
  stats(): TickerplantStats {
    return {
      day: this.day,
      messagesSinceStart: this.durableSinceStart,
      dayMessages: this.durable,
      logBytes: this.writer.bytes,
      subscribers: this.table.subscribers,
      connectedRdbs: this.rdbs.size,
      connectedFeeds: this.feedConns.size,
    };
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
    if (this.table.day < today) this.table = queue.endOfDay(this.table, today, readCommit(commitPathFor(this.cfg.logDir, this.table.day))?.count ?? null);
    this.openLog(this.tableHighWater());
    this.store.save(this.table);

    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.cfg.port, this.cfg.host, () => resolve());
    });
    if (this.cfg.batchMs > 0) this.timers.push(setInterval(() => this.publishPending(), this.cfg.batchMs));
    this.timers.push(setInterval(() => this.checkEndOfDay(), 250));
    this.timers.push(setInterval(() => this.checkStalledSubscribers(), Math.min(1000, this.cfg.subscriberStallMs)));
    this.log.info('tickerplant started', { host: this.cfg.host, port: this.address.port, day: this.day, count: this.count, epoch: this.epoch, log: this.writer.path });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.commitNow();
    this.publishPending();
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.writer?.close();
  }

  /** The highest message number today's subscriber table says was handed out (a window bound). */
  private tableHighWater(): number {
    let hw = 0;
    for (const s of this.table.subscribers) hw = Math.max(hw, s.firstI, s.lastI ?? 0);
    return hw;
  }

  /**
   * Opens the day's log. What follows the last commit was never published
   * nor acknowledged to a feed: it is cut (the feed resends it). A corrupt
   * committed part stops the tickerplant unless told to truncate it. A log
   * shorter than what was handed out (the commit record, or a window in
   * `handedOut`) lost published messages: numbering goes on above them in a
   * new epoch, never reusing a number, and windows that need them are refused.
   */
  private openLog(handedOut = 0): void {
    const path = logPathFor(this.cfg.logDir, this.day);
    const commitPath = commitPathFor(this.cfg.logDir, this.day);
    const commit = readCommit(commitPath);
    this.count = 0;
    this.epoch = commit?.epoch ?? 0;
    this.lost = commit?.lost ?? [];
    if (existsSync(path)) {
      let scan = scanLog(path);
      if (commit && scan.validBytes >= commit.bytes && scan.totalBytes > commit.bytes) {
        this.log.warn('cutting the uncommitted log tail (never published; feeds resend it)', {
          path, committedBytes: commit.bytes, totalBytes: scan.totalBytes, committedCount: commit.count, why: scan.corruption ?? 'whole entries after the last commit',
        });
        truncateLog(path, commit.bytes);
        scan = scanLog(path);
      }
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
      this.epoch = Math.max(this.epoch, scan.epoch);
      for (const r of scan.lost) if (!this.lost.some(([a, b]) => a === r[0] && b === r[1])) this.lost.push(r);
    }
    this.feeds = new Map(Object.entries(commit?.feeds ?? this.carriedFeeds()));
    this.durableFeeds = Object.fromEntries(this.feeds);
    this.writer = new LogWriter(path, commitPath);
    const highest = Math.max(commit?.count ?? 0, handedOut);
    if (this.count < highest) {
      const from = this.count + 1;
      this.epoch++;
      this.writer.appendEpoch(this.epoch, highest + 1);
      this.lost.push([from, highest]);
      this.log.error('the tickerplant log lost published messages: numbering goes on above them in a new epoch; windows that need them are refused', {
        path, lostFrom: from, lostTo: highest, epoch: this.epoch, nextI: highest + 1,
      });
      this.count = highest;
    }
    this.durable = this.count;
    this.writer.commitSync(this.commitRecord());
  }

  /** Feed positions carried into a day whose log has no commit record yet: the latest earlier day's. */
  private carriedFeeds(): Record<string, number> {
    if (this.feeds.size) return Object.fromEntries(this.feeds);
    const days = readdirSync(this.cfg.logDir)
      .map((f) => /^tp-(\d{4}-\d{2}-\d{2})\.commit$/.exec(f)?.[1])
      .filter((d): d is string => d !== undefined && d < this.day)
      .sort();
    const last = days.at(-1);
    return last ? (readCommit(commitPathFor(this.cfg.logDir, last))?.feeds ?? {}) : {};
  }

  private commitRecord(): Omit<CommitRecord, 'n'> {
    return { count: this.count, bytes: this.writer.bytes, epoch: this.epoch, lost: this.lost, feeds: Object.fromEntries(this.feeds) };
  }

  /** Starts a group commit unless one is running; the one running starts the next when it ends. */
  private requestCommit(): void {
    if (this.committing) {
      this.commitWanted = true;
      return;
    }
    this.commitWanted = false;
    this.committing = true;
    const writer = this.writer;
    const rec = this.commitRecord();
    const feeds = Object.fromEntries(this.feeds);
    writer.commit(rec, (e) => {
      this.committing = false;
      if (e) {
        // Never publish what may not be on disk: stop, and let the restart find the last good commit.
        this.log.error('log commit failed; stopping', { error: e.message, path: writer.path });
        process.exit(74);
      }
      if (writer === this.writer) this.onDurable(rec.count, feeds);
      if (this.commitWanted) this.requestCommit();
    });
  }

  /** Commits on the main thread (end of day, stop). */
  private commitNow(): void {
    if (!this.writer) return;
    const feeds = Object.fromEntries(this.feeds);
    this.writer.commitSync(this.commitRecord());
    this.onDurable(this.count, feeds);
  }

  /** A commit covers messages up to `count`: publish them, acknowledge feeds, answer barriers. */
  private onDurable(count: number, feeds: Record<string, number>): void {
    if (count < this.durable) return;
    this.durableSinceStart += count - this.durable;
    this.durable = count;
    this.durableFeeds = feeds;
    let k = this.unsyncedHead;
    while (k < this.unsynced.length && this.unsynced[k]!.i <= count) k++;
    if (k > this.unsyncedHead) {
      const ready = this.unsynced.slice(this.unsyncedHead, k);
      if (k === this.unsynced.length) {
        this.unsynced = [];
        this.unsyncedHead = 0;
      } else this.unsyncedHead = k;
      if (this.cfg.batchMs > 0) for (const m of ready) this.pending.push(m);
      else this.publish(ready);
    }
    for (const [id, conn] of this.feedConns) {
      const seq = feeds[id] ?? 0;
      if (seq > conn.acked) {
        conn.acked = seq;
        this.send(conn, { op: 'ack', feed: id, seq });
      }
    }
    if (this.waiters.length) {
      const due = this.waiters.filter((w) => w.count <= count);
      this.waiters = this.waiters.filter((w) => w.count > count);
      for (const w of due) w.answer();
    }
  }

  /** Runs `answer` once everything logged so far is durable. */
  private whenDurable(answer: () => void): void {
    if (this.durable >= this.count) return answer();
    this.waiters.push({ count: this.count, answer });
    this.requestCommit();
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    // A peer whose node vanished sends no FIN: probes after an idle spell find it (libuv probes every 1 s, 10 times).
    socket.setKeepAlive(true, this.cfg.keepAliveMs);
    const conn: Conn = { socket, reader: new FrameReader(), updates: 0, refused: 0, rdb: null, feed: null, acked: 0 };
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
    if (conn.feed !== null && (this.feeds.get(conn.feed) ?? 0) > conn.acked) this.requestCommit();
  }

  /** Returns the bytes to log, or null after telling the feed why the update was refused. */
  private acceptUpdate(conn: Conn, body: Buffer): Buffer | null {
    const seq = conn.feed !== null ? this.nextFeedSeq(conn.feed) : ++conn.updates;
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

  private nextFeedSeq(feed: string): number {
    const seq = (this.feeds.get(feed) ?? 0) + 1;
    this.feeds.set(feed, seq);
    return seq;
  }

  /**
   * A feed (re)connects under its id: once what it sent before is durable,
   * it is told the last sequence handled and resends only what follows. An
   * older connection of the same id no longer speaks for it.
   */
  private onHello(conn: Conn, feed: unknown): void {
    if (typeof feed !== 'string' || feed.length === 0 || feed.length > 200) return this.send(conn, { op: 'error', message: 'hello needs a feed id (1..200 characters)' });
    const previous = this.feedConns.get(feed);
    if (previous && previous !== conn) {
      previous.feed = null;
      previous.socket.destroy();
    }
    conn.feed = feed;
    this.feedConns.set(feed, conn);
    this.whenDurable(() => {
      if (conn.feed !== feed) return;
      conn.acked = this.durableFeeds[feed] ?? 0;
      this.send(conn, { op: 'welcome', feed, lastSeq: conn.acked, day: this.day, count: this.durable });
    });
  }

  private refuse(conn: Conn, seq: number, message: string): null {
    conn.refused++;
    this.send(conn, { op: 'error', seq, message: `update ${seq} refused: ${message}` });
    return null;
  }

  /** Logged, then counted; published only once a commit covers it (onDurable). */
  private ingest(payloads: Buffer[]): void {
    this.writer.append(payloads);
    const first = this.count + 1;
    this.count += payloads.length;
    for (let k = 0; k < payloads.length; k++) this.unsynced.push({ i: first + k, payload: payloads[k]! });
    this.requestCommit();
  }

  private publishPending(): void {
    if (this.pending.length === 0) return;
    const p = this.pending;
    this.pending = [];
    this.publish(p);
  }

  /**
   * Only the live RDB of each pool is published to, and only what it was not
   * given by its replay window. What a subscriber does not read waits in this
   * process: past the bound it is rolled, so one slow RDB never grows the
   * tickerplant or holds back the others.
   */
  private publish(msgs: readonly Pending[]): void {
    const over: Conn[] = [];
    for (const conn of this.live.values()) {
      const link = conn.rdb!;
      const parts: Buffer[] = [];
      for (const m of msgs) {
        if (m.i <= link.sentI) continue;
        parts.push(publishHeader(m.i, m.payload.length), m.payload);
        link.sentI = m.i;
      }
      if (parts.length) conn.socket.write(Buffer.concat(parts));
      if (conn.socket.writableLength > this.cfg.subscriberBufferBytes) over.push(conn);
    }
    for (const conn of over)
      this.rollSubscriber(conn, 'buffer bound passed', { bufferedBytes: conn.socket.writableLength, boundBytes: this.cfg.subscriberBufferBytes });
  }

  /** A live subscriber whose backlog has not moved for the stall time is dead under traffic (keepalive only probes idle sockets). */
  private checkStalledSubscribers(): void {
    const now = this.now();
    const stalled: Conn[] = [];
    for (const conn of this.live.values()) {
      const link = conn.rdb!;
      const waiting = conn.socket.writableLength;
      const flushed = conn.socket.bytesWritten - waiting;
      if (waiting === 0) link.backlog = null;
      else if (link.backlog === null || flushed > link.backlog.flushed) link.backlog = { since: now, flushed };
      else if (now - link.backlog.since >= this.cfg.subscriberStallMs) stalled.push(conn);
    }
    for (const conn of stalled)
      this.rollSubscriber(conn, 'no progress', { bufferedBytes: conn.socket.writableLength, stalledMs: now - conn.rdb!.backlog!.since });
  }

  /**
   * Rolls a live subscriber the tickerplant gives up on, at sentI: the last
   * message handed to its socket. Nothing after sentI can ever reach it, so
   * the window it holds is (firstI, sentI] and the next RDB goes live from
   * sentI and replays the rest from the log. What it did not receive of its
   * window it replays itself from the log when it reconnects (it is told
   * 'rolled' with that lastI), or its replacement replays the whole window.
   */
  private rollSubscriber(conn: Conn, why: string, detail: object): void {
    const link = conn.rdb;
    if (!link || this.live.get(link.pool) !== conn) return;
    const r = queue.disconnect(this.table, link.pool, link.name, link.sentI, this.durable, new Date(this.now()).toISOString());
    if (!r.ok) return;
    this.log.warn('rolling slow subscriber', { pool: link.pool, name: link.name, why, lastI: link.sentI, ...detail });
    // The old connection speaks for nothing any more: its buffered bytes are dropped with it.
    this.rdbs.delete(key(link.pool, link.name));
    conn.rdb = null;
    this.commit(r.table, r.value);
    conn.socket.destroy();
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
      case 'hello':
        return this.onHello(conn, msg.feed);
      case 'sync':
        return this.whenDurable(() => {
          this.publishPending();
          this.send(conn, { op: 'synced', id: msg.id, day: this.day, count: this.durable, refused: conn.refused });
        });
      case 'end-of-day': {
        const day = this.day;
        const asked = msg.day;
        if (asked !== undefined && (typeof asked !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(asked))) {
          return this.send(conn, { op: 'error', message: `end-of-day: day must be a date YYYY-MM-DD, got ${JSON.stringify(asked)}` });
        }
        // Already over: the day asked for ended (by its clock or an earlier request).
        if (asked !== undefined && asked < day) return this.send(conn, { op: 'end-of-day-done', day: asked, nextDay: day, count: 0, ended: false });
        if (asked !== undefined && asked > day) {
          return this.send(conn, { op: 'error', message: `end-of-day: ${asked} has not begun here (the tickerplant's day is ${day})` });
        }
        this.commitNow();
        const count = this.durable;
        const nextDay = this.endOfDay(addDays(day, 1));
        return this.send(conn, { op: 'end-of-day-done', day, nextDay, count, ended: true });
      }
      case 'roll-live':
        return this.onRollLive(conn, msg);
      case 'subscribers':
        return this.send(conn, {
          op: 'subscribers', day: this.day, count: this.durable, epoch: this.epoch, lost: this.lost, logPath: this.writer.path, subscribers: this.table.subscribers,
        });
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
    if (held && held.lastProcessed > this.durable) {
      // It holds messages this log never had: taking it on would hand its numbers out again.
      const message = `${msg.name} holds messages up to ${held.lastProcessed} but the tickerplant log ${this.writer.path} ends at ${this.durable}: refused (the log lost messages its commit record never saw)`;
      this.log.error('subscriber beyond the log refused', { pool: msg.pool, name: msg.name, lastProcessed: held.lastProcessed, count: this.durable });
      return this.send(conn, { op: 'error', code: 'WindowPastLog', message });
    }
    const r = queue.subscribe(
      this.table,
      {
        name: msg.name,
        pool: msg.pool,
        tables,
        syms: Array.isArray(msg.syms) ? msg.syms.map(String) : [],
        replaces: msg.replaces ?? null,
        replacesDay: typeof msg.replacesDay === 'string' ? msg.replacesDay : null,
        connected: new Set([...this.rdbs.values()].filter((c) => c !== conn && c.rdb?.pool === msg.pool).map((c) => c.rdb!.name)),
        held,
      },
      this.durable,
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
    conn.rdb = { pool: msg.pool, name: msg.name, sentI: 0, live: false, backlog: null };
    this.rdbs.set(k, conn);
    this.commit(r.table, [r.value.assignment, ...r.value.promoted]);
  }

  private onRoll(conn: Conn, lastI: number): void {
    const link = conn.rdb;
    if (!link) return this.send(conn, { op: 'error', message: 'roll before subscribe' });
    const r = queue.roll(this.table, link.pool, link.name, lastI, this.durable, new Date(this.now()).toISOString());
    if (!r.ok) return this.send(conn, { op: 'error', message: r.error });
    this.commit(r.table, r.value);
  }

  /**
   * The operator asks for the live RDB to roll now (queue.rollLive): at its
   * sentI, as a slow subscriber is, but its connection stays and it is told
   * it rolled. In the same synchronous step the next RDB is assigned live
   * from sentI, so no publish falls between the two windows.
   */
  private onRollLive(conn: Conn, msg: { [k: string]: unknown }): void {
    const { pool, rdb, next } = msg;
    if (typeof pool !== 'string' || typeof rdb !== 'string' || !pool || !rdb || (next !== undefined && (typeof next !== 'string' || !next))) {
      return this.send(conn, { op: 'error', message: 'roll-live needs pool and rdb (and optionally next), each a name' });
    }
    // Only a live RDB being published to has a sentI the tickerplant can stand behind.
    const liveConn = this.live.get(pool);
    const sentI = liveConn?.rdb?.name === rdb ? liveConn.rdb.sentI : undefined;
    const ready = new Set([...this.rdbs.values()].filter((c) => c.rdb?.pool === pool).map((c) => c.rdb!.name));
    const r = queue.rollLive(this.table, { pool, rdb, ...(typeof next === 'string' ? { next } : {}) }, sentI, this.durable, ready, new Date(this.now()).toISOString());
    if (r.outcome.rolled) {
      this.log.info('rolled live subscriber on request', { pool, name: rdb, lastI: r.outcome.lastI, next: r.outcome.next });
      this.commit(r.table, r.assignments);
    } else this.log.info('roll of live subscriber refused', { pool, name: rdb, reason: r.outcome.reason });
    this.send(conn, { op: 'roll-live-done', pool, rdb, ...r.outcome });
  }

  private onClose(conn: Conn): void {
    this.conns.delete(conn);
    if (conn.feed !== null && this.feedConns.get(conn.feed) === conn) this.feedConns.delete(conn.feed);
    const link = conn.rdb;
    if (!link || this.rdbs.get(key(link.pool, link.name)) !== conn) return;
    this.rdbs.delete(key(link.pool, link.name));
    if (this.live.get(link.pool) === conn) this.live.delete(link.pool);
    const r = queue.disconnect(this.table, link.pool, link.name, link.sentI, this.durable, new Date(this.now()).toISOString());
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
    // Windows end at the durable count, so the log already holds (and has synced) every message they name.
    for (const a of assignments) {
      const from = a.day !== undefined ? (table.previous?.subscribers ?? []) : table.subscribers;
      const s = from.find((x) => x.name === a.name && x.replacedBy === null);
      if (!s) continue;
      const conn = this.rdbs.get(key(s.pool, s.name));
      if (!conn || !conn.rdb) continue; // told when it reconnects
      const upto = a.role === 'rolled' ? (a.lastI ?? a.replayTo) : a.replayTo;
      const lost = a.role === 'queued' ? null : lostIn(a.day !== undefined ? (readCommit(commitPathFor(this.cfg.logDir, a.day))?.lost ?? []) : this.lost, a.replayFrom, upto);
      if (lost) {
        const message = `the window (${a.replayFrom}, ${upto}] of ${s.name} needs messages ${lost[0]}..${lost[1]}, which the tickerplant log lost: refused, nothing replayed`;
        this.log.error('replay window refused: it needs lost messages', { pool: s.pool, name: s.name, role: a.role, replayFrom: a.replayFrom, replayTo: upto, lostFrom: lost[0], lostTo: lost[1] });
        this.send(conn, { op: 'error', code: 'WindowPastLog', message });
        continue;
      }
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
        ...(a.thenCurrentDay ? { thenCurrentDay: true } : {}),
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
    this.commitNow();
    this.publishPending();
    const day = this.day;
    const messages = this.durable;
    const eod: EodMsg = { op: 'eod', day, nextDay };
    for (const conn of this.rdbs.values()) this.send(conn, eod);
    this.writer.close();
    this.table = queue.endOfDay(this.table, nextDay, messages);
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
