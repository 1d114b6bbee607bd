// The RDB's query port answers kdb+ IPC (the query API: getData, purview)
// to node-q, a client nobody here wrote, and still answers HTTP on the same
// port. Only the named functions are called: free-form q, unknown
// functions and bad arguments get a kdb+ error, and the connection goes on.

import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { checksumColumns } from '../../images/sim/src/checksum.ts';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { DataPlane, feed, sums } from './harness.ts';
import { call, close, connect, msOf, nq, rowsToColumns, type NodeQConnection } from './nodeq.ts';

jest.setTimeout(120_000);

const TRADE = ['time', 'sym', 'price', 'size'];
const QUOTE = ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'];

let dp: DataPlane;
let report: FeedReport;
let con: NodeQConnection;

beforeAll(async () => {
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1');
  await dp.waitStatus('r1', (s) => s.state === 'live');
  report = await feed(dp, 3000, 7);
  await dp.waitRows(['r1'], 3000);
  con = await connect(dp.rdbs.get('r1')!.queryPort);
});

afterAll(async () => {
  if (con) await close(con);
  await dp?.close();
});

describe('RDB query API over kdb+ IPC (node-q)', () => {
  test('getData of a whole table returns every row the feed published, with the same checksum', async () => {
    for (const [table, cols] of [['trade', TRADE], ['quote', QUOTE]] as const) {
      const rows = await call<Record<string, unknown>[]>(con, 'getData', { table: nq.symbol(table) });
      expect(checksumColumns(rowsToColumns(rows, cols))).toEqual(sums(report.tables)[table]);
      const times = rows.map((r) => msOf(r.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  test('a time range and syms give the rows HTTP counts for the same range, and only the asked columns', async () => {
    const from = Date.parse('2025-03-03T10:00:00Z');
    const to = Date.parse('2025-03-03T11:30:00Z');
    const rows = await call<Record<string, unknown>[]>(con, '.kdb.getData', {
      table: nq.symbol('trade'),
      startTime: nq.timestamp(new Date(from)),
      endTime: nq.timestamp(new Date(to)),
      syms: nq.symbols(['AAPL', 'IBM']),
      columns: nq.symbols(['sym', 'time', 'size']),
    });
    const counted = await dp.query<{ rows: number }>('r1', `/count?table=trade&from=${from}&to=${to}&syms=AAPL,IBM`);
    expect(rows.length).toBe(counted.rows);
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.keys(rows[0]!)).toEqual(['sym', 'time', 'size']);
    for (const r of rows) {
      expect(['AAPL', 'IBM']).toContain(r.sym);
      const t = msOf(r.time);
      expect(t >= from && t < to).toBe(true);
    }
  });

  test('purview says the state, day, window and per table the rows and time range held', async () => {
    const p = await call<Record<string, unknown>>(con, '.kdb.purview', null);
    const status = await dp.query<{ day: string; window: { lastProcessed: number } }>('r1', '/status');
    expect(p).toMatchObject({ kind: 'rdb', name: 'r1', pool: 'pool1', state: 'live', firstI: 0, lastI: null, lastProcessed: status.window.lastProcessed });
    expect(p.day).toEqual(new Date(`${status.day}T00:00:00Z`));
    const tables = p.tables as { table: string; rows: number; firstTime: number; lastTime: number }[];
    const byName = Object.fromEntries(tables.map((t) => [t.table, t]));
    expect(byName.trade!.rows).toBe(report.tables.trade!.rows);
    expect(byName.quote!.rows).toBe(report.tables.quote!.rows);
    const trades = await call<Record<string, unknown>[]>(con, 'getData', { table: nq.symbol('trade') });
    expect(msOf(byName.trade!.firstTime)).toBe(msOf(trades[0]!.time));
    expect(msOf(byName.trade!.lastTime)).toBe(msOf(trades.at(-1)!.time));
  });

  test.each<[string, unknown[], RegExp]>([
    ['free-form q', ['select from trade'], /free-form q is not evaluated/],
    ['a q expression calling the API', ['getData[`table`startTime!(`trade;.z.p)]'], /free-form q is not evaluated/],
    ['an unknown function', ['.z.exit', null], /unknown function ".z.exit"/],
    ['system', ['system', 'ls'], /unknown function "system"/],
    ['getData without a dictionary', ['getData', 'trade'], /getData takes a dictionary/],
    ['getData of an unknown table', ['getData', { table: nq.symbol('nope') }], /unknown table nope; this server holds trade, quote/],
    ['getData with an unknown key', ['getData', { table: nq.symbol('trade'), where: 'x>1' }], /unknown key `where/],
    ['getData with a float time', ['getData', { table: nq.symbol('trade'), startTime: 1.5 }], /startTime must be a timestamp/],
    ['getData of an unknown column', ['getData', { table: nq.symbol('trade'), columns: nq.symbols(['px']) }], /has no column px/],
  ])('%s is refused with a kdb+ error and the connection goes on', async (_name, args, message) => {
    await expect(call(con, ...(args as [string, ...unknown[]]))).rejects.toThrow(message);
    const p = await call<Record<string, unknown>>(con, 'purview', null);
    expect(p.kind).toBe('rdb');
  });

  test('the same port still answers HTTP', async () => {
    const s = await dp.query<{ name: string }>('r1', '/status');
    expect(s.name).toBe('r1');
    const c = await dp.query<{ tables: Record<string, unknown> }>('r1', '/checksum');
    expect(c.tables).toEqual(sums(report.tables));
  });
});
