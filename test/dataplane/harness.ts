/**
 * Spawns the reference data plane as real processes (Node 24: process.execPath)
 * in a temp folder, with free ports, and waits on conditions (status files,
 * queries), never on fixed sleeps.
 */
import { runFeed, type FeedOptions } from '../../images/sim/src/feed/feed.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RdbStatusFile } from '../../operator/src/api/rdb-status.ts';
import { combineSums, type TableSum } from '../../images/sim/src/checksum.ts';
import { requestSubscribers } from '../../images/sim/src/client/tp-client.ts';
import type { Subscriber } from '../../images/sim/src/tickerplant/subscriber-queue.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = join(REPO, 'images/sim/src/main.ts');
export const HOST = '127.0.0.1';

export const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, HOST, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });

export const waitFor = async <T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> => {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

export class Proc {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.output += String(d)));
    this.child.stderr!.on('data', (d) => (this.output += String(d)));
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => res({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}

export interface RdbHandle {
  name: string;
  proc: Proc;
  statusFile: string;
  queryPort: number;
}

export interface RdbOptions {
  /** Data bytes this RDB takes before it rolls (roll threshold 80% of limit, baseline 10 kB). */
  capacityBytes?: number;
  replaces?: string;
  /** KDB_REPLACES_DAY: the day of the lost window. */
  replacesDay?: string;
  syms?: string;
  tables?: string;
  pool?: string;
}

export const BASELINE = 10_000;

/** A data plane in a temp folder: one tickerplant, any number of RDBs, one pool by default. */
export class DataPlane {
  readonly dir: string;
  tpPort = 0;
  tp: Proc | null = null;
  readonly rdbs = new Map<string, RdbHandle>();
  private readonly procs: Proc[] = [];
  readonly tpEnv: Record<string, string>;

  constructor(tpEnv: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'kdb-dataplane-'));
    this.tpEnv = tpEnv;
  }

  get logDir(): string {
    return join(this.dir, 'log');
  }
  get stagingDir(): string {
    return join(this.dir, 'staging');
  }
  get hdbDir(): string {
    return join(this.dir, 'hdb');
  }

  run(args: string[], env: Record<string, string> = {}): Proc {
    const p = new Proc(args, env);
    this.procs.push(p);
    return p;
  }

  async startTickerplant(extra: Record<string, string> = {}): Promise<Proc> {
    if (!this.tpPort) this.tpPort = await freePort();
    const p = this.run(['tickerplant'], {
      KDB_TP_PORT: String(this.tpPort),
      KDB_LOG_DIR: this.logDir,
      KDB_STATE_DIR: join(this.dir, 'tp-state'),
      KDB_TZ: 'UTC',
      KDB_EOD_TIME: '00:00',
      ...this.tpEnv,
      ...extra,
    });
    this.tp = p;
    await waitFor('tickerplant to listen', async () => {
      if (!p.running) throw new Error(`tickerplant exited: ${p.output}`);
      return (await requestSubscribers(HOST, this.tpPort).catch(() => null)) !== null;
    });
    return p;
  }

  async startRdb(name: string, o: RdbOptions = {}): Promise<RdbHandle> {
    const queryPort = await freePort();
    const capacity = o.capacityBytes ?? 1_000_000_000;
    // roll when baseline + data >= 80% of limit
    const limit = Math.ceil((BASELINE + capacity) / 0.8);
    const statusFile = join(this.dir, 'status', `${name}.json`);
    const env: Record<string, string> = {
      KDB_RDB_NAME: name,
      KDB_POOL: o.pool ?? 'pool1',
      KDB_TP_HOST: HOST,
      KDB_TP_PORT: String(this.tpPort),
      KDB_ROLL_THRESHOLD: '80',
      KDB_SCALE_THRESHOLD: '60',
      KDB_MEMORY_LIMIT_BYTES: String(limit),
      KDB_BASELINE_BYTES: String(BASELINE),
      KDB_STATUS_FILE: statusFile,
      KDB_HDB_DIR: this.hdbDir,
      KDB_STAGING_DIR: this.stagingDir,
      KDB_QUERY_PORT: String(queryPort),
      KDB_TABLES: o.tables ?? '',
      KDB_SYMS: o.syms ?? '',
    };
    if (o.replaces) env.KDB_REPLACES = o.replaces;
    if (o.replacesDay) env.KDB_REPLACES_DAY = o.replacesDay;
    const h: RdbHandle = { name, proc: this.run(['rdb'], env), statusFile, queryPort };
    this.rdbs.set(name, h);
    // A process start on a loaded 2-core machine (six RDBs at once, a test
    // suite beside them) has taken over 20 s: the condition, not the time, is the test.
    await this.waitStatus(name, (s) => s.state !== undefined, 60_000);
    return h;
  }

  status(name: string): RdbStatusFile | null {
    try {
      return RdbStatusFile.parse(JSON.parse(readFileSync(this.rdbs.get(name)!.statusFile, 'utf8')));
    } catch {
      return null;
    }
  }

  waitStatus(name: string, pred: (s: RdbStatusFile) => boolean, timeoutMs = 20_000): Promise<RdbStatusFile> {
    return waitFor(`status of ${name}`, () => {
      const h = this.rdbs.get(name)!;
      if (!h.proc.running) throw new Error(`${name} exited: ${h.proc.output.slice(-2000)}`);
      const s = this.status(name);
      return s && pred(s) ? s : null;
    }, timeoutMs);
  }

  async subscribers(): Promise<{ day: string; count: number; subscribers: Subscriber[] }> {
    return (await requestSubscribers(HOST, this.tpPort)) as never;
  }

  async query<T>(name: string, path: string): Promise<T> {
    const res = await fetch(`http://${HOST}:${this.rdbs.get(name)!.queryPort}${path}`);
    if (!res.ok) throw new Error(`${name} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async checksums(names: readonly string[]): Promise<Record<string, TableSum>> {
    const parts = await Promise.all(names.map((n) => this.query<{ tables: Record<string, TableSum> }>(n, '/checksum')));
    return combineSums(parts.map((p) => p.tables));
  }

  /** Waits until the RDBs together hold `rows` rows (everything sent has been applied somewhere). */
  async waitRows(names: readonly string[], rows: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${rows} rows across ${names.join(',')}`, async () => {
      const sums = await this.checksums(names);
      const total = Object.values(sums).reduce((s, t) => s + t.rows, 0);
      if (total > rows) throw new Error(`more rows (${total}) than published (${rows}): duplicates`);
      return total === rows;
    }, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Drops the per-table message counts of a feed report, keeping rows and checksum. */
export const sums = (tables: Record<string, TableSum & { messages?: number }>): Record<string, TableSum> =>
  Object.fromEntries(Object.entries(tables).map(([t, s]) => [t, { rows: s.rows, checksum: s.checksum }]));

export const SYMS = ['AAPL', 'MSFT', 'GOOG', 'IBM', 'KX'];

/** The feed of every data-plane test: SYMS, 40-row messages, as fast as it goes, on a fixed day. */
export const feed = (dp: DataPlane, rows: number, seed: number, extra: Partial<FeedOptions> = {}) =>
  runFeed({ host: HOST, port: dp.tpPort, syms: SYMS, rows, seed, day: '2025-03-03', tz: 'UTC', batch: 40, dayMs: 0, ...extra });
