/**
 * A real Prometheus server for tests: the binary test/stack/prometheus.sh
 * fetches, a scrape config of static targets, a temp folder for its TSDB,
 * and its HTTP API to ask.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { repoRoot } from './stack.ts';

const run = promisify(execFile);

/** The binary's path: fetched and cached on first use (test/stack/prometheus.sh). */
export const prometheusBinary = async (): Promise<string> =>
  (await run('bash', [join(repoRoot, 'test/stack/prometheus.sh')], { maxBuffer: 16 << 20 })).stdout.trim().split('\n').at(-1)!;

export interface ScrapeJob {
  job: string;
  targets: string[];
  /** Keep the target's own labels on a clash (the chart's ServiceMonitor sets honorLabels). */
  honorLabels?: boolean;
  labels?: Record<string, string>;
}

export interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromTarget {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

const writeTargets = (dir: string, j: ScrapeJob): void => {
  const file = join(dir, `${j.job}.targets.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(j.targets.length === 0 ? [] : [{ targets: j.targets, labels: j.labels ?? {} }]));
  renameSync(`${file}.tmp`, file);
};

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });

export class Prometheus {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #dir: string;
  #log = '';
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess, url: string, dir: string) {
    this.#child = child;
    this.url = url;
    this.#dir = dir;
    child.stdout?.on('data', (d) => (this.#log += String(d)));
    child.stderr?.on('data', (d) => (this.#log += String(d)));
    this.#exited = new Promise((r) => child.once('exit', () => r()));
  }

  /** Starts a Prometheus scraping `jobs` every `scrapeIntervalS` seconds. */
  static async start(jobs: readonly ScrapeJob[], scrapeIntervalS = 1): Promise<Prometheus> {
    const binary = await prometheusBinary();
    const dir = mkdtempSync(join(tmpdir(), 'kdb-prometheus-'));
    const config = {
      global: { scrape_interval: `${scrapeIntervalS}s`, evaluation_interval: `${scrapeIntervalS}s` },
      scrape_configs: jobs.map((j) => ({
        job_name: j.job,
        scrape_interval: `${scrapeIntervalS}s`,
        scrape_timeout: `${scrapeIntervalS}s`,
        honor_labels: j.honorLabels ?? false,
        // File discovery: Prometheus notices a rewrite of the file at once (setTargets).
        file_sd_configs: [{ files: [join(dir, `${j.job}.targets.json`)] }],
      })),
    };
    for (const j of jobs) writeTargets(dir, j);
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    const child = spawn(
      binary,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const p = new Prometheus(child, `http://127.0.0.1:${port}`, dir);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${p.#log.slice(-2000)}`);
      const ready = await fetch(`${p.url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) return p;
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s: ${p.#log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Replaces a job's targets (its honorLabels stay as started). */
  setTargets(job: string, targets: string[], labels?: Record<string, string>): void {
    writeTargets(this.#dir, { job, targets, ...(labels ? { labels } : {}) });
  }

  get log(): string {
    return this.#log;
  }

  async #api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** An instant query; a refused expression throws with Prometheus's reason. */
  async query(expr: string): Promise<PromVector[]> {
    const data = await this.#api<{ resultType: string; result: PromVector[] | [number, string] }>('/api/v1/query', { query: expr });
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as PromVector[];
  }

  async targets(): Promise<PromTarget[]> {
    return (await this.#api<{ activeTargets: PromTarget[] }>('/api/v1/targets')).activeTargets;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
    await Promise.race([this.#exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
