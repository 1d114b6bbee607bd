import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { expectExactlyOnce } from './exactly-once.ts';
import { DataPlane, feed, waitFor } from './harness.ts';


jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

describe('failures mid-day', () => {
  test('a subscription the tickerplant refuses is retried with growing backoff, not every 100 ms', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    // A window of a day the tickerplant does not keep: refused at every try.
    const r = await dp.startRdb('r-old', { replaces: 'r0', replacesDay: '2000-01-03' });
    const refusals = (): number[] =>
      r.proc.output
        .split('\n')
        .filter((l) => l.includes('"message":"tickerplant refused'))
        .map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp));
    const at = await waitFor('five refusals', () => (refusals().length >= 5 ? refusals() : undefined), 30_000);
    expect(r.proc.output).toContain('keeps windows of');
    // The RDB's own clock: waits of 100, 200, 400 and 800 ms at least between them (every 100 ms before).
    expect(at[4]! - at[0]!).toBeGreaterThanOrEqual(1_500 - 50);
    // The live RDB was never disturbed.
    expect((await dp.subscribers()).subscribers.map((s) => [s.name, s.state])).toEqual([['r1', 'live']]);
  });

  test('tickerplant killed (SIGKILL) and restarted: queue state kept, RDBs reconnect and carry on', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 400_000 });
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.startRdb('r2', { capacityBytes: 400_000 });
    await dp.startRdb('r3', { capacityBytes: 400_000 });
    await dp.startRdb('r4');
    const a = await feed(dp, 5_000, 41);
    const before = await dp.subscribers();
    expect(before.subscribers.filter((s) => s.state === 'rolled').length).toBeGreaterThanOrEqual(1);

    await dp.tp!.kill('SIGKILL');
    // Published while it is down: nothing. The RDBs keep what they hold and retry.
    await dp.startTickerplant();
    const after = await dp.subscribers();
    expect(after.count).toBe(before.count);
    expect(after.subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI])).toEqual(
      before.subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI]),
    );
    const b = await feed(dp, 5_000, 42);
    expect(b.tickerplantCount).toBe(a.tickerplantCount + b.messages);
    await expectExactlyOnce(dp, ['r1', 'r2', 'r3', 'r4'], [a, b]);
  });

  test('a live RDB killed mid-day: rolled with what was sent to it, and a replacement (KDB_REPLACES) replays exactly that window', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 1_000_000 });
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.startRdb('r2');
    const a = await feed(dp, 2_000, 51);
    await dp.waitStatus('r1', (s) => s.state === 'live' && s.window.lastProcessed === a.tickerplantCount);
    await dp.rdbs.get('r1')!.proc.kill('SIGKILL');
    const table = await waitFor('r1 rolled by the tickerplant', async () => {
      const t = await dp.subscribers();
      return t.subscribers.find((s) => s.name === 'r1')?.state === 'rolled' ? t : null;
    });
    const lost = table.subscribers.find((s) => s.name === 'r1')!;
    expect([lost.firstI, lost.lastI]).toEqual([0, a.tickerplantCount]);
    expect(table.subscribers.find((s) => s.name === 'r2')).toMatchObject({ state: 'live', firstI: a.tickerplantCount });

    const b = await feed(dp, 2_000, 52);
    await dp.startRdb('r1-replacement', { replaces: 'r1', capacityBytes: 400_000 });
    const rep = await dp.waitStatus('r1-replacement', (s) => s.state === 'rolled');
    expect(rep.window).toEqual({ firstI: 0, lastI: a.tickerplantCount, lastProcessed: a.tickerplantCount });
    const t2 = await dp.subscribers();
    expect(t2.subscribers.find((s) => s.name === 'r1')?.replacedBy).toBe('r1-replacement');
    await expectExactlyOnce(dp, ['r1-replacement', 'r2'], [a, b]);
  });

  test('an RDB restarted under the same name replays its window and carries on', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 400_000 });
    await dp.startRdb('r2');
    const a = await feed(dp, 5_000, 61);
    await dp.waitStatus('r1', (s) => s.state === 'rolled');
    // r1 (rolled) restarts: it holds nothing, the tickerplant hands it its window again.
    await dp.rdbs.get('r1')!.proc.kill('SIGKILL');
    await waitFor('r1 gone', async () => !(await dp.subscribers()).subscribers.some((s) => s.name === 'r1' && s.state !== 'rolled'));
    await dp.startRdb('r1', { capacityBytes: 400_000 });
    await dp.waitStatus('r1', (s) => s.state === 'rolled' && s.window.lastProcessed === s.window.lastI);
    const b = await feed(dp, 1_000, 62);
    await expectExactlyOnce(dp, ['r1', 'r2'], [a, b]);
  });
});
