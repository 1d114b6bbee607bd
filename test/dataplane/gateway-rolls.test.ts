// The gateway while RDBs roll: the morning is published, then the afternoon
// streams in and RDB after RDB rolls; all the while node-q asks the
// gateway for the morning, where every answer holds exactly the morning's
// rows, and for the afternoon being published, where no answer holds a row
// twice, each holds every row the one before it held (nothing lost at a
// roll), and the last holds exactly what was published.

import { afterAll, expect, jest, test } from '@jest/globals';
import { checksumColumns, rowKey } from '../../images/sim/src/checksum.ts';
import { parseProfile } from '../../images/sim/src/feed/profile.ts';
import { startGateway, type GatewayProc } from './gateway-proc.ts';
import { DataPlane, feed, freePort, HOST, sums, waitFor } from './harness.ts';
import { call, close, connect, nq, rowsToColumns, type NodeQConnection } from './nodeq.ts';

jest.setTimeout(240_000);

const NAMES = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
let dp: DataPlane;
let gateway: GatewayProc;
let gw: NodeQConnection;

afterAll(async () => {
  if (gw) await close(gw);
  await gateway?.kill();
  await dp?.close();
});

test('answers for a published range stay exact while the RDBs roll under the next range', async () => {
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1', { capacityBytes: 300_000 });
  await dp.waitStatus('r1', (s) => s.state === 'live');
  await Promise.all(NAMES.slice(1).map((n) => dp.startRdb(n, { capacityBytes: 300_000 })));
  await Promise.all(NAMES.slice(1).map((n) => dp.waitStatus(n, (s) => s.state === 'queued')));
  const morning = await feed(dp, 1500, 8, { profile: parseProfile('9:1,10:1,11:1') });
  await dp.waitRows(NAMES, 1500);
  const gwPort = await freePort();
  gateway = startGateway({
    KDB_GATEWAY_PORT: String(gwPort),
    KDB_GATEWAY_RDBS: NAMES.map((n) => `${HOST}:${dp.rdbs.get(n)!.queryPort}`).join(','),
    KDB_GATEWAY_WAIT_MS: '10000',
  });
  gw = await waitFor('gateway to listen', async () => {
    if (!gateway.running()) throw new Error(`gateway exited: ${gateway.output()}`);
    return connect(gwPort);
  });
  const range = { table: nq.symbol('trade'), startTime: nq.timestamp(new Date('2025-03-03T09:00:00Z')), endTime: nq.timestamp(new Date('2025-03-03T12:00:00Z')) };
  const want = sums(morning.tables).trade;
  const rolledBefore = NAMES.filter((n) => dp.status(n)?.state === 'rolled').length;

  let done = false;
  // Paced over a few seconds, so the gateway is asked many times while the rolls happen.
  const afternoon = feed(dp, 7000, 9, { profile: parseProfile('13:1,14:1,15:1'), dayMs: 5000 }).finally(() => (done = true));
  const answers: string[] = [];
  const later = { ...range, startTime: nq.timestamp(new Date('2025-03-03T13:00:00Z')), endTime: nq.timestamp(new Date('2025-03-03T16:00:00Z')) };
  const keysOf = (rows: Record<string, unknown>[]) => {
    const cols = rowsToColumns(rows, ['time', 'sym', 'price', 'size']);
    return rows.map((_, r) => rowKey(cols.map((c) => c[r])));
  };
  let seen = new Set<string>();
  let growing = 0;
  while (!done) {
    const rows = await call<Record<string, unknown>[]>(gw, 'getData', range);
    answers.push(JSON.stringify(checksumColumns(rowsToColumns(rows, ['time', 'sym', 'price', 'size']))));
    const now = keysOf(await call<Record<string, unknown>[]>(gw, 'getData', later));
    const set = new Set(now);
    expect(set.size).toBe(now.length);
    for (const k of seen) if (!set.has(k)) throw new Error(`a row of an earlier answer is missing: ${k}`);
    if (set.size > seen.size) growing++;
    seen = set;
  }
  const published = await afternoon;
  await dp.waitRows(NAMES, 8500);
  const rows = await call<Record<string, unknown>[]>(gw, 'getData', range);
  answers.push(JSON.stringify(checksumColumns(rowsToColumns(rows, ['time', 'sym', 'price', 'size']))));

  const rolledAfter = NAMES.filter((n) => dp.status(n)?.state === 'rolled').length;
  expect(rolledAfter - rolledBefore).toBeGreaterThanOrEqual(2);
  expect(answers.length).toBeGreaterThan(1);
  expect(new Set(answers)).toEqual(new Set([JSON.stringify(want)]));
  expect(growing).toBeGreaterThan(1);
  const last = await call<Record<string, unknown>[]>(gw, 'getData', later);
  expect(checksumColumns(rowsToColumns(last, ['time', 'sym', 'price', 'size']))).toEqual(sums(published.tables).trade);
});
