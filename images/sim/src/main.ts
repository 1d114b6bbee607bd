import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { requestEndOfDay, requestSubscribers } from './client/tp-client.ts';
import { ConfigError, mergeConfig, rdbConfig, tickerplantConfig } from './config.ts';
import { runFeed } from './feed/feed.ts';
import { parseProfile } from './feed/profile.ts';
import { scanLog, truncateLog } from './log/tplog.ts';
import { MergeError, mergeDay } from './merge/merge.ts';
import { hdbConfig } from './hdb/config.ts';
import { Hdb } from './hdb/hdb.ts';
import { listenIpc, queryIpcOptions } from './query/serve.ts';
import { rdbQueryBackend } from './rdb/query-api.ts';
import { startQueryServer } from './rdb/query-server.ts';
import { Rdb } from './rdb/rdb.ts';
import { schemaMap } from './schema.ts';
import { ipcFeedPort, startIpcFeed } from './tickerplant/ipc-feed.ts';
import { metricsPort, startMetricsServer, tickerplantRegistry } from './tickerplant/metrics.ts';
import { CorruptLogError, Tickerplant } from './tickerplant/server.ts';
import { makeLogger } from './util/logger.ts';

const USAGE = `usage: node images/sim/src/main.ts <command> [options]
  tickerplant                      env: KDB_TP_PORT KDB_LOG_DIR KDB_STATE_DIR KDB_SCHEMA KDB_EOD_TIME KDB_TZ KDB_BATCH_MS KDB_TRUNCATE_CORRUPT_LOG KDB_METRICS_PORT POD_IP
                                        KDB_TP_IPC_PORT (unset: none; kdb+ IPC .u.upd from q feedhandlers) KDB_IPC_CREDENTIALS(_FILE)
  rdb                              env: KDB_RDB_NAME KDB_POOL KDB_TP_HOST KDB_TP_PORT KDB_TABLES KDB_SYMS KDB_SCALE_THRESHOLD KDB_ROLL_THRESHOLD
                                        KDB_MEMORY_LIMIT_BYTES KDB_BASELINE_BYTES KDB_STATUS_FILE KDB_HDB_DIR KDB_STAGING_DIR KDB_QUERY_PORT KDB_REPLACES POD_IP
                                        KDB_IPC_CREDENTIALS(_FILE) KDB_QUERY_ROW_LIMIT  (the query port answers HTTP and kdb+ IPC)
  hdb                              env: KDB_HDB_DIR KDB_HDB_PORT (5012) KDB_IPC_CREDENTIALS(_FILE) KDB_QUERY_ROW_LIMIT POD_IP  (kdb+ IPC: getData, purview)
  gateway                          env: KDB_GATEWAY_PORT (5000) KDB_GATEWAY_RDB_SERVICE|KDB_GATEWAY_RDBS KDB_GATEWAY_HDB ... (gateway/README.md)
  feed [--host H] [--port P] [--syms A,B] [--rows N] [--seed S] [--batch ROWS] [--day-ms MS] [--day YYYY-MM-DD (default: the tickerplant's trading day)] [--tz ZONE]
       [--profile 6:1.3,7:3.2,...] [--tp-stamps] [--report FILE]
  merge --day YYYY-MM-DD [--expect N] [--staging DIR] [--hdb DIR]   (env KDB_MERGE_DAY KDB_STAGING_DIR KDB_HDB_DIR)
  eod --host H --port P            end of day now (admin message to the tickerplant)
  subscribers --host H --port P    the tickerplant's subscriber table
  truncate-log FILE BYTES          cut a corrupt log tail (the tickerplant prints the command)
  query --host H --port P --kind count|rows|checksum|status [--table T] [--from T0] [--to T1] [--syms A,B] [--limit N]`;

class UsageError extends Error {}

const need = (v: string | undefined, name: string): string => {
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
};
const int = (v: string | undefined, name: string, fallback?: number): number => {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, got ${v}`);
  return n;
};

const onSignals = (stop: () => Promise<void> | void): void => {
  const handler = () => {
    void Promise.resolve(stop()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
};

const commands: Record<string, (args: string[]) => Promise<void>> = {
  async tickerplant() {
    const cfg = tickerplantConfig(process.env);
    const log = makeLogger('tickerplant');
    const ipcPort = ipcFeedPort(process.env);
    const metricsAt = metricsPort(process.env);
    const tp = new Tickerplant(cfg, log);
    await tp.start();
    const ipc = ipcPort === undefined ? null : await startIpcFeed({ schemas: schemaMap(cfg.schema), tpHost: tp.address.address, tpPort: tp.address.port, env: process.env, log }, ipcPort, cfg.host);
    if (ipcPort !== undefined) log.info('kdb+ IPC feed port open (.u.upd)', { host: cfg.host, port: ipcPort });
    const metrics = metricsAt === undefined ? null : await startMetricsServer(tickerplantRegistry(() => tp.stats(), { defaultMetrics: true }), cfg.host, metricsAt, log);
    onSignals(async () => {
      metrics?.close();
      ipc?.close();
      await tp.stop();
    });
  },

  async rdb() {
    const cfg = rdbConfig(process.env);
    const log = makeLogger(`rdb:${cfg.name}`);
    const rdb = new Rdb(cfg, log);
    const snapshot = () => rdb.snapshot();
    const ipc = queryIpcOptions(rdbQueryBackend(rdb.store, snapshot), process.env, log);
    const server = await startQueryServer(cfg.queryHost, cfg.queryPort, rdb.store, snapshot, ipc);
    rdb.start();
    // The status file is left as it is: the agent reports the last state the RDB had.
    onSignals(() => {
      rdb.stop();
      server.close();
    });
  },

  async hdb() {
    const cfg = hdbConfig(process.env);
    const log = makeLogger('hdb');
    const server = await listenIpc(queryIpcOptions(new Hdb(cfg.hdbDir), process.env, log), cfg.port, cfg.host);
    log.info('hdb serving', { host: cfg.host, port: cfg.port, dir: cfg.hdbDir });
    onSignals(() => {
      server.close();
    });
  },

  async gateway() {
    // The gateway is its own component (gateway/); this lets the data-plane image run it as `gateway` too.
    await import('../../../gateway/src/main.ts');
  },

  async feed(args) {
    const { values: v } = parseArgs({
      args,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        syms: { type: 'string', default: 'AAPL,MSFT,GOOG,AMZN,IBM,KX' },
        rows: { type: 'string', default: '100000' },
        seed: { type: 'string', default: '1' },
        batch: { type: 'string', default: '100' },
        'day-ms': { type: 'string', default: '0' },
        day: { type: 'string' },
        tz: { type: 'string', default: process.env.KDB_TZ ?? 'UTC' },
        profile: { type: 'string' },
        'tp-stamps': { type: 'boolean', default: false },
        report: { type: 'string' },
      },
    });
    const report = await runFeed({
      host: v.host ?? process.env.KDB_TP_HOST ?? '127.0.0.1',
      port: int(v.port ?? process.env.KDB_TP_PORT, 'port', 5010),
      syms: v.syms.split(',').filter(Boolean),
      rows: int(v.rows, 'rows'),
      seed: int(v.seed, 'seed'),
      batch: Math.max(1, int(v.batch, 'batch')),
      dayMs: int(v['day-ms'], 'day-ms'),
      ...(v.day ? { day: v.day } : {}),
      tz: v.tz,
      ...(v.profile ? { profile: parseProfile(v.profile) } : {}),
      tickerplantStamps: v['tp-stamps'],
    });
    const json = JSON.stringify(report, null, 1);
    if (v.report) writeFileSync(v.report, json);
    process.stdout.write(json + '\n');
    if (report.refused > 0) process.exitCode = 1;
  },

  async merge(args) {
    const { values: v } = parseArgs({ args, options: { day: { type: 'string' }, expect: { type: 'string' }, staging: { type: 'string' }, hdb: { type: 'string' } } });
    const env = { ...process.env };
    if (v.staging) env.KDB_STAGING_DIR = v.staging;
    if (v.hdb) env.KDB_HDB_DIR = v.hdb;
    const cfg = mergeConfig(env);
    const r = mergeDay(cfg.stagingDir, cfg.hdbDir, need(v.day ?? env.KDB_MERGE_DAY, 'day'), v.expect === undefined ? undefined : int(v.expect, 'expect'));
    process.stdout.write(JSON.stringify(r, null, 1) + '\n');
  },

  async eod(args) {
    const { values: v } = parseArgs({ args, options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string' } } });
    process.stdout.write(JSON.stringify(await requestEndOfDay(v.host, int(v.port, 'port'))) + '\n');
  },

  async subscribers(args) {
    const { values: v } = parseArgs({ args, options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string' } } });
    process.stdout.write(JSON.stringify(await requestSubscribers(v.host, int(v.port, 'port')), null, 1) + '\n');
  },

  async 'truncate-log'(args) {
    const [file, bytes] = args;
    const n = int(bytes, 'bytes');
    const scan = scanLog(need(file, 'file'));
    if (n > scan.totalBytes) throw new UsageError(`${file} has ${scan.totalBytes} bytes; cannot truncate to ${n}`);
    truncateLog(file!, n);
    const after = scanLog(file!);
    process.stdout.write(JSON.stringify({ file, bytes: n, messages: after.count, whole: after.corruption === null }) + '\n');
  },

  async query(args) {
    const { values: v } = parseArgs({
      args,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string' },
        kind: { type: 'string', default: 'count' },
        table: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        syms: { type: 'string' },
        limit: { type: 'string' },
      },
    });
    if (!['count', 'rows', 'checksum', 'status'].includes(v.kind)) throw new UsageError(`--kind must be count, rows, checksum or status`);
    const q = new URLSearchParams();
    for (const k of ['table', 'from', 'to', 'syms', 'limit'] as const) if (v[k] !== undefined) q.set(k, v[k]!);
    const res = await fetch(`http://${v.host}:${int(v.port, 'port')}/${v.kind}?${q}`);
    process.stdout.write((await res.text()) + '\n');
    if (!res.ok) process.exitCode = 1;
  },
};

const main = async (): Promise<void> => {
  const [cmd, ...args] = process.argv.slice(2);
  const run = cmd ? commands[cmd] : undefined;
  if (!run) {
    process.stderr.write(`${cmd ? `unknown command ${cmd}\n` : ''}${USAGE}\n`);
    process.exit(2);
  }
  try {
    await run(args);
  } catch (e) {
    if (e instanceof ConfigError) process.stderr.write(`config error: ${e.message}\n`);
    else if (e instanceof CorruptLogError || e instanceof MergeError || e instanceof UsageError) process.stderr.write(`${e.message}\n`);
    else process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(e instanceof CorruptLogError ? 3 : 2);
  }
};

await main();
