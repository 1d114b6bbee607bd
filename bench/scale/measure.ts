// What the scale benchmark reads: the operator's own /metrics (prom-client's
// process figures, its Kubernetes requests by verb, its AWS calls, the work
// queue) and the fault injector's log of every AWS call the operator made.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { stackDir } from '../../test/lib/stack.ts';

export interface Sample {
  t: number;
  rssBytes: number;
  cpuSeconds: number;
  kubeRequests: Record<string, number>;
  awsCalls: Record<string, number>;
  queueDepth: number;
  longestWaitSeconds: number | undefined;
}

const series = (text: string, name: string): Array<{ labels: Record<string, string>; value: number }> => {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  const re = new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.e+-]+|NaN)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
};

const sumBy = (xs: Array<{ labels: Record<string, string>; value: number }>, label: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x.labels[label] ?? ''] = (out[x.labels[label] ?? ''] ?? 0) + x.value;
  return out;
};

export const scrape = async (url: string): Promise<Sample> => {
  const text = await (await fetch(url)).text();
  const one = (name: string) => series(text, name)[0]?.value;
  return {
    t: Date.now(),
    rssBytes: one('kdb_operator_process_resident_memory_bytes') ?? NaN,
    cpuSeconds: one('kdb_operator_process_cpu_seconds_total') ?? NaN,
    kubeRequests: sumBy(series(text, 'kdb_operator_kube_requests_total'), 'verb'),
    awsCalls: sumBy(series(text, 'kdb_operator_aws_calls_total'), 'operation'),
    queueDepth: series(text, 'kdb_operator_workqueue_depth').reduce((a, x) => a + x.value, 0),
    longestWaitSeconds: one('kdb_operator_workqueue_longest_wait_seconds'),
  };
};

export interface AwsCall {
  time: string;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  injected: string | null;
}

/**
 * The fault injector's call log, read as it grows: each read parses only
 * what was appended since the last, so the end-of-day wait that polls it
 * does not re-read the whole day on the cores the operator is measured on.
 */
export class CallLog {
  readonly #path = join(stackDir(), 'logs', 'aws-calls.jsonl');
  #offset = 0;
  #partial = '';
  readonly #calls: AwsCall[] = [];

  /** Every call through the fault injector since `sinceMs`. */
  since(sinceMs: number): AwsCall[] {
    const fd = openSync(this.#path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > this.#offset) {
        const buf = Buffer.alloc(size - this.#offset);
        readSync(fd, buf, 0, buf.length, this.#offset);
        this.#offset = size;
        const lines = (this.#partial + buf.toString('utf8')).split('\n');
        this.#partial = lines.pop() ?? '';
        for (const l of lines) if (l) this.#calls.push(JSON.parse(l) as AwsCall);
      }
    } finally {
      closeSync(fd);
    }
    return this.#calls.filter((c) => Date.parse(c.time) >= sinceMs);
  }
}

export const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export const stats = (xs: readonly number[]) => ({
  n: xs.length,
  p50: percentile(xs, 50),
  p99: percentile(xs, 99),
  max: xs.length ? Math.max(...xs) : NaN,
});

/** Per-second rates between two samples, by key. */
export const rates = (a: Record<string, number>, b: Record<string, number>, seconds: number): Record<string, number> =>
  Object.fromEntries(Object.keys(b).map((k) => [k, ((b[k] ?? 0) - (a[k] ?? 0)) / seconds] as const).filter(([, v]) => v > 0));
