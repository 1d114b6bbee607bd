// The operator's requests to a tickerplant: end the trading day now, and
// roll a pool's live RDB now (to move the pool onto a new spec). They speak
// the reference tickerplant's control protocol (length-prefixed frames, a
// CONTROL frame of JSON; images/sim/src/protocol/framing.ts) and each is
// guarded so a repeat after a crash or a lost answer changes nothing twice:
// end of day names the day, a roll names the live RDB. A q tickerplant does
// the same with `if[.u.d=day; .u.endofday[]]` and `.u.rollLive` (tick.q).
import net from 'node:net';

const CONTROL = 3;
const MAX_ANSWER_BYTES = 1 << 20;

export interface EndOfDayAnswer {
  /** The day the request named. */
  day: string;
  /** The day the tickerplant runs now. */
  nextDay: string;
  /** false: that day was already over; nothing was ended. */
  ended: boolean;
}

export class TickerplantRequestError extends Error {
  override readonly name = 'TickerplantRequestError';
}

const frame = (msg: object): Buffer => {
  const body = Buffer.from(JSON.stringify(msg));
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32LE(body.length + 1, 0);
  out[4] = CONTROL;
  body.copy(out, 5);
  return out;
};

/** The answer is untrusted input like any other: its shape is checked before it is believed. */
export const parseEndOfDayAnswer = (body: unknown, day: string): EndOfDayAnswer => {
  if (typeof body !== 'object' || body === null) throw new TickerplantRequestError('tickerplant answered with no object');
  const m = body as Record<string, unknown>;
  if (m.op === 'error') throw new TickerplantRequestError(`tickerplant refused end of day ${day}: ${String(m.message).slice(0, 300)}`);
  if (m.op !== 'end-of-day-done' || typeof m.nextDay !== 'string') {
    throw new TickerplantRequestError(`tickerplant answered end of day ${day} with ${JSON.stringify(m.op)}, not end-of-day-done`);
  }
  return { day, nextDay: m.nextDay, ended: m.ended !== false };
};

/** Reads CONTROL frames until the first answer; other frames (none are expected) are skipped. */
const firstControl = (socket: net.Socket): Promise<unknown> =>
  new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const len = buf.readUInt32LE(0);
        if (len < 1 || len > MAX_ANSWER_BYTES) return reject(new TickerplantRequestError(`tickerplant sent a frame of ${len} bytes`));
        if (buf.length < 4 + len) return;
        const type = buf[4];
        const body = buf.subarray(5, 4 + len);
        buf = buf.subarray(4 + len);
        if (type !== CONTROL) continue;
        try {
          return resolve(JSON.parse(body.toString('utf8')));
        } catch {
          return reject(new TickerplantRequestError('tickerplant answered with a frame that is not JSON'));
        }
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new TickerplantRequestError('tickerplant closed the connection before answering')));
  });

/** One request on its own connection: the first CONTROL frame back is the answer. */
const request = async (host: string, port: number, msg: object, timeoutMs: number): Promise<unknown> => {
  const socket = net.connect({ host, port });
  socket.setTimeout(timeoutMs, () => socket.destroy(new TickerplantRequestError(`tickerplant ${host}:${port} did not answer within ${timeoutMs} ms`)));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const answer = firstControl(socket);
    socket.write(frame(msg));
    return await answer;
  } finally {
    socket.destroy();
  }
};

export const requestEndOfDay = async (host: string, port: number, day: string, timeoutMs = 10_000): Promise<EndOfDayAnswer> =>
  parseEndOfDayAnswer(await request(host, port, { op: 'end-of-day', day }, timeoutMs), day);

export interface RollLiveAnswer {
  pool: string;
  rdb: string;
  /** false: nothing changed; `reason` says why (rdb no longer live, no queued RDB ready, ...). */
  rolled: boolean;
  /** rolled: rdb's window end, the last message handed to it; else its window end if it rolled before (null: none). */
  lastI: number | null;
  /** rolled: the RDB live from lastI; else the pool's live RDB now (null: none). */
  next: string | null;
  reason?: string;
}

/** Shape-checked like the end-of-day answer: a tickerplant's word is untrusted input too. */
export const parseRollLiveAnswer = (body: unknown, pool: string, rdb: string): RollLiveAnswer => {
  if (typeof body !== 'object' || body === null) throw new TickerplantRequestError('tickerplant answered with no object');
  const m = body as Record<string, unknown>;
  if (m.op === 'error') throw new TickerplantRequestError(`tickerplant refused to roll ${rdb} of pool ${pool}: ${String(m.message).slice(0, 300)}`);
  if (m.op !== 'roll-live-done' || typeof m.rolled !== 'boolean') {
    throw new TickerplantRequestError(`tickerplant answered the roll of ${rdb} with ${JSON.stringify(m.op)}, not roll-live-done`);
  }
  const lastI = typeof m.lastI === 'number' && Number.isInteger(m.lastI) && m.lastI >= 0 ? m.lastI : null;
  const next = typeof m.next === 'string' ? m.next.slice(0, 253) : null;
  if (m.rolled && (lastI === null || next === null)) throw new TickerplantRequestError(`tickerplant said it rolled ${rdb} but named no lastI or next RDB`);
  return { pool, rdb, rolled: m.rolled, lastI, next, ...(typeof m.reason === 'string' && m.reason ? { reason: m.reason.slice(0, 300) } : {}) };
};

/**
 * Roll `rdb`, the live RDB of `pool`, now, handing the feed to `next` (a
 * queued RDB; left out, the oldest ready). The tickerplant rolls only while
 * `rdb` is still live and only onto a queued RDB that is connected, so a
 * repeat rolls nothing and a roll never leaves the pool without a live RDB.
 */
export const requestRollLive = async (
  host: string,
  port: number,
  req: { pool: string; rdb: string; next?: string },
  timeoutMs = 10_000,
): Promise<RollLiveAnswer> => parseRollLiveAnswer(await request(host, port, { op: 'roll-live', ...req }, timeoutMs), req.pool, req.rdb);
