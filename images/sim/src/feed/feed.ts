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
  elapsedMs: number;
}

interface Synced {
  day: string;
  count: number;
  refused: number;
}

/**
 * Sends a generated day to a tickerplant and reports what it sent: per table,
 * rows, messages and the order-independent checksum (see checksum.ts). Ends
 * with a sync barrier, so when it resolves every message sent is logged.
 */
export const runFeed = async (o: FeedOptions): Promise<FeedReport> => {
  const socket = net.connect({ host: o.host, port: o.port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const errors: string[] = [];
  let synced: ((m: Synced) => void) | null = null;
  let failed: ((e: Error) => void) | null = null;
  const reader = new FrameReader();
  socket.on('data', (chunk) => {
    for (const f of reader.push(chunk)) {
      const m = parseControl(f.body);
      if (m.op === 'error') errors.push(String(m.message));
      else if (m.op === 'synced') synced?.({ day: String(m.day), count: Number(m.count), refused: Number(m.refused) });
    }
  });
  socket.on('error', (e) => failed?.(e));
  socket.on('close', () => failed?.(new Error('tickerplant closed the connection')));
  const sync = (id: number): Promise<Synced> =>
    new Promise<Synced>((resolve, reject) => {
      synced = resolve;
      failed = reject;
      socket.write(encodeControl({ op: 'sync', id }));
    }).finally(() => {
      synced = null;
      failed = null;
    });

  const day = o.day ?? (await sync(0)).day;
  const dayOptions = { ...o, day };
  const started = Date.now();
  const span = daySpan(dayOptions);
  const stamps = o.tickerplantStamps ?? false;
  const tables: Record<string, { cols: unknown[][]; sum: TableChecksum; messages: number }> = {};
  let messages = 0;
  let rows = 0;
  const pace = async (write: boolean) => {
    if (!write) await new Promise<void>((resolve, reject) => {
      failed = reject;
      socket.once('drain', () => resolve());
    });
  };
  const flush = async (name: string) => {
    const t = tables[name]!;
    if (t.cols[0]!.length === 0) return;
    const ok = socket.write(encodeUpdate(name, stamps ? t.cols.slice(1) : t.cols));
    t.messages++;
    messages++;
    o.onMessage?.(messages);
    t.cols = t.cols.map(() => []);
    await pace(ok);
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

  const result = await sync(1);
  socket.end();
  return {
    day,
    tickerplantDay: result.day,
    seed: o.seed,
    syms: [...o.syms],
    rows,
    messages,
    refused: result.refused,
    errors,
    checksumIncludesTime: !stamps,
    tables: Object.fromEntries(Object.entries(tables).map(([n, t]) => [n, { ...t.sum.toJSON(), messages: t.messages }])),
    tickerplantCount: result.count,
    elapsedMs: Date.now() - started,
  };
};
