import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { statSync } from 'node:fs';
import { requestEndOfDay } from '../../images/sim/src/client/tp-client.ts';
import { logPathFor } from '../../images/sim/src/log/tplog.ts';
import { parsePromText, sampleOf, type PromSample } from '../lib/prom-text.ts';
import { DataPlane, HOST, feed, freePort, waitFor } from './harness.ts';

/**
 * The tickerplant process's /metrics (KDB_METRICS_PORT), scraped over HTTP
 * while a feed publishes to a live RDB: the message counter equals the
 * tickerplant's own count, the subscriber table and the log size are what
 * the tickerplant and the file system say.
 */
jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

const scrape = async (port: number): Promise<PromSample[]> => {
  const res = await fetch(`http://${HOST}:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePromText(await res.text());
};

describe('tickerplant metrics', () => {
  test('messages, subscribers, connections and log bytes match the tickerplant and its log', async () => {
    const metricsPort = await freePort();
    dp = new DataPlane({ KDB_METRICS_PORT: String(metricsPort) });
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.startRdb('r2');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.waitStatus('r2', (s) => s.state === 'queued');

    // The RDB's status file and the tickerplant's subscriber table are two processes' views: an RDB
    // may say queued a moment before the tickerplant has registered it, so the scrape awaits the table.
    const before = await waitFor('the tickerplant to count one live and one queued RDB', async () => {
      const s = await scrape(metricsPort);
      const live = sampleOf(s, 'kdb_tickerplant_subscribers', { pool: 'pool1', state: 'live' });
      const queued = sampleOf(s, 'kdb_tickerplant_subscribers', { pool: 'pool1', state: 'queued' });
      return live === 1 && queued === 1 ? s : null;
    });
    expect(sampleOf(before, 'kdb_tickerplant_messages_total')).toBe(0);
    expect(sampleOf(before, 'kdb_tickerplant_subscribers', { pool: 'pool1', state: 'live' })).toBe(1);
    expect(sampleOf(before, 'kdb_tickerplant_subscribers', { pool: 'pool1', state: 'queued' })).toBe(1);
    expect(sampleOf(before, 'kdb_tickerplant_subscribers', { pool: 'pool1', state: 'rolled' })).toBe(0);
    expect(sampleOf(before, 'kdb_tickerplant_connections', { kind: 'rdb' })).toBe(2);

    await feed(dp, 2000, 7);
    const { day, count } = await dp.subscribers();
    expect(count).toBeGreaterThanOrEqual(50); // 2000 rows in messages of at most 40
    const after = await waitFor('the counter to reach the count', async () => {
      const s = await scrape(metricsPort);
      return sampleOf(s, 'kdb_tickerplant_messages_total') === count ? s : null;
    });
    expect(sampleOf(after, 'kdb_tickerplant_day_messages', { day })).toBe(count);
    expect(sampleOf(after, 'kdb_tickerplant_log_bytes')).toBe(statSync(logPathFor(dp.logDir, day)).size);
    // The process's own metrics come along (memory of the one process every RDB's feed goes through).
    expect(sampleOf(after, 'kdb_tickerplant_process_resident_memory_bytes')).toBeGreaterThan(0);

    // End of day starts the day's number over; the counter goes on (rate() sees no reset).
    const eod = (await requestEndOfDay(HOST, dp.tpPort)) as { nextDay: string };
    const next = await scrape(metricsPort);
    expect(sampleOf(next, 'kdb_tickerplant_messages_total')).toBe(count);
    expect(sampleOf(next, 'kdb_tickerplant_day_messages', { day: eod.nextDay })).toBe(0);
    expect(sampleOf(next, 'kdb_tickerplant_day_messages', { day })).toBeUndefined();

    const other = await fetch(`http://${HOST}:${metricsPort}/`);
    expect(other.status).toBe(404);
  });

  test('without KDB_METRICS_PORT nothing listens; a bad one stops the tickerplant naming the variable', async () => {
    dp = new DataPlane();
    const port = await freePort();
    await dp.startTickerplant();
    await expect(fetch(`http://${HOST}:${port}/metrics`)).rejects.toThrow();
    await dp.tp!.kill('SIGTERM');
    const bad = dp.run(['tickerplant'], { KDB_TP_PORT: String(await freePort()), KDB_LOG_DIR: dp.logDir, KDB_STATE_DIR: `${dp.dir}/s2`, KDB_METRICS_PORT: '70000' });
    await waitFor('the tickerplant to refuse', () => !bad.running);
    expect(bad.output).toMatch(/KDB_METRICS_PORT is invalid \("70000"\): a TCP port 1\.\.65535/);
  });
});
