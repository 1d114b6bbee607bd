import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { requestEndOfDay, TickerplantRequestError } from '../../operator/src/tickerplant/control.ts';
import { DataPlane, HOST, feed } from './harness.ts';

// The operator's own request (operator/src/tickerplant/control.ts) against the
// reference tickerplant process: the day it names is ended once, a repeat
// ends nothing, and the RDBs flush exactly what was fed.
jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

describe("the operator's end-of-day request, guarded by the day", () => {
  test('ends the named day once; the repeat after it ends nothing; a day not begun is refused', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    const fed = await feed(dp, 2_000, 5);
    const { day } = await dp.subscribers();

    const first = await requestEndOfDay(HOST, dp.tpPort, day);
    expect(first).toEqual({ day, nextDay: expect.any(String), ended: true });
    expect(first.nextDay > day).toBe(true);
    const r1 = await dp.waitStatus('r1', (s) => s.flushed.some((f) => f.day === day));
    expect(r1.flushed.find((f) => f.day === day)?.rows).toBe(2_000);
    expect(fed.tickerplantCount).toBeGreaterThan(0);

    // The same request again (a crash before status was written): nothing more ends.
    const again = await requestEndOfDay(HOST, dp.tpPort, day);
    expect(again).toEqual({ day, nextDay: first.nextDay, ended: false });
    expect((await dp.subscribers()).day).toBe(first.nextDay);

    await expect(requestEndOfDay(HOST, dp.tpPort, '2999-01-01')).rejects.toThrow(/has not begun/);
    await expect(requestEndOfDay(HOST, dp.tpPort, 'tomorrow')).rejects.toThrow(TickerplantRequestError);
    expect((await dp.subscribers()).day).toBe(first.nextDay);
  });

  test('no tickerplant: a clear error, not a hang', async () => {
    await expect(requestEndOfDay(HOST, 1, '2026-03-02', 2_000)).rejects.toThrow();
  });
});
