// The gateway between end of day and the merge: yesterday's rows have left
// the RDBs (flushed to staging) and are not in the HDB yet, so a query that
// can reach them is refused naming the day, rather than answered without
// them; today's rows are still answered; once merged, yesterday is answered
// whole from the HDB.

import { afterAll, expect, jest, test } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { checksumColumns } from '../../images/sim/src/checksum.ts';
import { startGateway, type GatewayProc } from './gateway-proc.ts';
import { DataPlane, feed, freePort, HOST, sums, waitFor } from './harness.ts';
import { call, close, connect, nq, rowsToColumns, type NodeQConnection } from './nodeq.ts';

jest.setTimeout(120_000);

let dp: DataPlane;
let gateway: GatewayProc;
let gw: NodeQConnection;

afterAll(async () => {
  if (gw) await close(gw);
  await gateway?.kill();
  await dp?.close();
});

const TRADE = ['time', 'sym', 'price', 'size'];
const day = (from: string, to: string) => ({ table: nq.symbol('trade'), startTime: nq.timestamp(new Date(`${from}T00:00:00Z`)), endTime: nq.timestamp(new Date(`${to}T00:00:00Z`)) });

test('a flushed day not yet merged is refused by name; today is answered; after the merge yesterday is answered whole; a scaled-in RDB is not missed', async () => {
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1');
  await dp.waitStatus('r1', (s) => s.state === 'live');
  // Queued at end of day: it flushes (nothing) and is done, the RDB a scale-in removes.
  await dp.startRdb('spare');
  await dp.waitStatus('spare', (s) => s.state === 'queued');
  // Rows of the tickerplant's own trading days (the feed's default), so a day's span is where its rows are.
  const yesterday = await feed(dp, 1000, 21, { day: undefined });
  await dp.waitRows(['r1'], 1000);
  const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
  expect((await eod.exited).code).toBe(0);
  const { day: flushedDay, nextDay } = JSON.parse(eod.output) as { day: string; nextDay: string };
  await dp.waitStatus('r1', (s) => s.flushed.length === 1 && s.state === 'live');
  await dp.waitStatus('spare', (s) => s.state === 'flushed');
  const today = await feed(dp, 500, 22, { day: undefined });
  expect([yesterday.day, today.day]).toEqual([flushedDay, nextDay]);
  await dp.waitRows(['r1'], 500);

  mkdirSync(dp.hdbDir, { recursive: true });
  const hdbPort = await freePort();
  // The HDB checks credentials: the gateway logs in with its own.
  const hdb = dp.run(['hdb'], { KDB_HDB_DIR: dp.hdbDir, KDB_HDB_PORT: String(hdbPort), KDB_IPC_CREDENTIALS: 'gateway:gw-secret' });
  const gwPort = await freePort();
  gateway = startGateway({
    KDB_GATEWAY_PORT: String(gwPort),
    KDB_GATEWAY_RDBS: ['r1', 'spare'].map((n) => `${HOST}:${dp.rdbs.get(n)!.queryPort}`).join(','),
    KDB_GATEWAY_HDB: `${HOST}:${hdbPort}`,
    // The tickerplant's (harness): the gateway knows what instants the pending day covers.
    KDB_EOD_TIME: '00:00',
    KDB_TZ: 'UTC',
    KDB_GATEWAY_WAIT_MS: '500',
    KDB_GATEWAY_UPSTREAM_USER: 'gateway',
    KDB_GATEWAY_UPSTREAM_PASSWORD: 'gw-secret',
  });
  gw = await waitFor('gateway to listen', async () => {
    if (!gateway.running()) throw new Error(`gateway exited: ${gateway.output()}`);
    if (!hdb.running) throw new Error(`hdb exited: ${hdb.output}`);
    return connect(gwPort);
  });

  const after = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  await expect(call(gw, 'getData', day(flushedDay, nextDay))).rejects.toThrow(new RegExp(`day ${flushedDay} has ended .*\\(merge pending\\)`));
  await expect(call(gw, 'getData', { table: nq.symbol('trade') })).rejects.toThrow(/merge pending/);
  // Today's span does not reach the pending day: answered.
  const t = await call<Record<string, unknown>[]>(gw, 'getData', day(nextDay, after(nextDay)));
  expect(checksumColumns(rowsToColumns(t, TRADE))).toEqual(sums(today.tables).trade);

  const merge = dp.run(['merge', '--day', flushedDay, '--expect', '2'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
  expect((await merge.exited).code).toBe(0);
  const y = await call<Record<string, unknown>[]>(gw, 'getData', day(flushedDay, nextDay));
  expect(checksumColumns(rowsToColumns(y, TRADE))).toEqual(sums(yesterday.tables).trade);
  const all = await call<Record<string, unknown>[]>(gw, 'getData', { table: nq.symbol('trade') });
  // Only the gateway's credentials open the HDB.
  await expect(connect(hdbPort)).rejects.toThrow();
  expect(all.length).toBe(yesterday.tables.trade!.rows + today.tables.trade!.rows);

  // Scaled in: the flushed, empty RDB goes away; it held nothing, so queries go on.
  await dp.rdbs.get('spare')!.proc.kill();
  const again = await call<Record<string, unknown>[]>(gw, 'getData', { table: nq.symbol('trade') });
  expect(again.length).toBe(all.length);
  // The live RDB going away is another matter: it holds today.
  await dp.rdbs.get('r1')!.proc.kill();
  await expect(call(gw, 'getData', { table: nq.symbol('trade') })).rejects.toThrow(/rdb at .* unreachable/);
});
