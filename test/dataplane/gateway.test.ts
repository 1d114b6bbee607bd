// The gateway (node gateway/src/main.ts) over a real data plane: a
// tickerplant, RDBs that roll through a day, the HDB holding yesterday.
// node-q (a client nobody here wrote) asks it for ranges in one RDB, across
// a roll, across all RDBs, in yesterday's HDB and across both days, and
// gets exactly the published rows (row counts and checksums per table);
// bad credentials, unknown functions, too many rows, a merge still pending
// and an unreachable RDB are each refused with a kdb+ error naming why.

import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import net from 'node:net';
import { encodeClientHello } from '../../ipc/src/index.ts';
import { addSums, checksumColumns, type TableSum } from '../../images/sim/src/checksum.ts';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { startGateway, type GatewayProc } from './gateway-proc.ts';
import { DataPlane, feed, freePort, HOST, Proc, sums, waitFor } from './harness.ts';
import { call, close, connect, msOf, nq, rowsToColumns, type NodeQConnection } from './nodeq.ts';

jest.setTimeout(240_000);

const COLS: Record<string, string[]> = { trade: ['time', 'sym', 'price', 'size'], quote: ['time', 'sym', 'bid', 'ask', 'bsize', 'asize'] };
const NAMES = ['r1', 'r2', 'r3', 'r4', 'r5'];
const ROW_LIMIT = 4000;
const DAY1 = '2025-03-03';
const DAY2 = '2025-03-04';

let dp: DataPlane;
let yesterday: FeedReport;
let today: FeedReport;
let gwPort: number;
let gw: NodeQConnection;
let gateway: GatewayProc;

const ts = (iso: string) => nq.timestamp(new Date(iso));
const get = (con: NodeQConnection, table: string, extra: Record<string, unknown> = {}) =>
  call<Record<string, unknown>[]>(con, 'getData', { table: nq.symbol(table), ...extra });
const sumOf = (rows: Record<string, unknown>[], table: string): TableSum => checksumColumns(rowsToColumns(rows, COLS[table]!));
const inTimeOrder = (rows: Record<string, unknown>[]) => {
  const t = rows.map((r) => msOf(r.time));
  return t.every((x, i) => i === 0 || t[i - 1]! <= x);
};

beforeAll(async () => {
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1', { capacityBytes: 400_000 });
  await dp.waitStatus('r1', (s) => s.state === 'live');
  // Yesterday: small enough for r1 alone; end of day; r1 flushes and goes on live; the merge builds the HDB day.
  yesterday = await feed(dp, 1500, 3, { day: DAY1 });
  await dp.waitRows(['r1'], 1500);
  const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
  expect((await eod.exited).code).toBe(0);
  const day = (JSON.parse(eod.output) as { day: string }).day;
  await dp.waitStatus('r1', (s) => s.flushed.length === 1 && s.state === 'live');
  const merge = dp.run(['merge', '--day', day, '--expect', '1'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
  expect((await merge.exited).code).toBe(0);
  const hdbPort = await freePort();
  const hdb: Proc = dp.run(['hdb'], { KDB_HDB_DIR: dp.hdbDir, KDB_HDB_PORT: String(hdbPort) });
  // Today: queued RDBs take over at each roll.
  await Promise.all(NAMES.slice(1).map((n) => dp.startRdb(n, { capacityBytes: 400_000 })));
  await Promise.all(NAMES.slice(1).map((n) => dp.waitStatus(n, (s) => s.state === 'queued')));
  today = await feed(dp, 6000, 4, { day: DAY2 });
  await dp.waitRows(NAMES, 6000);
  gwPort = await freePort();
  gateway = startGateway({
    KDB_GATEWAY_PORT: String(gwPort),
    KDB_GATEWAY_RDBS: NAMES.map((n) => `${HOST}:${dp.rdbs.get(n)!.queryPort}`).join(','),
    KDB_GATEWAY_HDB: `${HOST}:${hdbPort}`,
    KDB_IPC_CREDENTIALS: 'alice:s3cret',
    KDB_GATEWAY_ROW_LIMIT: String(ROW_LIMIT),
    KDB_GATEWAY_WAIT_MS: '500',
  });
  gw = await waitFor('gateway to listen', async () => {
    if (!gateway.running()) throw new Error(`gateway exited: ${gateway.output()}`);
    if (!hdb.running) throw new Error(`hdb exited: ${hdb.output}`);
    return connect(gwPort, { user: 'alice', password: 's3cret' });
  });
});

afterAll(async () => {
  if (gw) await close(gw);
  await gateway?.kill();
  await dp?.close();
});

describe('gateway (node-q client)', () => {
  test('today across every RDB, yesterday from the HDB, and both days: exactly the published rows, in time order', async () => {
    const rolled = NAMES.filter((n) => dp.status(n)?.state === 'rolled');
    expect(rolled.length).toBeGreaterThanOrEqual(2);
    for (const table of ['trade', 'quote']) {
      const t = await get(gw, table, { startTime: ts(`${DAY2}T00:00:00Z`), endTime: ts('2025-03-05T00:00:00Z') });
      expect(sumOf(t, table)).toEqual(sums(today.tables)[table]);
      expect(inTimeOrder(t)).toBe(true);
      const y = await get(gw, table, { startTime: ts(`${DAY1}T00:00:00Z`), endTime: ts(`${DAY2}T00:00:00Z`) });
      expect(sumOf(y, table)).toEqual(sums(yesterday.tables)[table]);
      const both = sums(yesterday.tables)[table]!.rows + sums(today.tables)[table]!.rows;
      if (both <= ROW_LIMIT) {
        const all = await get(gw, table);
        expect(sumOf(all, table)).toEqual(addSums(sums(yesterday.tables)[table]!, sums(today.tables)[table]!));
        expect(inTimeOrder(all)).toBe(true);
      } else await expect(get(gw, table)).rejects.toThrow(new RegExp(`${both} rows of ${table} match, above the gateway's row limit of ${ROW_LIMIT}`));
    }
  });

  test('a range inside one rolled RDB, and one across its roll, give what those RDBs hold for it', async () => {
    // a rolled RDB and the one whose window follows it (queued RDBs go live in the order they subscribed).
    const a = NAMES.find((n) => dp.status(n)?.state === 'rolled')!;
    const b = NAMES.find((n) => dp.status(n)!.window.firstI === dp.status(a)!.window.lastI && n !== a)!;
    const ca = await connect(dp.rdbs.get(a)!.queryPort);
    const cb = await connect(dp.rdbs.get(b)!.queryPort);
    try {
      const pa = await call<{ tables: { table: string; firstTime: number; lastTime: number }[] }>(ca, 'purview', null);
      const pb = await call<{ tables: { table: string; firstTime: number; lastTime: number }[] }>(cb, 'purview', null);
      const ta = pa.tables.find((t) => t.table === 'trade')!;
      const tb = pb.tables.find((t) => t.table === 'trade')!;
      const ms = (x: number) => msOf(x);
      // Inside a: its middle half.
      const q1 = ms(ta.firstTime) + (ms(ta.lastTime) - ms(ta.firstTime)) / 4;
      const q3 = ms(ta.lastTime) - (ms(ta.lastTime) - ms(ta.firstTime)) / 4;
      const inside = { startTime: nq.timestamp(new Date(Math.floor(q1))), endTime: nq.timestamp(new Date(Math.floor(q3))) };
      const viaGw = await get(gw, 'trade', inside);
      expect(viaGw.length).toBeGreaterThan(0);
      expect(sumOf(viaGw, 'trade')).toEqual(sumOf(await get(ca, 'trade', inside), 'trade'));
      // Across the roll from a to b: from a's last quarter into b's first.
      const across = { startTime: nq.timestamp(new Date(Math.floor(q3))), endTime: nq.timestamp(new Date(ms(tb.firstTime) + 60_000)) };
      const both = await get(gw, 'trade', across);
      const direct = addSums(sumOf(await get(ca, 'trade', across), 'trade'), sumOf(await get(cb, 'trade', across), 'trade'));
      expect(sumOf(both, 'trade')).toEqual(direct);
      expect(inTimeOrder(both)).toBe(true);
    } finally {
      await close(ca);
      await close(cb);
    }
  });

  test('purview lists the RDBs with their windows and the HDB days', async () => {
    const p = await call<{ kind: string; rdbs: { name: string; state: string }[]; hdbDays: Date[] }>(gw, '.kdb.purview', null);
    expect(p.kind).toBe('gateway');
    expect(p.rdbs.map((r) => r.name).sort()).toEqual(NAMES);
    expect(p.hdbDays.map((d) => d.toISOString().slice(0, 10))).toEqual([dp.status('r1')!.flushed[0]!.day]);
  });

  test('bad credentials are refused; free-form q, unknown functions and bad arguments get a kdb+ error', async () => {
    await expect(connect(gwPort, { user: 'alice', password: 'wrong' })).rejects.toThrow();
    await expect(call(gw, 'select from trade')).rejects.toThrow(/free-form q is not evaluated/);
    await expect(call(gw, '.q.system', 'ls')).rejects.toThrow(/unknown function/);
    await expect(call(gw, 'getData', { table: nq.symbol('trade'), startTime: 'yesterday' })).rejects.toThrow(/startTime must be a timestamp/);
    await expect(get(gw, 'nope')).rejects.toThrow(/unknown table nope/);
    await expect(get(gw, 'trade', { columns: nq.symbols(['px']) })).rejects.toThrow(/has no column px/);
  });

  test('a client sending garbage is cut off; the gateway goes on serving the others', async () => {
    const sock = net.connect(gwPort, HOST);
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise((r) => sock.once('close', r));
    sock.on('error', () => {});
    // Read what comes (the handshake answer), or the close is never seen.
    sock.on('data', () => {});
    sock.write(encodeClientHello('alice', 's3cret'));
    // A header declaring a 3 GiB message: refused from the header alone.
    sock.write(Buffer.from([1, 1, 0, 0, 0, 0, 0, 0xc0]));
    await closed;
    const p = await call<{ kind: string }>(gw, '.kdb.purview', null);
    expect(p.kind).toBe('gateway');
  });

  test('an RDB that holds part of the range and cannot be reached fails the query, naming it', async () => {
    const rolled = NAMES.filter((n) => dp.status(n)?.state === 'rolled');
    const gone = rolled[0]!;
    await dp.rdbs.get(gone)!.proc.kill();
    await expect(get(gw, 'trade', { startTime: ts(`${DAY2}T00:00:00Z`) })).rejects.toThrow(new RegExp(`rdb at ${HOST}:${dp.rdbs.get(gone)!.queryPort} unreachable`));
  });
});
