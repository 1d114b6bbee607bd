import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { expectExactlyOnce } from './exactly-once.ts';
import { DataPlane, feed } from './harness.ts';


jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

describe('rolls: every message lands in exactly one RDB', () => {
  const withQueuedAtEachRoll = async (tpEnv: Record<string, string>) => {
    dp = new DataPlane(tpEnv);
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 400_000 });
    await dp.waitStatus('r1', (s) => s.state === 'live');
    const names = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'];
    await Promise.all(names.slice(1).map((n) => dp.startRdb(n, { capacityBytes: 400_000 })));
    await Promise.all(names.slice(1).map((n) => dp.waitStatus(n, (s) => s.state === 'queued')));
    const report = await feed(dp, 10_000, 7);
    expect(report.refused).toBe(0);
    const held = names.filter((n) => dp.status(n)!.state !== 'queued');
    await expectExactlyOnce(dp, names, [report]);
    const rolled = names.filter((n) => dp.status(n)!.state === 'rolled');
    expect(rolled.length).toBeGreaterThanOrEqual(3);
    expect(held.length).toBeGreaterThanOrEqual(4);
  };

  test('with a queued RDB at each roll (zero-latency)', () => withQueuedAtEachRoll({}));

  test('with a queued RDB at each roll (batching mode, KDB_BATCH_MS=25)', () => withQueuedAtEachRoll({ KDB_BATCH_MS: '25' }));

  test('with no RDB queued at a roll: the next to arrive recovers the gap from the log', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 400_000 });
    const a = await feed(dp, 6_000, 11);
    const r1 = await dp.waitStatus('r1', (s) => s.state === 'rolled');
    expect(r1.window.lastI!).toBeLessThan(a.tickerplantCount);
    const table = await dp.subscribers();
    expect(table.subscribers.filter((s) => s.state === 'live')).toEqual([]);
    await dp.startRdb('r2');
    const r2 = await dp.waitStatus('r2', (s) => s.state === 'live');
    expect(r2.window.firstI).toBe(r1.window.lastI);
    const b = await feed(dp, 3_000, 12);
    await expectExactlyOnce(dp, ['r1', 'r2'], [a, b]);
  });

  test('with a roll while an RDB is still replaying', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 200_000 });
    const a = await feed(dp, 8_000, 21);
    const r1 = await dp.waitStatus('r1', (s) => s.state === 'rolled');
    // r2 arrives to a gap larger than it can hold: it rolls part way through its replay.
    await dp.startRdb('r2', { capacityBytes: 300_000 });
    const r2 = await dp.waitStatus('r2', (s) => s.state === 'rolled');
    expect(r2.window.firstI).toBe(r1.window.lastI);
    expect(r2.window.lastI!).toBeLessThan(a.tickerplantCount);
    expect(r2.window.lastI!).toBeGreaterThan(r2.window.firstI);
    await dp.startRdb('r3');
    await dp.waitStatus('r3', (s) => s.state === 'live');
    const b = await feed(dp, 2_000, 22);
    await expectExactlyOnce(dp, ['r1', 'r2', 'r3'], [a, b]);
  });

  test('a live RDB rolling while a replacement of a lost RDB replays is unaffected', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 300_000 });
    await dp.startRdb('r2', { capacityBytes: 300_000 });
    await dp.startRdb('r3');
    const a = await feed(dp, 4_000, 31);
    await dp.waitStatus('r1', (s) => s.state === 'rolled');
    await dp.waitStatus('r2', (s) => s.state === 'rolled');
    await dp.rdbs.get('r1')!.proc.kill('SIGKILL');
    await dp.startRdb('r1b', { replaces: 'r1' });
    const b = await feed(dp, 2_000, 32);
    await dp.waitStatus('r1b', (s) => s.state === 'rolled' && s.window.lastProcessed === s.window.lastI);
    await expectExactlyOnce(dp, ['r1b', 'r2', 'r3'], [a, b]);
  });
});
