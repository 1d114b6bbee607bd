import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestEndOfDay, requestRollLive } from '../../operator/src/tickerplant/control.ts';
import { tilesExactly } from '../../images/sim/src/window.ts';
import { expectExactlyOnce } from './exactly-once.ts';
import { DataPlane, HOST, feed, waitFor } from './harness.ts';

// The operator's roll of a live RDB on request (operator/src/tickerplant/control.ts
// against the reference tickerplant process): how a pool's live RDB is moved
// onto a new spec mid-day. The feed keeps publishing through the roll; every
// message must land in exactly one RDB, then in exactly one slice at end of day.
jest.setTimeout(180_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

interface SliceHeader {
  rdb: string;
  window: { firstI: number; lastI: number };
  tables: Record<string, { rows: number }>;
}
const sliceHeader = (path: string): SliceHeader => JSON.parse(readFileSync(path, 'utf8').split('\n', 1)[0]!) as SliceHeader;
const sliceRows = (h: SliceHeader): number => Object.values(h.tables).reduce((s, t) => s + t.rows, 0);

describe("the operator's roll of a live RDB, guarded by the live RDB's name", () => {
  test.each([
    ['zero-latency', {}],
    ['batching mode, KDB_BATCH_MS=25', { KDB_BATCH_MS: '25' }],
  ])('mid-stream (%s): no message lost or duplicated, a repeat rolls nothing, a roll with nothing queued is refused', async (_mode, env) => {
    dp = new DataPlane(env);
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.startRdb('r2');
    await dp.waitStatus('r2', (s) => s.state === 'queued');

    // 20,000 rows over about 4 s of wall time: the roll lands while messages keep coming.
    const rows = 20_000;
    const feeding = feed(dp, rows, 91, { dayMs: 4_000 });
    await waitFor('r1 to hold part of the feed', async () => {
      const n = (await dp.checksums(['r1'])).trade?.rows ?? 0;
      return n > 1_000;
    }, 60_000);

    const rolled = await requestRollLive(HOST, dp.tpPort, { pool: 'pool1', rdb: 'r1', next: 'r2' });
    expect(rolled).toMatchObject({ pool: 'pool1', rdb: 'r1', rolled: true, next: 'r2' });
    const lastI = rolled.lastI!;
    expect(lastI).toBeGreaterThan(0);

    // A repeat (a crash before the answer was recorded, a stale plan): r1 is no longer live, nothing rolls.
    const again = await requestRollLive(HOST, dp.tpPort, { pool: 'pool1', rdb: 'r1', next: 'r2' });
    expect(again).toMatchObject({ rolled: false, lastI, next: 'r2', reason: expect.stringMatching(/r1 is rolled/) });
    // Nothing queued behind r2: rolling it would leave the pool with no live RDB. Refused, nothing changes.
    const before = (await dp.subscribers()).subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI]);
    const lonely = await requestRollLive(HOST, dp.tpPort, { pool: 'pool1', rdb: 'r2' });
    expect(lonely).toMatchObject({ rolled: false, next: 'r2', reason: expect.stringMatching(/no queued RDB/) });
    expect((await dp.subscribers()).subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI])).toEqual(before);
    expect(before).toEqual([['r1', 'rolled', 0, lastI], ['r2', 'live', lastI, null]]);

    const report = await feeding;
    expect(report.refused).toBe(0);
    expect(report.tickerplantCount).toBeGreaterThan(lastI);
    const r1 = await dp.waitStatus('r1', (s) => s.state === 'rolled');
    expect(r1.window).toEqual({ firstI: 0, lastI, lastProcessed: lastI });
    await expectExactlyOnce(dp, ['r1', 'r2'], [report]);

    // End of day: one slice each, windows (0, lastI] and (lastI, count], rows adding up to what was fed.
    const { day, count } = await dp.subscribers();
    expect((await requestEndOfDay(HOST, dp.tpPort, day)).ended).toBe(true);
    await dp.waitStatus('r1', (s) => s.state === 'flushed');
    await dp.waitStatus('r2', (s) => s.flushed.some((f) => f.day === day));
    const slices = ['r1', 'r2'].map((n) => sliceHeader(join(dp.stagingDir, day, `${n}.slice.jsonl`)));
    expect(slices.map((h) => [h.rdb, h.window])).toEqual([
      ['r1', { firstI: 0, lastI }],
      ['r2', { firstI: lastI, lastI: count }],
    ]);
    expect(tilesExactly(slices.map((h) => h.window), count)).toBe(true);
    expect(slices.map(sliceRows).reduce((a, b) => a + b, 0)).toBe(rows);
    // Printed for the record: where the roll fell and what each slice holds.
    console.log(`roll-live ${_mode}: ${count} messages, roll at ${lastI}; slices r1 ${sliceRows(slices[0]!)} rows, r2 ${sliceRows(slices[1]!)} rows, fed ${rows}`);
  });

  test('a queued RDB named that is not queued is refused; an RDB not of the pool is refused', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    const a = await feed(dp, 2_000, 92);
    expect(await requestRollLive(HOST, dp.tpPort, { pool: 'pool1', rdb: 'r1', next: 'r9' })).toMatchObject({
      rolled: false,
      next: 'r1',
      reason: expect.stringMatching(/r9 is not a queued RDB/),
    });
    expect(await requestRollLive(HOST, dp.tpPort, { pool: 'other', rdb: 'r1' })).toMatchObject({ rolled: false, next: null });
    expect((await dp.subscribers()).subscribers.map((s) => [s.name, s.state])).toEqual([['r1', 'live']]);
    await expectExactlyOnce(dp, ['r1'], [a]);
  });
});
