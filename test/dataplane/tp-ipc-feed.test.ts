// A q feedhandler's `.u.upd` over kdb+ IPC (KDB_TP_IPC_PORT), sent by
// node-q (a client nobody here wrote): logged and published like the JSON
// feed's updates, so the RDB holds exactly the rows sent (row counts and
// checksums per table); a sync `.u.upd` answers once durable; a refused
// update gets tick.q's async `.feed.error` and never reaches the log.

import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { checksumColumns, type TableSum } from '../../images/sim/src/checksum.ts';
import { generateDay } from '../../images/sim/src/feed/generator.ts';
import { logPathFor, scanLog } from '../../images/sim/src/log/tplog.ts';
import { IpcClient, q, type QValue } from '../../ipc/src/index.ts';
import { msToTimestamp } from '../../images/sim/src/query/columns.ts';
import { DataPlane, freePort, HOST, SYMS, waitFor } from './harness.ts';
import { call, callAsync, close, connect, longs, nq, type NodeQConnection } from './nodeq.ts';

jest.setTimeout(120_000);

let dp: DataPlane;
let ipcPort: number;
let con: NodeQConnection;

beforeAll(async () => {
  dp = new DataPlane();
  ipcPort = await freePort();
  await dp.startTickerplant({ KDB_TP_IPC_PORT: String(ipcPort) });
  await dp.startRdb('r1');
  await dp.waitStatus('r1', (s) => s.state === 'live');
  con = await connect(ipcPort);
});

afterAll(async () => {
  if (con) await close(con);
  await dp?.close();
});

/** node-q's typed columns of one message: time, sym, then the numbers (floats, or longs for size columns). */
const nodeqColumns = (table: string, rows: unknown[][]): unknown[] => {
  const longCols = table === 'trade' ? [3] : [4, 5];
  const cols = rows[0]!.map((_, k) => rows.map((r) => r[k]));
  return cols.map((c, k) =>
    k === 0 ? nq.timestamps((c as number[]).map((t) => new Date(t))) : k === 1 ? nq.symbols(c as string[]) : longCols.includes(k) ? longs(c as number[]) : nq.floats(c as number[]),
  );
};

describe('tickerplant: .u.upd over kdb+ IPC', () => {
  test('a day of updates sent with neg[h] (node-q ks) lands in the RDB exactly once; the sync .u.upd returns once durable', async () => {
    const byTable: Record<string, unknown[][]> = { trade: [], quote: [] };
    for (const row of generateDay({ syms: SYMS, rows: 2000, seed: 5, day: '2025-03-03', tz: 'UTC' })) byTable[row.table]!.push(row.values);
    let messages = 0;
    for (const [table, rows] of Object.entries(byTable))
      for (let at = 0; at < rows.length; at += 50) {
        await callAsync(con, '.u.upd', nq.symbol(table), nodeqColumns(table, rows.slice(at, at + 50)));
        messages++;
      }
    // A sync .u.upd is the feed's barrier: answered (::) once it and everything before it is durable.
    const extra = [[Date.parse('2025-03-03T16:00:00Z'), 'KX', 1.25, 7]];
    expect(await call(con, 'upd', nq.symbol('trade'), nodeqColumns('trade', extra))).toBeNull();
    byTable.trade!.push(...extra);
    messages++;
    const want: Record<string, TableSum> = Object.fromEntries(
      Object.entries(byTable).map(([t, rows]) => [t, checksumColumns(rows[0]!.map((_, k) => rows.map((r) => r[k])))]),
    );
    await dp.waitRows(['r1'], 2001);
    expect(await dp.checksums(['r1'])).toEqual(want);
    const { day } = await dp.subscribers();
    expect(scanLog(logPathFor(dp.logDir, day))).toMatchObject({ count: messages, corruption: null });
  });

  test('time left out (the tickerplant stamps it), one row of atoms, and a table with its columns in another order', async () => {
    const before = (await dp.checksums(['r1'])).trade!.rows;
    const t = Date.parse('2025-03-03T17:00:00Z');
    // Without time: sym, price, size.
    await call(con, '.u.upd', nq.symbol('trade'), [nq.symbols(['IBM', 'IBM']), nq.floats([3, 4]), longs([1, 2])]);
    // One row as atoms, and a table (sent with our client: node-q has no table writer).
    const c = await IpcClient.connect({ host: HOST, port: ipcPort });
    await c.sync(q.list(q.symbol('.u.upd'), q.symbol('trade'), q.list(q.timestamp(msToTimestamp(t)), q.symbol('MSFT'), q.float(9.5), q.long(3))));
    await c.sync(
      q.list(
        q.symbol('.u.upd'),
        q.symbol('trade'),
        q.table({ size: q.longs([4]), sym: q.symbols(['GOOG']), time: q.timestamps([msToTimestamp(t + 1)]), price: q.floats([8.25]) }),
      ),
    );
    c.close();
    await dp.waitRows(['r1'], before + 4 + (await dp.checksums(['r1'])).quote!.rows);
    const rows = await dp.query<{ data: unknown[][] }>('r1', `/rows?table=trade&from=${t}&to=${t + 2}`);
    expect(rows.data).toEqual([[t, t + 1], ['MSFT', 'GOOG'], [9.5, 8.25], [3, 4]]);
    const stamped = await dp.query<{ data: unknown[][] }>('r1', '/rows?table=trade&syms=IBM');
    expect(stamped.data[2]).toEqual(expect.arrayContaining([3, 4]));
    expect((stamped.data[0] as number[]).every((x) => Number.isFinite(x))).toBe(true);
  });

  test('a refused update: sync gets a kdb+ error naming the column, async gets (`.feed.error; msg); neither reaches the log', async () => {
    const { day, count } = await dp.subscribers();
    const asyncErrors: QValue[] = [];
    const c = await IpcClient.connect({ host: HOST, port: ipcPort, onAsync: (v) => asyncErrors.push(v) });
    const bad = q.list(q.symbol('.u.upd'), q.symbol('trade'), q.list(q.symbols(['A']), q.symbols(['x']), q.longs([1])));
    await expect(c.sync(bad)).rejects.toThrow(/table trade column price: expected float or real, got a symbol vector/);
    await expect(c.sync(q.list(q.symbol('.u.upd'), q.symbol('nope'), q.list()))).rejects.toThrow(/unknown table nope/);
    await expect(c.sync(q.string('.u.upd[`trade;x]'))).rejects.toThrow(/free-form q is not evaluated/);
    await expect(c.sync(q.list(q.symbol('.u.sub'), q.symbol('trade'), q.symbol('')))).rejects.toThrow(/answers .u.upd only/);
    c.async(bad);
    await waitFor('the async refusal', () => asyncErrors.length === 1);
    expect(asyncErrors[0]).toEqual(q.list(q.symbol('.feed.error'), q.string('table trade column price: expected float or real, got a symbol vector')));
    c.close();
    expect((await dp.subscribers()).count).toBe(count);
    expect(scanLog(logPathFor(dp.logDir, day)).count).toBe(count);
  });
});
