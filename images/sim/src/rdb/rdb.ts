import net from 'node:net';
import type { RdbConfig } from '../config.ts';
import { LogReadError, replayLog } from '../log/tplog.ts';
import { encodeControl, FrameReader, FrameType, parseControl, type Frame } from '../protocol/framing.ts';
import type { AssignMsg, EodMsg, Held, RollMsg, SubscribeMsg } from '../protocol/messages.ts';
import { DEFAULT_SCHEMA, type Column, type TableSchema } from '../schema.ts';
import type { Logger } from '../util/logger.ts';
import { writeSlice } from './flush.ts';
import { MemoryAccount } from './memory.ts';
import { StatusWriter, type RdbStatusFile } from './status-writer.ts';
import { TableStore } from './table-store.ts';

type RdbState = RdbStatusFile['state'];

const today = (): string => new Date().toISOString().slice(0, 10);

/**
 * The reference RDB: subscribes to its pool, replays its window from the log
 * while holding live messages back, applies live messages in order, rolls at
 * the roll threshold, flushes its slice at end of day, and reports all of it
 * in the status file.
 */
export class Rdb {
  readonly cfg: RdbConfig;
  private readonly log: Logger;
  state: RdbState = 'queued';
  day = today();
  firstI = 0;
  lastI: number | null = null;
  lastProcessed = 0;
  /** True once this RDB applied anything for `day` from an assignment (what it can tell a tickerplant it holds). */
  private holding = false;
  private schema: TableSchema[] = DEFAULT_SCHEMA;
  readonly store: TableStore;
  readonly memory: MemoryAccount;
  private readonly status: StatusWriter;
  private flushed: RdbStatusFile['flushed'] = [];
  private socket: net.Socket | null = null;
  private inbox: Frame[] = [];
  private inboxHead = 0;
  private busy = false;
  private stopping = false;
  /** A rolled RDB that flushed its day has nothing more to do with the tickerplant. */
  private done = false;
  private reconnectDelay = 100;
  /**
   * Why the data plane cannot go on as it should (written to the status file
   * as `error`, for the agent to raise): WindowPastLog (the tickerplant refused
   * our window or position, or the log lacks messages it needs), Renumbered (a
   * message came with a number we already applied). Cleared by the next window
   * applied whole.
   */
  private problem: { reason: 'WindowPastLog' | 'Renumbered'; message: string; since: string } | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** The day of the window this replacement asks for; null once that day's window is written (or for the current day). */
  private replacesDay: string | null;

  constructor(cfg: RdbConfig, log: Logger) {
    this.cfg = cfg;
    this.log = log;
    this.store = new TableStore(this.schema, cfg.tables, cfg.syms);
    this.memory = new MemoryAccount(cfg.baselineBytes, cfg.memoryLimitBytes);
    this.status = new StatusWriter(cfg.statusFile);
    this.replacesDay = cfg.replaces !== null ? cfg.replacesDay : null;
    // Until assigned, a replacement's day is the day of the window it owes (what it reports if lost before then).
    if (this.replacesDay !== null) this.day = this.replacesDay;
  }

  start(): void {
    this.writeStatus();
    this.timers.push(setInterval(() => this.writeStatus(), 1000));
    this.connect();
  }

  stop(): void {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.socket?.destroy();
  }

  snapshot(): RdbStatusFile {
    return {
      version: 1,
      name: this.cfg.name,
      pool: this.cfg.pool,
      state: this.state,
      memory: { usedBytes: this.memory.usedBytes, limitBytes: this.memory.limitBytes },
      window: { firstI: this.firstI, lastI: this.lastI, lastProcessed: this.lastProcessed },
      rows: this.store.rowCounts(),
      day: this.day,
      flushed: this.flushed,
      updatedAt: new Date().toISOString(),
      ...(this.problem ? { error: this.problem } : {}),
    };
  }

  private report(reason: 'WindowPastLog' | 'Renumbered', message: string): void {
    this.log.error('data plane error', { reason, message });
    if (this.problem?.reason === reason && this.problem.message === message) return;
    this.problem = { reason, message, since: new Date().toISOString() };
    this.writeStatus();
  }

  writeStatus(): void {
    if (this.stopping) return;
    try {
      this.status.write(this.snapshot());
    } catch (e) {
      this.log.error('status file not written', { error: (e as Error).message });
    }
  }

  private setState(s: RdbState): void {
    this.state = s;
    this.writeStatus();
  }

  private connect(): void {
    if (this.stopping || this.done) return;
    const socket = net.connect({ host: this.cfg.tpHost, port: this.cfg.tpPort });
    this.socket = socket;
    const reader = new FrameReader();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.log.info('connected to tickerplant', { host: this.cfg.tpHost, port: this.cfg.tpPort });
      socket.write(encodeControl(this.subscribeMsg()));
    });
    socket.on('data', (chunk) => {
      try {
        for (const f of reader.push(chunk)) this.inbox.push(f);
      } catch (e) {
        this.log.error('protocol error from tickerplant', { error: (e as Error).message });
        socket.destroy();
        return;
      }
      void this.drain();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      if (this.stopping || this.done) return;
      const delay = this.reconnectDelay;
      this.reconnectDelay = Math.min(2000, this.reconnectDelay * 2);
      setTimeout(() => this.connect(), delay);
    });
  }

  private subscribeMsg(): SubscribeMsg {
    const held: Held | null = this.holding
      ? { day: this.day, state: this.state, firstI: this.firstI, lastI: this.lastI, lastProcessed: this.lastProcessed }
      : null;
    return { op: 'subscribe', name: this.cfg.name, pool: this.cfg.pool, tables: this.cfg.tables, syms: this.cfg.syms, replaces: this.cfg.replaces, replacesDay: this.replacesDay, held };
  }

  private send(msg: object): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(encodeControl(msg));
  }

  /** Frames are handled strictly in order; a replay holds everything after it back. */
  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.inboxHead < this.inbox.length) {
        const f = this.inbox[this.inboxHead++]!;
        if (this.inboxHead > 4096 && this.inboxHead * 2 > this.inbox.length) {
          this.inbox = this.inbox.slice(this.inboxHead);
          this.inboxHead = 0;
        }
        const r = this.handle(f);
        if (r) await r;
      }
      this.inbox = [];
      this.inboxHead = 0;
    } catch (e) {
      if (e instanceof LogReadError) this.report('WindowPastLog', e.message);
      this.log.error('failed handling a tickerplant message; reconnecting', { error: (e as Error).message });
      this.inbox = [];
      this.inboxHead = 0;
      this.socket?.destroy();
    } finally {
      this.busy = false;
    }
  }

  private handle(f: Frame): Promise<void> | void {
    if (f.type === FrameType.PUBLISH) {
      if (this.state !== 'live') return;
      const i = f.body.readDoubleLE(0);
      if (i <= this.lastProcessed) {
        // Never dropped silently as a duplicate: the tickerplant handed out a number twice.
        this.report('Renumbered', `message ${i} arrived after ${this.lastProcessed} was applied: the tickerplant reused message numbers; not applied`);
        return;
      }
      if (i !== this.lastProcessed + 1) throw new Error(`gap: message ${i} after ${this.lastProcessed}`);
      this.apply(i, f.body.subarray(8), true);
      return;
    }
    if (f.type !== FrameType.CONTROL) return;
    const msg = parseControl(f.body);
    switch (msg.op) {
      case 'assign':
        return this.onAssign(msg as unknown as AssignMsg);
      case 'eod':
        return this.onEndOfDay(msg as unknown as EodMsg);
      case 'error':
        this.log.error('tickerplant refused', { message: msg.message });
        if (msg.code === 'WindowPastLog') this.report('WindowPastLog', String(msg.message));
        return;
      default:
        return;
    }
  }

  /** Applies message i (the next one, in order); returns false once this RDB has rolled. */
  private apply(i: number, payload: Buffer, mayRoll: boolean): boolean {
    const msg = JSON.parse(payload.toString('utf8')) as { t: string; c: Column[] };
    this.memory.add(this.store.apply(msg.t, msg.c));
    this.lastProcessed = i;
    if (mayRoll && this.memory.reached(this.cfg.rollThreshold)) {
      this.roll();
      return false;
    }
    return true;
  }

  /** Past the roll threshold: stop taking updates and tell the tickerplant the last one applied. */
  private roll(): void {
    this.lastI = this.lastProcessed;
    this.setState('rolled');
    const msg: RollMsg = { op: 'roll', name: this.cfg.name, lastI: this.lastI };
    this.send(msg);
    this.log.info('rolled', { firstI: this.firstI, lastI: this.lastI, usedBytes: this.memory.usedBytes });
  }

  private async onAssign(a: AssignMsg): Promise<void> {
    // Backoff resets on an assignment, not on a connect: a tickerplant that
    // takes the connection and refuses the subscription is retried ever more
    // slowly (up to 2 s), not every 100 ms.
    this.reconnectDelay = 100;
    if (this.holding && a.day !== this.day) {
      // The tickerplant moved on to a new day while we were away: flush the old one as its end of day.
      this.onEndOfDay({ op: 'eod', day: this.day, nextDay: a.day });
      if (this.done) return;
    }
    this.day = a.day;
    if (a.schema?.length) {
      const sameSchema = JSON.stringify(a.schema) === JSON.stringify(this.schema);
      if (!sameSchema) {
        this.schema = a.schema;
        if (!this.holding) this.store.reset(a.schema);
      }
    }
    if (this.holding && a.role !== 'queued' && a.firstI !== this.firstI) {
      this.log.warn('assigned a different window than held; dropping held rows', { held: this.firstI, assigned: a.firstI });
      this.clear();
    }
    if (a.role === 'queued') {
      if (this.holding) this.clear();
      this.firstI = 0;
      this.lastI = null;
      this.lastProcessed = 0;
      this.setState('queued');
      return;
    }
    if (!this.holding) {
      this.firstI = a.firstI;
      this.lastProcessed = a.firstI;
    }
    this.holding = true;
    this.firstI = a.firstI;
    if (a.role === 'live' && a.replayTo < this.lastProcessed) {
      // The tickerplant's log ends below what we applied: carrying on would take its next numbers as duplicates.
      return this.report('WindowPastLog', `assigned live up to ${a.replayTo} from ${a.logPath} but holding messages up to ${this.lastProcessed}`);
    }
    if (a.role === 'live') {
      this.lastI = null;
      this.setState('replaying');
      await this.replay(a.logPath, a.replayTo, true);
      // A roll part way through the replay leaves it rolled; otherwise it is now live.
      this.problem = null;
      if (this.state === 'replaying') this.setState('live');
      this.log.info('live', { firstI: this.firstI, replayedTo: this.lastProcessed });
    } else {
      if (a.lastI !== null && this.lastProcessed > a.lastI) {
        // Rolled by the tickerplant below what we applied (a roll we did not hear of): the rows past
        // lastI are the next RDB's. Rows carry no message number, so the window is rebuilt from the log.
        this.log.warn('rolled below what was applied; replaying the window from the log', { firstI: this.firstI, lastI: a.lastI, applied: this.lastProcessed });
        this.clear();
        this.lastProcessed = this.firstI;
      }
      this.lastI = a.lastI;
      this.setState('replaying');
      await this.replay(a.logPath, a.lastI ?? this.lastProcessed, false);
      this.problem = null;
      // A window of a day already ended (the RDB it replaces was lost before
      // it flushed): that day's end of day is now, for this window.
      const dayBefore = a.currentDay !== undefined && a.currentDay > a.day;
      if (dayBefore && a.thenCurrentDay) return this.flushDayBeforeThenTakeToday(a.day, a.currentDay!);
      this.setState('rolled');
      if (dayBefore) return this.onEndOfDay({ op: 'eod', day: a.day, nextDay: a.currentDay! });
      // A replacement for a lost RDB that held nothing of the day (a live one
      // lost right after end of day, say): its empty slice is written now, so
      // its server is handed back today instead of idling until end of day.
      if (this.cfg.replaces !== null && a.lastI !== null && a.lastI === a.firstI) return this.onEndOfDay({ op: 'eod', day: a.day, nextDay: a.day });
      this.log.info('holding rolled window', { firstI: this.firstI, lastI: this.lastI });
    }
  }

  /**
   * The replacement of a live RDB lost around end of day, before it flushed:
   * the finished day's window is written as that day's slice, then it
   * subscribes again for what the lost RDB held of the current day. It never
   * reports flushed in between (the operator would take it for a spare).
   */
  private flushDayBeforeThenTakeToday(day: string, currentDay: string): void {
    const window = { firstI: this.firstI, lastI: this.lastI ?? this.lastProcessed };
    const { path, rows } = writeSlice(this.cfg.stagingDir, day, this.cfg.name, this.cfg.pool, window, this.store);
    this.flushed = [...this.flushed, { day, rows, path }];
    this.log.info('flushed', { day, rows, path, then: currentDay });
    this.clear();
    this.holding = false;
    this.replacesDay = null;
    this.day = currentDay;
    this.firstI = 0;
    this.lastI = null;
    this.lastProcessed = 0;
    this.setState('replaying');
    this.send(this.subscribeMsg());
  }

  /** Replays lastProcessed < i <= upto; a live RDB may roll part way. */
  private async replay(path: string, upto: number, mayRoll: boolean): Promise<void> {
    if (upto <= this.lastProcessed) return;
    const started = Date.now();
    let lastStatus = started;
    const from = this.lastProcessed;
    const r = await replayLog(path, from, upto, (i, payload) => {
      const go = this.apply(i, payload, mayRoll);
      const now = Date.now();
      if (now - lastStatus > 1000) {
        lastStatus = now;
        this.writeStatus();
      }
      return go;
    });
    this.log.info('replayed', { path, from, upto: r.stoppedAt, messages: r.applied, ms: Date.now() - started });
  }

  private clear(): void {
    this.store.clear();
    this.memory.clear();
  }

  /**
   * End of day: write the finished day's rows as one slice on the shared
   * volume, clear them, report flushed. The live RDB goes on live for the next
   * day; a rolled or queued one stays flushed, holding nothing, until it is deleted.
   */
  private onEndOfDay(e: EodMsg): void {
    const was = this.state;
    if (was === 'flushed' || (this.done && was !== 'live')) return;
    const goesOn = was === 'live' || was === 'replaying';
    if (this.holding && e.day === this.day) {
      this.setState('flushing');
      const window = { firstI: this.firstI, lastI: this.lastI ?? this.lastProcessed };
      const { path, rows } = writeSlice(this.cfg.stagingDir, e.day, this.cfg.name, this.cfg.pool, window, this.store);
      this.flushed = [...this.flushed, { day: e.day, rows, path }];
      this.clear();
      this.log.info('flushed', { day: e.day, rows, path });
      // The live RDB never reports 'flushed': to the operator that means "holds
      // nothing and is done", which would make the pool's live RDB a scale-in
      // candidate for a moment. It reports the flush in `flushed` and goes on live.
      if (!goesOn) {
        this.lastI = window.lastI;
        this.setState('flushed');
      }
    }
    if (goesOn) {
      this.day = e.nextDay;
      this.firstI = 0;
      this.lastI = null;
      this.lastProcessed = 0;
      this.setState('live');
    } else if (was === 'queued') {
      // As in the paper, a non-live RDB left with no data leaves the pool so
      // its server can go: it flushes its (empty) slice of the day, reports
      // flushed, and the next day's queued RDB is asked for when the live one
      // fills again.
      const { path, rows } = writeSlice(this.cfg.stagingDir, e.day, this.cfg.name, this.cfg.pool, { firstI: 0, lastI: 0 }, this.store);
      this.flushed = [...this.flushed, { day: e.day, rows, path }];
      this.lastI = 0;
      this.setState('flushed');
      this.log.info('flushed', { day: e.day, rows, path });
      this.holding = false;
      this.done = true;
      this.socket?.end();
    } else {
      // Rolled and flushed: the tickerplant drops it from the pool; it must not come back as a new subscriber.
      this.holding = false;
      this.done = true;
      this.socket?.end();
    }
  }
}
