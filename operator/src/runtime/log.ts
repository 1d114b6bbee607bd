import winston from 'winston';
import { isSecretKey, redact } from './json-log.ts';

export { isSecretKey, redact };

const REDACTED = '[REDACTED]';

export type Logger = winston.Logger;

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
