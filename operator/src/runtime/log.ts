import winston from 'winston';

export type Logger = winston.Logger;

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

const redactFormat = winston.format((info) => {
  // Mutate in place: winston keys the level and message on symbols we must keep.
  for (const key of Object.keys(info)) {
    info[key] = isSecretKey(key) ? REDACTED : redact(info[key]);
  }
  return info;
});

export interface LoggerOptions {
  level?: string;
  /** Static fields on every line (e.g. component, pod). */
  defaultMeta?: Record<string, unknown>;
  /** Defaults to stderr-free console JSON; tests pass a stream transport. */
  transports?: winston.transport[];
}

/**
 * Structured JSON logs. Callers add context with child loggers, e.g.
 * `log.child({ cluster: 'ns/name' })`, never by formatting it into messages.
 */
export const createLogger = (opts: LoggerOptions = {}): Logger =>
  winston.createLogger({
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    defaultMeta: opts.defaultMeta,
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      redactFormat(),
      winston.format.timestamp(),
      winston.format.json(),
    ),
    transports: opts.transports ?? [new winston.transports.Console()],
  });

/** A logger that drops everything (tests, library defaults). */
export const silentLogger = (): Logger => winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
