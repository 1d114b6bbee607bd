import { z } from 'zod';
import { DEFAULT_SCHEMA, Schema, type TableSchema } from './schema.ts';
import { isValidTimeZone, parseHhMm } from './tickerplant/trading-day.ts';

/** Configuration comes from env (set by the operator on the pods); a bad value names its variable. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const read = <T>(env: Env, name: string, schema: z.ZodType<T>, fallback?: string): T => {
  const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const why = raw === undefined ? 'is required' : `is invalid (${JSON.stringify(raw)}): ${issue?.message ?? 'invalid'}`;
    throw new ConfigError(`${name} ${why}`);
  }
  return r.data;
};

const port = z.coerce.number().int().min(1).max(65535);
const nonNegInt = z.coerce.number().int().nonnegative();
const posInt = z.coerce.number().int().positive();
const percent = z.coerce.number().gt(0).lte(100);
const path = z.string().min(1);
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));
const flag = z.enum(['0', '1', 'true', 'false']).transform((s) => s === '1' || s === 'true');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only');
const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a trading day, YYYY-MM-DD');

const schemaFromEnv = (env: Env): TableSchema[] => {
  const raw = env.KDB_SCHEMA;
  if (raw === undefined || raw === '') return DEFAULT_SCHEMA;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(`KDB_SCHEMA is not JSON: ${(e as Error).message}`);
  }
  const r = Schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(`KDB_SCHEMA is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return r.data;
};

/** Listeners bind to the pod's own address; several pods share one machine, each with its own 127.x. */
export const bindHost = (env: Env): string => read(env, 'POD_IP', z.ipv4(), '127.0.0.1');

export interface TickerplantConfig {
  host: string;
  port: number;
  logDir: string;
  stateDir: string;
  schema: TableSchema[];
  eodMinutes: number;
  eodTime: string;
  tz: string;
  batchMs: number;
  truncateCorruptLog: boolean;
  /** Bytes waiting in user space for one live subscriber before it is rolled (its backlog is the tickerplant's memory). */
  subscriberBufferBytes: number;
  /** A live subscriber with a backlog that has not moved for this long is rolled (a dead peer under traffic). */
  subscriberStallMs: number;
  /** TCP keepalive idle time: a vanished peer of an idle connection is noticed this long plus about 10 s of probes later. */
  keepAliveMs: number;
}

export const tickerplantConfig = (env: Env): TickerplantConfig => {
  const eodTime = read(env, 'KDB_EOD_TIME', z.string().refine((s) => parseHhMm(s) !== null, 'expected HH:MM'), '00:00');
  return {
    host: bindHost(env),
    port: read(env, 'KDB_TP_PORT', port, '5010'),
    logDir: read(env, 'KDB_LOG_DIR', path),
    stateDir: read(env, 'KDB_STATE_DIR', path),
    schema: schemaFromEnv(env),
    eodTime,
    eodMinutes: parseHhMm(eodTime)!,
    tz: read(env, 'KDB_TZ', z.string().refine(isValidTimeZone, 'not an IANA time zone'), 'UTC'),
    batchMs: read(env, 'KDB_BATCH_MS', nonNegInt, '0'),
    truncateCorruptLog: read(env, 'KDB_TRUNCATE_CORRUPT_LOG', flag, '0'),
    subscriberBufferBytes: read(env, 'KDB_TP_SUBSCRIBER_BUFFER_BYTES', posInt, String(64 * 2 ** 20)),
    subscriberStallMs: read(env, 'KDB_TP_SUBSCRIBER_STALL_MS', posInt, '30000'),
    keepAliveMs: read(env, 'KDB_TP_KEEPALIVE_MS', posInt, '10000'),
  };
};

export interface RdbConfig {
  name: string;
  pool: string;
  tpHost: string;
  tpPort: number;
  tables: string[];
  syms: string[];
  scaleThreshold: number;
  rollThreshold: number;
  memoryLimitBytes: number;
  baselineBytes: number;
  statusFile: string;
  hdbDir: string;
  stagingDir: string;
  queryHost: string;
  queryPort: number;
  replaces: string | null;
  /** The trading day of the lost RDB's window (its last report); null: the current day. */
  replacesDay: string | null;
}

/**
 * The paper's idle RDB used about 150 MB. This Node.js RDB needs about 64 MB
 * idle plus room for the collector and for end-of-day and query work, which
 * grow with the data: the baseline is 40% of the limit, at least 64 MiB and
 * at most 150 MiB (the paper's figure), and always below half the limit.
 */
export const defaultBaseline = (limitBytes: number): number =>
  Math.min(150 * 2 ** 20, Math.max(64 * 2 ** 20, Math.floor(limitBytes * 0.4)), Math.floor(limitBytes / 2));

export const rdbConfig = (env: Env): RdbConfig => {
  const cfg: RdbConfig = {
    name: read(env, 'KDB_RDB_NAME', name),
    pool: read(env, 'KDB_POOL', name),
    tpHost: read(env, 'KDB_TP_HOST', z.string().min(1), '127.0.0.1'),
    tpPort: read(env, 'KDB_TP_PORT', port, '5010'),
    tables: read(env, 'KDB_TABLES', list, ''),
    syms: read(env, 'KDB_SYMS', list, ''),
    scaleThreshold: read(env, 'KDB_SCALE_THRESHOLD', percent, '60'),
    rollThreshold: read(env, 'KDB_ROLL_THRESHOLD', percent, '80'),
    memoryLimitBytes: read(env, 'KDB_MEMORY_LIMIT_BYTES', posInt),
    // The paper's idle RDB used about 150 MB; tests scale it down.
    // See defaultBaseline.
    baselineBytes: env.KDB_BASELINE_BYTES
      ? read(env, 'KDB_BASELINE_BYTES', nonNegInt)
      : defaultBaseline(Number(env.KDB_MEMORY_LIMIT_BYTES ?? 0)),
    statusFile: read(env, 'KDB_STATUS_FILE', path, '/var/run/kdb/status.json'),
    hdbDir: read(env, 'KDB_HDB_DIR', path),
    stagingDir: read(env, 'KDB_STAGING_DIR', path),
    queryHost: bindHost(env),
    queryPort: read(env, 'KDB_QUERY_PORT', port, '5011'),
    replaces: read(env, 'KDB_REPLACES', name.optional(), undefined) ?? null,
    replacesDay: read(env, 'KDB_REPLACES_DAY', isoDay.optional(), undefined) ?? null,
  };
  if (cfg.scaleThreshold >= cfg.rollThreshold)
    throw new ConfigError(`KDB_SCALE_THRESHOLD (${cfg.scaleThreshold}) must be below KDB_ROLL_THRESHOLD (${cfg.rollThreshold})`);
  if (cfg.baselineBytes >= cfg.memoryLimitBytes)
    throw new ConfigError(`KDB_BASELINE_BYTES (${cfg.baselineBytes}) must be below KDB_MEMORY_LIMIT_BYTES (${cfg.memoryLimitBytes})`);
  return cfg;
};

export interface MergeConfig {
  stagingDir: string;
  hdbDir: string;
}
export const mergeConfig = (env: Env): MergeConfig => ({
  stagingDir: read(env, 'KDB_STAGING_DIR', path),
  hdbDir: read(env, 'KDB_HDB_DIR', path),
});
