import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { combineSums } from '../../images/sim/src/checksum.ts';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { HOST, DataPlane, feed, sums, waitFor } from './harness.ts';
import { expectExactlyOnce } from './exactly-once.ts';

jest.setTimeout(240_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

const MiB = 2 ** 20;

const rssBytes = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

/** Samples a process's resident memory every 20 ms until stopped; returns the peak. */
const sampleRss = (pid: number) => {
  let peak = rssBytes(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  return { stop: () => (clearInterval(t), peak) };
};

const logBytes = (d: DataPlane): number => readdirSync(d.logDir).reduce((n, f) => n + statSync(join(d.logDir, f)).size, 0);

/** r1 live (r2 queued behind it if asked), 2,000 rows applied by r1, then r1 stops reading (SIGSTOP). */
const stopTheLiveRdb = async (tpEnv: Record<string, string>, queued: boolean) => {
  dp = new DataPlane(tpEnv);
  const tp = await dp.startTickerplant();
  await dp.startRdb('r1');
  await dp.waitStatus('r1', (s) => s.state === 'live');
  if (queued) {
    await dp.startRdb('r2');
    await dp.waitStatus('r2', (s) => s.state === 'queued');
  }
  const a = await feed(dp, 2_000, 91);
  await dp.waitRows(['r1'], 2_000);
  const r1 = dp.rdbs.get('r1')!.proc;
  r1.child.kill('SIGSTOP');
  return { tp, a, r1 };
};

const rolledByTickerplant = (next: 'live' | 'none') =>
  waitFor('r1 rolled by the tickerplant', async () => {
    const t = await dp.subscribers();
    const s1 = t.subscribers.find((s) => s.name === 'r1');
    const live = t.subscribers.filter((s) => s.state === 'live');
    if (s1?.state !== 'rolled') return null;
    if (next === 'live' ? live.length !== 1 : live.length !== 0) return null;
    return { count: t.count, s1, live: live[0] };
  });

describe('a slow subscriber cannot hurt the others', () => {
  test('a live RDB that stops reading is rolled once its backlog passes the bound; the queued RDB takes over from the log; the day is complete exactly once', async () => {
    const { tp, a, r1 } = await stopTheLiveRdb({ KDB_TP_SUBSCRIBER_BUFFER_BYTES: String(256 * 1024) }, true);
    // More than loopback's socket buffers (about 6 MB here) can absorb, so the backlog reaches the tickerplant.
    const b = await feed(dp, 300_000, 92);
    expect(b.refused).toBe(0);
    const { s1, live, count } = await rolledByTickerplant('live');
    expect(count).toBe(b.tickerplantCount);
    expect(live!.name).toBe('r2');
    expect(s1.lastI!).toBeGreaterThan(s1.firstI);
    expect(s1.lastI!).toBeLessThan(b.tickerplantCount);
    expect(live!.firstI).toBe(s1.lastI);
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log the roll', () => /rolling slow subscriber.*buffer bound passed/.test(tp.output));

    // r1 wakes up: it applies what reached it, finds its connection gone, reconnects, is told it is rolled
    // at lastI and replays the rest of its window from the log, and nothing past it.
    r1.child.kill('SIGCONT');
    await dp.waitStatus('r1', (s) => s.state === 'rolled' && s.window.lastI === s1.lastI && s.window.lastProcessed === s1.lastI, 60_000);
    await expectExactlyOnce(dp, ['r1', 'r2'], [a, b]);

    // End of day: both slices flushed and merged; the HDB holds every row once.
    const { day } = await dp.subscribers();
    const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
    expect((await eod.exited).code).toBe(0);
    await dp.waitStatus('r1', (s) => s.state === 'flushed');
    await dp.waitStatus('r2', (s) => s.flushed.length === 1);
    const merge = dp.run(['merge', '--day', day, '--expect', '2'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await merge.exited).code).toBe(0);
    expect(JSON.parse(merge.output)).toMatchObject({ alreadyComplete: false, tables: combineSums([sums(a.tables), sums(b.tables)]) });
  });

  test("the tickerplant's memory stays bounded while a stopped RDB is fed 29 MB", async () => {
    const bound = 2 * MiB;
    // A small young generation keeps the collector's own growth from hiding (or faking) a backlog in the RSS.
    const { tp, r1, a } = await stopTheLiveRdb({ KDB_TP_SUBSCRIBER_BUFFER_BYTES: String(bound), NODE_OPTIONS: '--max-semi-space-size=1' }, false);
    const pid = tp.child.pid!;
    const logBefore = logBytes(dp);
    const before = rssBytes(pid);
    const rss = sampleRss(pid);
    const started = Date.now();
    const b: FeedReport = await feed(dp, 800_000, 93);
    const feedMs = Date.now() - started;
    const { s1 } = await rolledByTickerplant('none');
    const peak = rss.stop();
    const published = logBytes(dp) - logBefore;
    process.stdout.write(
      `slow subscriber: ${b.rows} rows (${(published / MiB).toFixed(1)} MiB) fed in ${feedMs} ms to a stopped RDB; rolled at ${s1.lastI} of ${b.tickerplantCount}; ` +
        `tickerplant RSS ${(before / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB (bound ${bound / MiB} MiB)\n`,
    );
    expect(b.refused).toBe(0);
    expect(published).toBeGreaterThan(28 * MiB);
    // Unbounded, the tickerplant would hold everything the kernel did not take (over 20 MiB of this);
    // bounded it holds the bound, plus what the collector has not yet given back.
    expect(peak - before).toBeLessThan(bound + 10 * MiB);
    expect(r1.running).toBe(true);
    expect(a.refused).toBe(0);
  });

  test('a live RDB whose backlog makes no progress is rolled after the stall time, below the byte bound', async () => {
    const { tp } = await stopTheLiveRdb({ KDB_TP_SUBSCRIBER_STALL_MS: '1000' }, false);
    const b = await feed(dp, 300_000, 94);
    expect(b.refused).toBe(0);
    const { s1 } = await rolledByTickerplant('none');
    expect(s1.lastI!).toBeLessThan(b.tickerplantCount);
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log the roll', () => /rolling slow subscriber.*no progress/.test(tp.output));
    // The next to arrive goes live where the tickerplant rolled it and recovers the rest from the log.
    await dp.startRdb('r2');
    const r2 = await dp.waitStatus('r2', (s) => s.state === 'live' && s.window.lastProcessed === b.tickerplantCount, 60_000);
    expect(r2.window.firstI).toBe(s1.lastI);
  });
});
