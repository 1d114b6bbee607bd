/**
 * RDB log replay: a log of trade and quote messages (100 rows each by
 * default) written with the tickerplant's LogWriter, replayed through the
 * RDB's own path (replayLog -> JSON.parse -> TableStore.apply -> memory
 * accounting) into a fresh store each run.
 *   node --expose-gc bench/rdb-replay.ts      (BENCH_RUNS=5, BENCH_ROWS=2000000, BENCH_MSG_ROWS=100)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDay } from '../images/sim/src/feed/generator.ts';
import { LogWriter, replayLog } from '../images/sim/src/log/tplog.ts';
import { MemoryAccount } from '../images/sim/src/rdb/memory.ts';
import { TableStore } from '../images/sim/src/rdb/table-store.ts';
import { DEFAULT_SCHEMA, type Column } from '../images/sim/src/schema.ts';
import { fmt, median, runs } from './lib.ts';

const totalRows = Number(process.env.BENCH_ROWS ?? 2_000_000);
const msgRows = Number(process.env.BENCH_MSG_ROWS ?? 100);
const dir = mkdtempSync(join(tmpdir(), 'kdb-replay-'));
const path = join(dir, 'tp.log');
try {
  const writer = new LogWriter(path);
  const buffers: Record<string, unknown[][]> = {};
  let messages = 0;
  const batch: Buffer[] = [];
  for (const row of generateDay({ syms: ['AAPL', 'MSFT', 'GOOG', 'IBM', 'KX', 'AMZN'], rows: totalRows, seed: 1, day: '2025-03-03', tz: 'UTC' })) {
    const cols = (buffers[row.table] ??= row.values.map(() => []));
    row.values.forEach((v, k) => cols[k]!.push(v));
    if (cols[0]!.length === msgRows) {
      batch.push(Buffer.from(JSON.stringify({ t: row.table, c: cols })));
      buffers[row.table] = row.values.map(() => []);
      messages++;
      if (batch.length >= 1000) writer.append(batch.splice(0));
    }
  }
  if (batch.length) writer.append(batch);
  writer.close();
  const rows = messages * msgRows;
  console.log(`log: ${fmt(messages)} messages, ${fmt(rows)} rows, ${fmt(statSync(path).size / 1e6)} MB`);

  // Each run starts from a collected heap, so one run's garbage does not bill the next.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const xs: number[] = [];
  for (let k = 0; k < runs(); k++) {
    gc();
    const store = new TableStore(DEFAULT_SCHEMA, [], []);
    const memory = new MemoryAccount(0, Number.MAX_SAFE_INTEGER);
    const start = process.hrtime.bigint();
    await replayLog(path, 0, messages, (_i, payload) => {
      const m = JSON.parse(payload.toString('utf8')) as { t: string; c: Column[] };
      memory.add(store.apply(m.t, m.c));
      return true;
    });
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    if (store.totalRows() !== rows) throw new Error(`replayed ${store.totalRows()} of ${rows} rows`);
    xs.push(rows / secs);
  }
  console.log(`RDB replay (${msgRows}-row messages, log in page cache): median ${fmt(median(xs))} rows/s  (runs: ${xs.map(fmt).join(', ')})`);

  // With a sym filter (an RDB subscribed to a subset), rows are checked one by one.
  const ys: number[] = [];
  for (let k = 0; k < runs(); k++) {
    gc();
    const store = new TableStore(DEFAULT_SCHEMA, [], ['AAPL', 'MSFT', 'GOOG']);
    const start = process.hrtime.bigint();
    await replayLog(path, 0, messages, (_i, payload) => {
      const m = JSON.parse(payload.toString('utf8')) as { t: string; c: Column[] };
      store.apply(m.t, m.c);
      return true;
    });
    ys.push(rows / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  console.log(`RDB replay with a 3-of-6 sym filter: median ${fmt(median(ys))} rows/s read  (runs: ${ys.map(fmt).join(', ')})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
