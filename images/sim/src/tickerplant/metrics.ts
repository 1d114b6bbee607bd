import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ConfigError } from '../config.ts';
import type { Logger } from '../util/logger.ts';
import type { SubscriberState } from './subscriber-queue.ts';

/**
 * The tickerplant's Prometheus metrics, read from the tickerplant when
 * Prometheus scrapes (nothing on the message path), served on
 * KDB_METRICS_PORT at /metrics. Series carry no cluster label: the pod's
 * labels say which cluster (the chart's PodMonitor copies them on).
 */

type Env = Record<string, string | undefined>;

/** What the tickerplant tells its metrics (Tickerplant.stats()). */
export interface TickerplantStats {
  day: string;
  /** Messages made durable and published since this process started: only grows. */
  messagesSinceStart: number;
  /** Today's message number: the count in today's log. */
  dayMessages: number;
  /** Bytes of today's log file. */
  logBytes: number;
  /** Today's subscriber table. */
  subscribers: readonly { pool: string; state: SubscriberState }[];
  /** RDB connections open now. */
  connectedRdbs: number;
  /** Feed connections open now (each speaking for a feed id). */
  connectedFeeds: number;
}

export const SUBSCRIBER_STATES: readonly SubscriberState[] = ['queued', 'live', 'rolled'];

/** KDB_METRICS_PORT: the /metrics port; unset or empty: no metrics server. */
export const metricsPort = (env: Env): number | undefined => {
  const raw = env.KDB_METRICS_PORT;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`KDB_METRICS_PORT is invalid (${JSON.stringify(raw)}): a TCP port 1..65535, or empty for none`);
  return n;
};

/** A registry of its own (never prom-client's global one), reading `stats` at every scrape. */
export const tickerplantRegistry = (stats: () => TickerplantStats, opts: { defaultMetrics?: boolean } = {}): Registry => {
  const registry = new Registry();
  const registers = [registry];
  if (opts.defaultMetrics ?? false) collectDefaultMetrics({ register: registry, prefix: 'kdb_tickerplant_' });
  new Counter({
    name: 'kdb_tickerplant_messages_total',
    help: 'Messages logged, made durable and published since the tickerplant started (rate() gives messages per second)',
    registers,
    collect() {
      // A counter read from the tickerplant's own count: set it to that count at each scrape.
      this.reset();
      this.inc(stats().messagesSinceStart);
    },
  });
  new Gauge({
    name: 'kdb_tickerplant_day_messages',
    help: "Today's message number: messages in today's log",
    labelNames: ['day'] as const,
    registers,
    collect() {
      const s = stats();
      this.reset();
      this.set({ day: s.day }, s.dayMessages);
    },
  });
  new Gauge({
    name: 'kdb_tickerplant_log_bytes',
    help: "Bytes of today's tickerplant log file",
    registers,
    collect() {
      this.set(stats().logBytes);
    },
  });
  new Gauge({
    name: 'kdb_tickerplant_subscribers',
    help: "RDBs in today's subscriber table, by pool and state (queued, live, rolled)",
    labelNames: ['pool', 'state'] as const,
    registers,
    collect() {
      const s = stats();
      this.reset();
      const pools = new Set(s.subscribers.map((x) => x.pool));
      for (const pool of pools)
        for (const state of SUBSCRIBER_STATES) this.set({ pool, state }, s.subscribers.filter((x) => x.pool === pool && x.state === state).length);
    },
  });
  new Gauge({
    name: 'kdb_tickerplant_connections',
    help: 'Connections open now, RDBs and feeds',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const s = stats();
      this.set({ kind: 'rdb' }, s.connectedRdbs);
      this.set({ kind: 'feed' }, s.connectedFeeds);
    },
  });
  return registry;
};

/** Serves /metrics on host:port; anything else is 404. */
export const startMetricsServer = async (registry: Registry, host: string, port: number, log: Logger): Promise<http.Server> => {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (e: Error) => {
        log.warn('metrics scrape failed', { error: e.message });
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  log.info('metrics served', { host, port: (server.address() as { port: number }).port, path: '/metrics' });
  return server;
};
