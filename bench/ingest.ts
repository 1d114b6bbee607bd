/**
 * The tickerplant ingest measurement both ingest benchmarks run: pre-encoded
 * trade updates grouped into ~256 kB socket writes (as a busy feed's socket
 * would), sent as fast as the socket takes them, timed from the first byte to
 * the answer of a sync barrier sent after the last update (answered once
 * everything before it is logged and counted).
 */
import net from 'node:net';
import { tickerplantRequest } from '../images/sim/src/client/tp-client.ts';
import { encodeControl, encodeUpdate, FrameReader, parseControl } from '../images/sim/src/protocol/framing.ts';

export const tradeChunks = (messages: number, rowsPerMessage: number): Buffer[] => {
  const syms = ['AAPL', 'MSFT', 'GOOG', 'IBM', 'KX', 'AMZN', 'NVDA', 'TSLA'];
  const chunks: Buffer[] = [];
  let acc: Buffer[] = [];
  let size = 0;
  let t = Date.UTC(2025, 2, 3, 9);
  for (let m = 0; m < messages; m++) {
    const cols: unknown[][] = [[], [], [], []];
    for (let r = 0; r < rowsPerMessage; r++) {
      cols[0]!.push(t++);
      cols[1]!.push(syms[(m + r) % syms.length]);
      cols[2]!.push(100 + ((m * 7 + r) % 1000) / 100);
      cols[3]!.push(1 + ((m + r) % 500));
    }
    const f = encodeUpdate('trade', cols);
    acc.push(f);
    size += f.length;
    if (size > 256 * 1024 || m === messages - 1) {
      chunks.push(Buffer.concat(acc));
      acc = [];
      size = 0;
    }
  }
  return chunks;
};

export const waitForTickerplant = async (port: number): Promise<void> => {
  for (let k = 0; ; k++) {
    if (await tickerplantRequest('127.0.0.1', port, { op: 'subscribers' }, 'subscribers', 500).then(() => true, () => false)) return;
    if (k > 100) throw new Error('tickerplant did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Rows per second for `chunks` (holding `messages` updates) sent to the tickerplant on `port`. */
export const ingestRowsPerSecond = async (port: number, chunks: readonly Buffer[], messages: number, rowsPerMessage: number): Promise<number> => {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => socket.once('connect', r));
  const reader = new FrameReader();
  const done = new Promise<number>((res) =>
    socket.on('data', (c) =>
      reader.push(c).forEach((f) => {
        const m = parseControl(f.body);
        if (m.op === 'synced') res(Number(m.count));
      }),
    ),
  );
  const start = process.hrtime.bigint();
  for (const c of chunks) if (!socket.write(c)) await new Promise((r) => socket.once('drain', r));
  socket.write(encodeControl({ op: 'sync', id: 1 }));
  const count = await done;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  socket.destroy();
  if (count !== messages) throw new Error(`logged ${count} of ${messages}`);
  return (messages * rowsPerMessage) / secs;
};
