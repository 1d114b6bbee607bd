/**
 * Tickerplant ingest with logging on: a real tickerplant process, one feed
 * connection sending pre-encoded update frames as fast as the socket takes
 * them, timed from the first byte to the answer of a sync barrier (sent after
 * the last update, answered once everything before it is logged and counted).
 * Optional live RDB subscriber: BENCH_WITH_RDB=1.
 *   node bench/tickerplant-ingest.ts        (BENCH_RUNS=5)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tickerplantRequest } from '../images/sim/src/client/tp-client.ts';
import { encodeControl, encodeUpdate, FrameReader, parseControl } from '../images/sim/src/protocol/framing.ts';
import { fmt, freePort, median, runs, spawnMain } from './lib.ts';

const makeFrames = (messages: number, rowsPerMessage: number): Buffer[] => {
  const syms = ['AAPL', 'MSFT', 'GOOG', 'IBM', 'KX', 'AMZN', 'NVDA', 'TSLA'];
  const out: Buffer[] = [];
  let t = Date.UTC(2025, 2, 3, 9);
  for (let m = 0; m < messages; m++) {
    const cols: unknown[][] = [[], [], [], []];
    for (let r = 0; r < rowsPerMessage; r++) {
      cols[0]!.push(t++);
      cols[1]!.push(syms[(m + r) % syms.length]);
      cols[2]!.push(100 + ((m * 7 + r) % 1000) / 100);
      cols[3]!.push(1 + ((m + r) % 500));
    }
    out.push(encodeUpdate('trade', cols));
  }
  return out;
};

const once = async (rowsPerMessage: number, totalRows: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-bench-'));
  const port = await freePort();
  const tp = spawnMain(['tickerplant'], { KDB_TP_PORT: String(port), KDB_LOG_DIR: join(dir, 'log'), KDB_STATE_DIR: join(dir, 'state'), KDB_LOG_LEVEL: 'warn' });
  try {
    for (let k = 0; ; k++) {
      if (await tickerplantRequest('127.0.0.1', port, { op: 'subscribers' }, 'subscribers', 500).then(() => true, () => false)) break;
      if (k > 100) throw new Error('tickerplant did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const frames = makeFrames(Math.ceil(totalRows / rowsPerMessage), rowsPerMessage);
    // Group frames into ~256 kB writes, as a busy feed's socket would.
    const chunks: Buffer[] = [];
    for (let k = 0, acc: Buffer[] = [], size = 0; k < frames.length; k++) {
      acc.push(frames[k]!);
      size += frames[k]!.length;
      if (size > 256 * 1024 || k === frames.length - 1) {
        chunks.push(Buffer.concat(acc));
        acc = [];
        size = 0;
      }
    }
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const reader = new FrameReader();
    const done = new Promise<number>((res) =>
      socket.on('data', (c) => reader.push(c).forEach((f) => {
        const m = parseControl(f.body);
        if (m.op === 'synced') res(Number(m.count));
      })),
    );
    const start = process.hrtime.bigint();
    for (const c of chunks) if (!socket.write(c)) await new Promise((r) => socket.once('drain', r));
    socket.write(encodeControl({ op: 'sync', id: 1 }));
    const count = await done;
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    if (count !== frames.length) throw new Error(`logged ${count} of ${frames.length}`);
    socket.destroy();
    return (frames.length * rowsPerMessage) / secs;
  } finally {
    tp.kill('SIGKILL');
    await new Promise((r) => tp.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
};

for (const [rowsPerMessage, total] of [
  [1, 200_000],
  [100, 2_000_000],
] as const) {
  const xs: number[] = [];
  for (let k = 0; k < runs(); k++) xs.push(await once(rowsPerMessage, total));
  console.log(
    `tickerplant ingest, logging on, ${rowsPerMessage}-row messages: median ${fmt(median(xs))} rows/s = ${fmt(median(xs) / rowsPerMessage)} msgs/s  (runs: ${xs.map(fmt).join(', ')})`,
  );
}
