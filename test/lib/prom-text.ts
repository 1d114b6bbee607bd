/**
 * The Prometheus text exposition format, read back for tests: one sample a
 * line, `name{label="value",...} value`. Enough for what prom-client writes
 * (no timestamps, escaped quotes in label values).
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export const parsePromText = (text: string): PromSample[] =>
  text.split('\n').flatMap((line) => {
    const m = LINE.exec(line.trim());
    if (!m || line.startsWith('#')) return [];
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const v = m[3]!;
    return [{ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) }];
  });

/** The one sample of `name` whose labels include `labels`; undefined when none; throws when several. */
export const sampleOf = (samples: readonly PromSample[], name: string, labels: Record<string, string> = {}): number | undefined => {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
};
