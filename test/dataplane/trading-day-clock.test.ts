// The reference tickerplant on an injected clock, at instants around end of
// day, UTC midnight and New York's DST changes: a feed that is not told the day
// publishes into the tickerplant's trading day, whatever the wall clock says,
// and the scheduled end of day closes exactly that day, once.
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { requestSubscribers } from '../../images/sim/src/client/tp-client.ts';
import { runFeed } from '../../images/sim/src/feed/feed.ts';
import { DEFAULT_SCHEMA } from '../../images/sim/src/schema.ts';
import { Tickerplant } from '../../images/sim/src/tickerplant/server.ts';
import { parseHhMm, tradingDayAt } from '../../images/sim/src/tickerplant/trading-day.ts';
import { HOST, waitFor } from './harness.ts';

jest.setTimeout(60_000);

const silent = winston.createLogger({ silent: true });
let dirs: string[] = [];
let running: Tickerplant[] = [];
afterEach(async () => {
  for (const tp of running) await tp.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  running = [];
  dirs = [];
});

/** A tickerplant whose clock is `clock.now`, moved by the test. */
const startAt = async (iso: string, eodTime: string, tz: string) => {
  const clock = { now: Date.parse(iso) };
  const dir = mkdtempSync(join(tmpdir(), 'kdb-tp-clock-'));
  dirs.push(dir);
  const tp = new Tickerplant(
    {
      host: HOST,
      port: 0,
      logDir: join(dir, 'log'),
      stateDir: join(dir, 'state'),
      schema: DEFAULT_SCHEMA,
      eodTime,
      eodMinutes: parseHhMm(eodTime)!,
      tz,
      batchMs: 0,
      truncateCorruptLog: false,
      subscriberBufferBytes: 64 * 2 ** 20,
      subscriberStallMs: 30_000,
      keepAliveMs: 10_000,
    },
    silent,
    () => clock.now,
  );
  await tp.start();
  running.push(tp);
  return { tp, clock, port: tp.address.port };
};

// [instant, end of day, zone, the trading day there, an instant just past that day's end]
const INSTANTS: [string, string, string, string, string][] = [
  // New York close: the afternoon in UTC is already the next trading day.
  ['2026-12-01T21:59:00Z', '17:00', 'America/New_York', '2026-12-01', '2026-12-01T22:00:00Z'],
  ['2026-12-01T22:00:00Z', '17:00', 'America/New_York', '2026-12-02', '2026-12-02T22:00:00Z'],
  ['2026-12-01T23:59:30Z', '17:00', 'America/New_York', '2026-12-02', '2026-12-02T22:00:00Z'],
  // Across UTC midnight.
  ['2026-12-02T00:00:30Z', '17:00', 'America/New_York', '2026-12-02', '2026-12-02T22:00:00Z'],
  ['2026-12-01T23:59:59Z', '00:00', 'UTC', '2026-12-01', '2026-12-02T00:00:00Z'],
  ['2026-12-02T00:00:00Z', '00:00', 'UTC', '2026-12-02', '2026-12-03T00:00:00Z'],
  // The day the clocks go forward (2026-03-08), and the day they go back (2026-11-01).
  ['2026-03-08T20:59:00Z', '17:00', 'America/New_York', '2026-03-08', '2026-03-08T21:00:00Z'],
  ['2026-03-08T06:30:00Z', '17:00', 'America/New_York', '2026-03-08', '2026-03-08T21:00:00Z'],
  ['2026-11-01T21:59:00Z', '17:00', 'America/New_York', '2026-11-01', '2026-11-01T22:00:00Z'],
  ['2026-11-01T05:29:00Z', '01:30', 'America/New_York', '2026-11-01', '2026-11-01T05:30:00Z'],
  // East of UTC: Tokyo's trading day starts while UTC is still on the day before.
  ['2026-12-01T15:30:00Z', '00:00', 'Asia/Tokyo', '2026-12-02', '2026-12-02T15:00:00Z'],
];

describe.each(INSTANTS)('a tickerplant whose clock reads %s (end of day %s %s)', (iso, eodTime, tz, day, pastEnd) => {
  test(`a feed without a day publishes into trading day ${day}, and end of day closes it`, async () => {
    const { tp, clock, port } = await startAt(iso, eodTime, tz);
    expect(tp.day).toBe(day);
    expect(tradingDayAt(clock.now, parseHhMm(eodTime)!, tz)).toBe(day);

    const report = await runFeed({ host: HOST, port, syms: ['AAPL', 'MSFT'], rows: 300, seed: 3, tz, batch: 50, dayMs: 0 });
    expect(report).toMatchObject({ day, tickerplantDay: day, rows: 300, refused: 0 });
    expect((await requestSubscribers(HOST, port)).day).toBe(day);

    // One second before the end: still the same day. At the end: the next one, once.
    clock.now = Date.parse(pastEnd) - 1000;
    // Nothing happening can only be seen by waiting: past two of the tickerplant's 250 ms checks.
    await new Promise((r) => setTimeout(r, 600));
    expect(tp.day).toBe(day);
    clock.now = Date.parse(pastEnd);
    const next = await waitFor('the scheduled end of day', () => (tp.day !== day ? tp.day : undefined));
    expect(next > day).toBe(true);
    expect(tp.messageCount).toBe(0);
    const after = await runFeed({ host: HOST, port, syms: ['AAPL'], rows: 10, seed: 4, tz, batch: 5, dayMs: 0 });
    expect(after).toMatchObject({ day: next, tickerplantDay: next });
  });
});

test('a restart inside the repeated hour of the fall-back night does not reopen the day that ended at the first 01:30', async () => {
  // 06:10Z is 01:10 EST, after 01:30 EDT (05:30Z) ended 2026-11-01.
  const { tp } = await startAt('2026-11-01T06:10:00Z', '01:30', 'America/New_York');
  expect(tp.day).toBe('2026-11-02');
});
