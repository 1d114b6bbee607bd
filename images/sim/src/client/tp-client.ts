import net from 'node:net';
import { encodeControl, FrameReader, parseControl } from '../protocol/framing.ts';

/** One request/answer over the tickerplant's control protocol (eod, subscribers, sync). */
export const tickerplantRequest = (host: string, port: number, msg: object, answerOp: string, timeoutMs = 10_000): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const reader = new FrameReader();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${answerOp} answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (f: () => void) => {
      clearTimeout(timer);
      socket.end();
      f();
    };
    socket.on('connect', () => socket.write(encodeControl(msg)));
    socket.on('data', (chunk) => {
      for (const f of reader.push(chunk)) {
        const m = parseControl(f.body);
        if (m.op === answerOp) return done(() => resolve(m));
        if (m.op === 'error') return done(() => reject(new Error(String(m.message))));
      }
    });
    socket.on('error', (e) => done(() => reject(e)));
  });

export const requestEndOfDay = (host: string, port: number) => tickerplantRequest(host, port, { op: 'end-of-day' }, 'end-of-day-done');
export const requestSubscribers = (host: string, port: number) => tickerplantRequest(host, port, { op: 'subscribers' }, 'subscribers');
