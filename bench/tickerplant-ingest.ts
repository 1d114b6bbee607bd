/**
 * Tickerplant ingest with logging on: a real tickerplant process, one feed
 * connection sending pre-encoded update frames as fast as the socket takes
 * them, timed from the first byte to the answer of a sync barrier (sent after
 * the last update, answered once everything before it is logged and counted).
 * Optional live RDB subscriber: BENCH_WITH_RDB=1.
 *   node bench/tickerplant-ingest.ts        (BENCH_RUNS=5)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestRowsPerSecond, tradeChunks, waitForTickerplant } from './ingest.ts';
import { fmt, freePort, median, runs, spawnMain } from './lib.ts';

const once = async (rowsPerMessage: number, totalRows: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-bench-'));
  const port = await freePort();
  const tp = spawnMain(['tickerplant'], { KDB_TP_PORT: String(port), KDB_LOG_DIR: join(dir, 'log'), KDB_STATE_DIR: join(dir, 'state'), KDB_LOG_LEVEL: 'warn' });
  try {
    await waitForTickerplant(port);
    const messages = Math.ceil(totalRows / rowsPerMessage);
    return await ingestRowsPerSecond(port, tradeChunks(messages, rowsPerMessage), messages, rowsPerMessage);
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
