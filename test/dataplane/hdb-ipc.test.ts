// The reference HDB (node images/sim/src/main.ts hdb) serves the days the
// merge wrote over kdb+ IPC with the same API as the RDB: node-q reads back
// every row of a merged day, a range across two days in time order, and
// purview lists the complete days only.

import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksumColumns } from '../../images/sim/src/checksum.ts';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { DataPlane, feed, freePort, HOST, sums, waitFor } from './harness.ts';
import { call, close, connect, msOf, nq, rowsToColumns, type NodeQConnection } from './nodeq.ts';

jest.setTimeout(120_000);

const TRADE = ['time', 'sym', 'price', 'size'];
const QUOTE = ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'];

let dp: DataPlane;
let report: FeedReport;
let day: string;
let con: NodeQConnection;
let hdbPort: number;

/** A partition written by hand in the merge's format, for a second day (and one left incomplete). */
const writeDay = (d: string, rows: unknown[][], complete: boolean) => {
  const dir = join(dp.hdbDir, d, 'trade');
  mkdirSync(dir, { recursive: true });
  const columns = [
    { name: 'time', type: 'timestamp' },
    { name: 'sym', type: 'symbol' },
    { name: 'price', type: 'float' },
    { name: 'size', type: 'long' },
  ];
  columns.forEach((c, k) => writeFileSync(join(dir, `${c.name}.json`), JSON.stringify(rows.map((r) => r[k]))));
  writeFileSync(join(dir, '.d'), JSON.stringify(columns));
  if (complete) writeFileSync(join(dp.hdbDir, d, '.complete'), JSON.stringify({ day: d }));
};

beforeAll(async () => {
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1');
  await dp.waitStatus('r1', (s) => s.state === 'live');
  report = await feed(dp, 2000, 11);
  await dp.waitRows(['r1'], 2000);
  const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
  expect((await eod.exited).code).toBe(0);
  day = (JSON.parse(eod.output) as { day: string }).day;
  await dp.waitStatus('r1', (s) => s.flushed.length === 1);
  const merge = dp.run(['merge', '--day', day, '--expect', '1'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
  expect((await merge.exited).code).toBe(0);
  const t = Date.parse('2025-03-04T09:00:00Z');
  writeDay('2099-01-01', [[t, 'AAPL', 1, 1]], true);
  writeDay('2099-01-02', [[t, 'AAPL', 1, 1]], false);
  hdbPort = await freePort();
  const hdb = dp.run(['hdb'], { KDB_HDB_DIR: dp.hdbDir, KDB_HDB_PORT: String(hdbPort) });
  con = await waitFor('hdb to listen', async () => {
    if (!hdb.running) throw new Error(`hdb exited: ${hdb.output}`);
    return connect(hdbPort);
  });
});

afterAll(async () => {
  if (con) await close(con);
  await dp?.close();
});

describe('HDB over kdb+ IPC (node-q)', () => {
  // The feed's rows are dated 2025-03-03 (harness feed); the day they are merged under is the tickerplant's.
  test('getData of the merged day returns every published row', async () => {
    for (const [table, cols] of [['trade', TRADE], ['quote', QUOTE]] as const) {
      const rows = await call<Record<string, unknown>[]>(con, 'getData', { table: nq.symbol(table), startTime: nq.date(new Date('2025-03-03T00:00:00Z')), endTime: nq.date(new Date('2025-03-04T00:00:00Z')) });
      expect(checksumColumns(rowsToColumns(rows, cols))).toEqual(sums(report.tables)[table]);
      const times = rows.map((r) => msOf(r.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  test('a range across two days comes back in time order from both; an incomplete day is not served', async () => {
    const rows = await call<Record<string, unknown>[]>(con, 'getData', { table: nq.symbol('trade'), syms: nq.symbol('AAPL'), columns: nq.symbols(['time', 'sym']) });
    const published = report.tables.trade!.rows;
    expect(rows.length).toBeLessThan(published);
    const tail = rows.at(-1)!;
    expect(msOf(tail.time)).toBe(Date.parse('2025-03-04T09:00:00Z'));
    const times = rows.map((r) => msOf(r.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test('purview lists the complete days and per day and table the rows and time range', async () => {
    const p = await call<{ kind: string; days: Date[]; tables: { day: Date; table: string; rows: number }[] }>(con, '.kdb.purview', null);
    expect(p.kind).toBe('hdb');
    expect(p.days.map((d) => d.toISOString().slice(0, 10))).toEqual([day, '2099-01-01']);
    const rows = Object.fromEntries(p.tables.map((t) => [`${t.day.toISOString().slice(0, 10)}/${t.table}`, t.rows]));
    expect(rows).toEqual({ [`${day}/trade`]: report.tables.trade!.rows, [`${day}/quote`]: report.tables.quote!.rows, '2099-01-01/trade': 1 });
  });

  test('free-form q and unknown functions get a kdb+ error', async () => {
    await expect(call(con, 'select from trade')).rejects.toThrow(/free-form q is not evaluated/);
    await expect(call(con, 'hdel', nq.symbol(':/etc'))).rejects.toThrow(/unknown function "hdel"/);
  });
});
