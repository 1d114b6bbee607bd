// The gateway's configuration, from env (the operator sets it on the pod);
// a bad value names its variable.

import { bindHost, ConfigError } from '../../images/sim/src/config.ts';
import { rowLimitFromEnv } from '../../images/sim/src/query/serve.ts';
import { addDays, isValidTimeZone, localToEpoch, parseHhMm } from '../../images/sim/src/tickerplant/trading-day.ts';
import type { DaySpan } from './plan.ts';

type Env = Record<string, string | undefined>;

export interface GatewayConfig {
  host: string;
  port: number;
  /** RDB query ports listed by hand (host:port). */
  rdbs: string[];
  /** A headless Service over every RDB pod (name:port): its A records, looked up for each query, are the RDBs. */
  rdbService: { name: string; port: number } | undefined;
  hdb: string | undefined;
  upstreamUser: string | undefined;
  upstreamPassword: string | undefined;
  rowLimit: number;
  timeoutMs: number;
  waitMs: number;
  /** What a trading day covers, when KDB_EOD_TIME and KDB_TZ (the tickerplant's) are set. */
  daySpan: DaySpan | undefined;
}

/**
 * The instants of a trading day: with an end of day at 00:00, the local date
 * itself; else from the previous date's end of day to this one's (the day
 * rule of tickerplant/trading-day.ts).
 */
export const tradingDaySpan = (eodMinutes: number, tz: string): DaySpan => (day) =>
  eodMinutes === 0 ? [localToEpoch(day, 0, tz), localToEpoch(addDays(day, 1), 0, tz)] : [localToEpoch(addDays(day, -1), eodMinutes, tz), localToEpoch(day, eodMinutes, tz)];

const daySpanFromEnv = (env: Env): DaySpan | undefined => {
  const eod = env.KDB_EOD_TIME;
  const tz = env.KDB_TZ;
  if (!eod && !tz) return undefined;
  if (!eod || !tz) throw new ConfigError('set both KDB_EOD_TIME and KDB_TZ (as on the tickerplant), or neither');
  const m = parseHhMm(eod);
  if (m === null) throw new ConfigError(`KDB_EOD_TIME must be HH:MM, got ${JSON.stringify(eod)}`);
  if (!isValidTimeZone(tz)) throw new ConfigError(`KDB_TZ is not an IANA time zone: ${JSON.stringify(tz)}`);
  return tradingDaySpan(m, tz);
};

const HOST_PORT = /^(.+):(\d{1,5})$/;

const endpoint = (v: string, name: string): string => {
  const m = HOST_PORT.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new ConfigError(`${name}: ${JSON.stringify(v)} is not host:port`);
  return v;
};

const whole = (env: Env, name: string, fallback: number, min: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name} must be a whole number of at least ${min}, got ${JSON.stringify(raw)}`);
  return n;
};

export function gatewayConfig(env: Env): GatewayConfig {
  const rdbs = (env.KDB_GATEWAY_RDBS ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => endpoint(s, 'KDB_GATEWAY_RDBS'));
  const svc = env.KDB_GATEWAY_RDB_SERVICE ? endpoint(env.KDB_GATEWAY_RDB_SERVICE, 'KDB_GATEWAY_RDB_SERVICE') : undefined;
  if (rdbs.length === 0 && svc === undefined) throw new ConfigError('set KDB_GATEWAY_RDB_SERVICE (headless Service of the RDB pods, name:port) or KDB_GATEWAY_RDBS (host:port,...)');
  const m = svc ? HOST_PORT.exec(svc)! : undefined;
  const port = whole(env, 'KDB_GATEWAY_PORT', 5000, 1);
  if (port > 65535) throw new ConfigError(`KDB_GATEWAY_PORT must be a TCP port 1..65535, got ${port}`);
  const user = env.KDB_GATEWAY_UPSTREAM_USER || undefined;
  const password = env.KDB_GATEWAY_UPSTREAM_PASSWORD || undefined;
  if (password !== undefined && user === undefined) throw new ConfigError('KDB_GATEWAY_UPSTREAM_PASSWORD is set without KDB_GATEWAY_UPSTREAM_USER');
  return {
    host: bindHost(env),
    port,
    rdbs,
    rdbService: m ? { name: m[1]!, port: Number(m[2]) } : undefined,
    hdb: env.KDB_GATEWAY_HDB ? endpoint(env.KDB_GATEWAY_HDB, 'KDB_GATEWAY_HDB') : undefined,
    upstreamUser: user,
    upstreamPassword: password,
    rowLimit: whole(env, 'KDB_GATEWAY_ROW_LIMIT', rowLimitFromEnv({}), 1),
    timeoutMs: whole(env, 'KDB_GATEWAY_TIMEOUT_MS', 10_000, 1),
    waitMs: whole(env, 'KDB_GATEWAY_WAIT_MS', 5_000, 0),
    daySpan: daySpanFromEnv(env),
  };
}
