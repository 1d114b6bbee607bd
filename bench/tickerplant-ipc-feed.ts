/**
 * A q feedhandler's ingest path: async `.u.upd` messages over kdb+ IPC
 * (KDB_TP_IPC_PORT), pre-encoded, sent as fast as the socket takes them,
 * timed from the first byte to the answer of a sync `.u.upd` sent last
 * (answered once everything before it is durable). The same rows go to the
 * JSON feed port's path underneath (ipc-feed.ts bridges onto it).
 *   node bench/tickerplant-ipc-feed.ts      (BENCH_RUNS=5, BENCH_ROWS=500000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tickerplantRequest } from '../images/sim/src/client/tp-client.ts';
import { msToTimestamp } from '../images/sim/src/query/columns.ts';
import { encodeMessage, IpcClient, q } from '../ipc/src/index.ts';
import { fmt, freePort, median, runs, spawnMain } from './lib.ts';

const TOTAL = Number(process.env.BENCH_ROWS ?? 500_000);
const SYMS = ['AAPL', 'MSFT', 'GOOG', 'IBM', 'KX', 'AMZN', 'NVDA', 'TSLA'];

const upd = (m: number, rows: number) => {
  const t0 = Date.UTC(2025, 2, 3, 9) + m * rows;
  return q.list(
    q.symbol('.u.upd'),
    q.symbol('trade'),
    q.list(
      q.timestamps(Array.from({ length: rows }, (_, r) => msToTimestamp(t0 + r))),
      q.symbols(Array.from({ length: rows }, (_, r) => SYMS[(m + r) % SYMS.length]!)),
      q.floats(Array.from({ length: rows }, (_, r) => 100 + ((m * 7 + r) % 1000) / 100)),
      q.longs(Array.from({ length: rows }, (_, r) => 1 + ((m + r) % 500))),
    ),
  );
};

const once = async (rowsPerMessage: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-bench-'));
  const port = await freePort();
  const ipcPort = await freePort();
  const tp = spawnMain(['tickerplant'], { KDB_TP_PORT: String(port), KDB_TP_IPC_PORT: String(ipcPort), KDB_LOG_DIR: join(dir, 'log'), KDB_STATE_DIR: join(dir, 'state'), KDB_LOG_LEVEL: 'warn' });
  try {
    for (;;) {
      if (await tickerplantRequest('127.0.0.1', port, { op: 'subscribers' }, 'subscribers', 500).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const messages = Math.ceil(TOTAL / rowsPerMessage);
    const frames = Array.from({ length: messages }, (_, m) => encodeMessage(upd(m, rowsPerMessage)));
    const c = await IpcClient.connect({ host: '127.0.0.1', port: ipcPort });
    // The client's own socket, so pre-encoded frames go out with backpressure and the timing is the tickerplant's.
    const sock = (c as unknown as { socket: import('node:net').Socket }).socket;
    const start = process.hrtime.bigint();
    for (const f of frames) if (!sock.write(f)) await new Promise((r) => sock.once('drain', r));
    await c.sync(upd(messages, 1));
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    c.close();
    return (messages * rowsPerMessage + 1) / s;
  } finally {
    tp.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
};

for (const rows of [1, 100]) {
  const xs: number[] = [];
  for (let k = 0; k < runs(); k++) xs.push(await once(rows));
  console.log(`.u.upd over kdb+ IPC, ${rows}-row messages: ${fmt(median(xs))} rows/s (median of ${xs.length})`);
}
