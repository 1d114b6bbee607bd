// The operator's one request to a tickerplant: end the trading day now. It
// speaks the reference tickerplant's control protocol (length-prefixed
// frames, a CONTROL frame of JSON; images/sim/src/protocol/framing.ts) and
// names the day, so a repeat after a crash or a lost answer ends nothing
// twice. A q tickerplant does the same with `if[.u.d=day; .u.endofday[]]`.
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

export const requestEndOfDay = async (host: string, port: number, day: string, timeoutMs = 10_000): Promise<EndOfDayAnswer> => {
  const socket = net.connect({ host, port });
  socket.setTimeout(timeoutMs, () => socket.destroy(new TickerplantRequestError(`tickerplant ${host}:${port} did not answer within ${timeoutMs} ms`)));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const answer = firstControl(socket);
    socket.write(frame({ op: 'end-of-day', day }));
    return parseEndOfDayAnswer(await answer, day);
  } finally {
    socket.destroy();
  }
};
