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
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tickerplantRequest } from '../images/sim/src/client/tp-client.ts';
import { encodeControl, encodeUpdate, FrameReader, parseControl } from '../images/sim/src/protocol/framing.ts';
import { fmt, freePort, MAIN, median, REPO, runs } from './lib.ts';

const BASELINE = process.env.BENCH_BASELINE_REV ?? '3af26d4';

const makeChunks = (messages: number, rowsPerMessage: number): Buffer[] => {
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
    // ~256 kB writes, as a busy feed's socket would.
    if (size > 256 * 1024 || m === messages - 1) {
      chunks.push(Buffer.concat(acc));
      acc = [];
      size = 0;
    }
  }
  return chunks;
};

const once = async (main: string, chunks: Buffer[], messages: number, rowsPerMessage: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-bench-'));
  const port = await freePort();
  const tp = spawn(process.execPath, [main, 'tickerplant'], {
    env: { ...process.env, KDB_TP_PORT: String(port), KDB_LOG_DIR: join(dir, 'log'), KDB_STATE_DIR: join(dir, 'state'), KDB_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let k = 0; ; k++) {
      if (await tickerplantRequest('127.0.0.1', port, { op: 'subscribers' }, 'subscribers', 500).then(() => true, () => false)) break;
      if (k > 100) throw new Error('tickerplant did not start');
      await new Promise((r) => setTimeout(r, 50));
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
    // Answered once everything before it is logged (and, with the rule, durable).
    socket.write(encodeControl({ op: 'sync', id: 1 }));
    const count = await done;
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    if (count !== messages) throw new Error(`logged ${count} of ${messages}`);
    socket.destroy();
    return (messages * rowsPerMessage) / secs;
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
    const chunks = makeChunks(messages, rowsPerMessage);
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
