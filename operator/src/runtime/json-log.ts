// Logging without winston: the redaction rules every log line goes through,
// the small logger interface code shared with the agent accepts, and a JSON
// line logger for the agent, which runs beside every RDB and cannot afford
// winston's import (see bench/agent-memory.ts). Lines look like winston's
// (runtime/log.ts): one JSON object, keys sorted, level, message, timestamp.

// Keys whose values are credentials, matched on how the key ends so
// `secretAccessKey`, `x-amz-security-token` and `Authorization` are caught but
// `secretName` and `tokenFile` (references, not secrets) are not.
const SECRET_KEY = /(token|authorization|password|passwd|secret|credentials?|api[-_]?key|access[-_]?key|cookie|private[-_]?key|client[-_]?key|licen[sc]e(_?b64)?)$/i;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/g;
const REDACTED = '[REDACTED]';

export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key);

/** Copy of `value` with credential-looking fields and bearer tokens masked. */
export const redact = (value: unknown, depth = 0): unknown => {
  if (typeof value === 'string') return value.replace(BEARER, `$1 ${REDACTED}`);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, depth + 1), stack: value.stack };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1);
  return out;
};

export type LogMethod = (message: string, meta?: Record<string, unknown>) => unknown;

/** What code shared by the operator and the agent logs through; a winston Logger is one. */
export interface LevelLog {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
}

export const quietLog: LevelLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

const LEVELS = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 } as const;
type Level = keyof LevelLog;

/** JSON with object keys sorted at every depth, as winston's json format writes it. */
export const sortedJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
    return out;
  });

export interface JsonLogOptions {
  /** npm level names as winston's; LOG_LEVEL, else info. */
  level?: string;
  /** Static fields on every line (e.g. component, pod). */
  defaultMeta?: Record<string, unknown>;
  /** Where a line goes (with its newline); stdout by default, as winston's Console transport. */
  write?: (line: string) => void;
  now?: () => number;
}

export const createJsonLog = (opts: JsonLogOptions = {}): LevelLog => {
  const name = (opts.level ?? process.env.LOG_LEVEL ?? 'info') as keyof typeof LEVELS;
  const threshold = LEVELS[name] ?? LEVELS.info;
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  const now = opts.now ?? Date.now;
  const method =
    (level: Level): LogMethod =>
    (message, meta) => {
      if (LEVELS[level] > threshold) return;
      const fields = { ...opts.defaultMeta, ...meta, level, message, timestamp: new Date(now()).toISOString() };
      const line: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) line[k] = isSecretKey(k) ? REDACTED : redact(v);
      write(`${sortedJson(line)}\n`);
    };
  return { error: method('error'), warn: method('warn'), info: method('info'), debug: method('debug') };
};
