/**
 * The ingest cost of the durability rule (a message is published and
 * acknowledged only once a group commit made it durable: fdatasync of the log,
 * then of its commit record). Same measurement as tickerplant-ingest.ts, run
 * against this tree's tickerplant and against the tickerplant of
 * BENCH_BASELINE_REV (default 3af26d4, the last commit before the rule:
 * logged with one write per socket read, synced only when a window was
 * handed out), extracted with `git archive` into a temp folder.
 *   node bench/tickerplant-durability.ts      (BENCH_RUNS=5)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestRowsPerSecond, tradeChunks, waitForTickerplant } from './ingest.ts';
import { fmt, freePort, MAIN, median, REPO, runs } from './lib.ts';

const BASELINE = process.env.BENCH_BASELINE_REV ?? '3af26d4';

const once = async (main: string, chunks: Buffer[], messages: number, rowsPerMessage: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-bench-'));
  const port = await freePort();
  const tp = spawn(process.execPath, [main, 'tickerplant'], {
    env: { ...process.env, KDB_TP_PORT: String(port), KDB_LOG_DIR: join(dir, 'log'), KDB_STATE_DIR: join(dir, 'state'), KDB_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForTickerplant(port);
    return await ingestRowsPerSecond(port, chunks, messages, rowsPerMessage);
  } finally {
    tp.kill('SIGKILL');
    await new Promise((r) => tp.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
};

const baselineTree = (): { main: string; dir: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-bench-baseline-'));
  const tar = execFileSync('git', ['-C', REPO, 'archive', BASELINE, 'images/sim', 'operator/src/api'], { maxBuffer: 256 * 2 ** 20 });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return { main: join(dir, 'images/sim/src/main.ts'), dir };
};

const base = baselineTree();
try {
  for (const [rowsPerMessage, total] of [
    [1, 200_000],
    [100, 2_000_000],
  ] as const) {
    const messages = Math.ceil(total / rowsPerMessage);
    const chunks = tradeChunks(messages, rowsPerMessage);
    const without: number[] = [];
    const withRule: number[] = [];
    // Interleaved, so drift of the machine hits both alike.
    for (let k = 0; k < runs(); k++) {
      without.push(await once(base.main, chunks, messages, rowsPerMessage));
      withRule.push(await once(MAIN, chunks, messages, rowsPerMessage));
    }
    const w = median(withRule);
    const wo = median(without);
    console.log(
      `${rowsPerMessage}-row messages: without the rule (${BASELINE}) median ${fmt(wo)} rows/s; with group commit median ${fmt(w)} rows/s ` +
        `(${(((w - wo) / wo) * 100).toFixed(1)}%)  runs without: ${without.map(fmt).join(', ')}; with: ${withRule.map(fmt).join(', ')}`,
    );
  }
} finally {
  rmSync(base.dir, { recursive: true, force: true });
}
