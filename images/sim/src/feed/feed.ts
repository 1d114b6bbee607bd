import net from 'node:net';
import { TableChecksum, type TableSum } from '../checksum.ts';
import { encodeControl, encodeUpdate, FrameReader, parseControl } from '../protocol/framing.ts';
import { daySpan, generateDay, type DayOptions } from './generator.ts';

export interface FeedOptions extends Omit<DayOptions, 'day'> {
  /**
   * The day the generated rows are stamped with. Left out, it is the
   * tickerplant's own trading day, asked for before the first row: the wall
   * clock's date is not the trading day once the local time is past end of day.
   */
  day?: string;
  host: string;
  port: number;
  /** Rows per update message (per table). */
  batch: number;
  /** Real milliseconds for the whole simulated day; 0 sends as fast as the tickerplant takes it. */
  dayMs: number;
  /** Leave out the time column so the tickerplant stamps it (the checksum then leaves time out too). */
  tickerplantStamps?: boolean;
  /** Called with each sent message; for progress and tests. */
  onMessage?: (sent: number) => void;
  /** The id the tickerplant keeps this feed's position under; one feed process per id. Default: unique per run. */
  feedId?: string;
  /** Give up after the tickerplant has been unreachable this long (default 120 s). */
  reconnectMs?: number;
  /** Messages kept for a resend until acknowledged; sending waits above this (default 256 MiB). */
  maxUnackedBytes?: number;
}

export interface FeedReport {
  /** The day the rows were generated for. */
  day: string;
  /** The tickerplant's trading day when the last message was logged: the day the rows belong to in the HDB. */
  tickerplantDay: string;
  seed: number;
  syms: string[];
  rows: number;
  messages: number;
  refused: number;
  errors: string[];
  checksumIncludesTime: boolean;
  tables: Record<string, TableSum & { messages: number }>;
  /** The tickerplant's message count of the day once everything sent was logged. */
  tickerplantCount: number;
  /** Times the feed reconnected (and resent what was not acknowledged). */
  reconnects: number;
  elapsedMs: number;
}

interface Synced {
  day: string;
  count: number;
  refused: number;
}

/**
 * One feed's link to the tickerplant, across reconnects. Messages are
 * numbered 1, 2, 3... under the feed's id and kept until the tickerplant
 * acknowledges them as durable. On every (re)connect the feed says hello,
 * the tickerplant answers with the last sequence it handled for that id
 * (durably, beside its log), and the feed resends only what follows: nothing
 * is lost when the tickerplant dies, and nothing is logged twice.
 */
class FeedLink {
  private socket: net.Socket | null = null;
  private ready = false;
  private readonly unacked: Array<{ seq: number; frame: Buffer }> = [];
  private unackedHead = 0;
  private unackedBytes = 0;
  private nextSeq = 1;
  acked = 0;
  day = '';
  readonly errors: string[] = [];
  readonly refused = new Set<number>();
  reconnects = 0;
  private wake: (() => void) | null = null;
  private fatal: Error | null = null;
  private downSince = 0;
  private stopped = false;
  private syncs = new Map<number, (m: Synced) => void>();

  private readonly o: { host: string; port: number; feedId: string; reconnectMs: number; maxUnackedBytes: number };

  constructor(o: { host: string; port: number; feedId: string; reconnectMs: number; maxUnackedBytes: number }) {
    this.o = o;
  }

  /** Resolves once connected and welcomed (the first time, or again after a reconnect). */
  async open(): Promise<void> {
    this.connect();
    await this.until(() => this.ready);
  }

  get sent(): number {
    return this.nextSeq - 1;
  }

  /** Queues a message; waits while the socket or the unacknowledged backlog is full. */
  async send(frame: Buffer): Promise<void> {
    const seq = this.nextSeq++;
    this.unacked.push({ seq, frame });
    this.unackedBytes += frame.length;
    let ok = true;
    if (this.ready) ok = this.socket!.write(frame);
    if (!ok || this.unackedBytes > this.o.maxUnackedBytes) await this.until(() => this.ready && !this.socket!.writableNeedDrain && this.unackedBytes <= this.o.maxUnackedBytes);
  }

  /** Waits until the tickerplant acknowledged every message sent, then asks for its count. */
  async finish(): Promise<Synced> {
    await this.until(() => this.ready && this.acked >= this.sent);
    const id = 1 + this.syncs.size;
    const answer = new Promise<Synced>((resolve) => this.syncs.set(id, resolve));
    this.socket!.write(encodeControl({ op: 'sync', id }));
    const r = await Promise.race([answer, this.until(() => false).then(() => null as never)]);
    this.stopped = true;
    this.socket?.end();
    return r;
  }

  private until(cond: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.fatal) return reject(this.fatal);
        if (cond()) return resolve();
        this.wake = check;
      };
      check();
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private connect(): void {
    const socket = net.connect({ host: this.o.host, port: this.o.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader();
    socket.on('connect', () => socket.write(encodeControl({ op: 'hello', feed: this.o.feedId })));
    socket.on('data', (chunk) => {
      for (const f of reader.push(chunk)) this.onControl(parseControl(f.body));
      this.poke();
    });
    socket.on('drain', () => this.poke());
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket || this.stopped) return;
      this.ready = false;
      if (!this.downSince) this.downSince = Date.now();
      if (Date.now() - this.downSince > this.o.reconnectMs) {
        this.fatal = new Error(`tickerplant ${this.o.host}:${this.o.port} unreachable for ${this.o.reconnectMs} ms; ${this.sent - this.acked} messages not acknowledged`);
        return this.poke();
      }
      this.reconnects++;
      setTimeout(() => this.connect(), 100);
    });
  }

  private onControl(m: Record<string, unknown>): void {
    switch (m.op) {
      case 'welcome': {
        this.day = String(m.day);
        if (Number(m.lastSeq) < this.acked) {
          this.fatal = new Error(`tickerplant says feed ${this.o.feedId} is at ${m.lastSeq}, below the ${this.acked} it acknowledged: its log lost acknowledged messages`);
          return;
        }
        this.release(Number(m.lastSeq));
        // Resend, in order, what the tickerplant did not handle.
        const rest = this.unacked.slice(this.unackedHead).filter((u) => u.seq > Number(m.lastSeq));
        if (rest.length) this.socket!.write(Buffer.concat(rest.map((u) => u.frame)));
        this.ready = true;
        this.downSince = 0;
        return;
      }
      case 'ack':
        return this.release(Number(m.seq));
      case 'synced':
        this.syncs.get(Number(m.id))?.({ day: String(m.day), count: Number(m.count), refused: Number(m.refused) });
        return;
      case 'error':
        if (typeof m.seq === 'number') {
          if (this.refused.has(m.seq)) return; // refused again after a resend
          this.refused.add(m.seq);
        }
        this.errors.push(String(m.message));
        // Refused before the welcome (no hello support, a bad id): nothing sent could ever be acknowledged.
        if (!this.ready && m.seq === undefined) this.fatal = new Error(`tickerplant refused the feed's hello: ${String(m.message)}`);
        return;
      default:
        return;
    }
  }

  private release(seq: number): void {
    if (seq > this.sent) {
      this.fatal = new Error(`tickerplant says feed ${this.o.feedId} sent up to ${seq}, but only ${this.sent} were sent: another feed uses this id`);
      return;
    }
    if (seq <= this.acked) return;
    this.acked = seq;
    while (this.unackedHead < this.unacked.length && this.unacked[this.unackedHead]!.seq <= seq) {
      this.unackedBytes -= this.unacked[this.unackedHead]!.frame.length;
      this.unackedHead++;
    }
    if (this.unackedHead > 1024 && this.unackedHead * 2 > this.unacked.length) {
      this.unacked.splice(0, this.unackedHead);
      this.unackedHead = 0;
    }
  }
}

/**
 * Sends a generated day to a tickerplant and reports what it sent: per table,
 * rows, messages and the order-independent checksum (see checksum.ts). It
 * reconnects when the tickerplant goes away and resends what was not
 * acknowledged (see FeedLink); when it resolves every message sent is logged
 * durably, exactly once.
 */
export const runFeed = async (o: FeedOptions): Promise<FeedReport> => {
  const link = new FeedLink({
    host: o.host,
    port: o.port,
    feedId: o.feedId ?? `feed-${o.seed}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    reconnectMs: o.reconnectMs ?? 120_000,
    maxUnackedBytes: o.maxUnackedBytes ?? 256 * 2 ** 20,
  });
  await link.open();
  const day = o.day ?? link.day;
  const dayOptions = { ...o, day };
  const started = Date.now();
  const span = daySpan(dayOptions);
  const stamps = o.tickerplantStamps ?? false;
  const tables: Record<string, { cols: unknown[][]; sum: TableChecksum; messages: number }> = {};
  let messages = 0;
  let rows = 0;
  const flush = async (name: string) => {
    const t = tables[name]!;
    if (t.cols[0]!.length === 0) return;
    const frame = encodeUpdate(name, stamps ? t.cols.slice(1) : t.cols);
    t.messages++;
    messages++;
    t.cols = t.cols.map(() => []);
    await link.send(frame);
    o.onMessage?.(messages);
  };
  for (const row of generateDay(dayOptions)) {
    if (o.dayMs > 0) {
      const due = started + ((Number(row.values[0]) - span.start) / (span.end - span.start)) * o.dayMs;
      const wait = due - Date.now();
      if (wait > 5) {
        for (const name of Object.keys(tables)) await flush(name);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    let t = tables[row.table];
    if (!t) t = tables[row.table] = { cols: row.values.map(() => []), sum: new TableChecksum(), messages: 0 };
    for (let k = 0; k < row.values.length; k++) t.cols[k]!.push(row.values[k]);
    t.sum.addRow(stamps ? row.values.slice(1) : row.values);
    rows++;
    if (t.cols[0]!.length >= o.batch) await flush(row.table);
  }
  for (const name of Object.keys(tables)) await flush(name);

  const result = await link.finish();
  return {
    day,
    tickerplantDay: result.day,
    seed: o.seed,
    syms: [...o.syms],
    rows,
    messages,
    refused: link.refused.size,
    errors: link.errors,
    checksumIncludesTime: !stamps,
    tables: Object.fromEntries(Object.entries(tables).map(([n, t]) => [n, { ...t.sum.toJSON(), messages: t.messages }])),
    tickerplantCount: result.count,
    reconnects: link.reconnects,
    elapsedMs: Date.now() - started,
  };
};
