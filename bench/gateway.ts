/**
 * The gateway's cost: a day spread over six RDBs (five rolled, one live)
 * and queried through the gateway and, for comparison, straight from the
 * one RDB that holds the window. Clients are this repo's IPC client
 * (the same decode work either way).
 *   node bench/gateway.ts      (BENCH_ROWS=60000, BENCH_MINUTE_QUERIES=200, BENCH_DAY_QUERIES=10)
 * Prints p50/p99 latency of a one-minute trade window (gateway and direct),
 * the gateway's overhead, and p50/p99 and rows/s of a whole-day trade query.
 */
import { DataPlane, feed, freePort, HOST } from '../test/dataplane/harness.ts';
import { startGateway } from '../test/dataplane/gateway-proc.ts';
import { IpcClient, q, type QValue } from '../ipc/src/index.ts';
import { msToTimestamp } from '../images/sim/src/query/columns.ts';
import { decodePurview, type RdbPurview } from '../images/sim/src/query/purview.ts';
import { fmt } from './lib.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 60_000);
const MINUTE_QUERIES = Number(process.env.BENCH_MINUTE_QUERIES ?? 200);
const DAY_QUERIES = Number(process.env.BENCH_DAY_QUERIES ?? 10);
const NAMES = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const getData = (table: string, from?: number, to?: number): QValue => {
  const keys = ['table'];
  const vals: QValue[] = [q.symbol(table)];
  if (from !== undefined) keys.push('startTime'), vals.push(q.timestamp(msToTimestamp(from)));
  if (to !== undefined) keys.push('endTime'), vals.push(q.timestamp(msToTimestamp(to)));
  return q.list(q.symbol('getData'), q.dict(q.symbols(keys), q.list(...vals)));
};
const rowsOf = (v: QValue) => (v.kind === 'table' ? (v.data[0] as { values: { length: number } }).values.length : 0);
const timed = async (c: IpcClient, v: QValue): Promise<[number, number]> => {
  const t0 = process.hrtime.bigint();
  const r = await c.sync(v);
  return [Number(process.hrtime.bigint() - t0) / 1e6, rowsOf(r)];
};

const dp = new DataPlane();
const gw = { proc: undefined as ReturnType<typeof startGateway> | undefined };
try {
  await dp.startTickerplant();
  // Accounted memory is about 208 B a row: each RDB rolls after a little under a sixth of the day, the sixth is live with the rest.
  const capacity = Math.ceil((ROWS * 208) / 5.5);
  await dp.startRdb('r1', { capacityBytes: capacity });
  await dp.waitStatus('r1', (s) => s.state === 'live');
  await Promise.all(NAMES.slice(1).map((n) => dp.startRdb(n, { capacityBytes: capacity })));
  await Promise.all(NAMES.slice(1).map((n) => dp.waitStatus(n, (s) => s.state === 'queued')));
  await feed(dp, ROWS, 1, { batch: 100 });
  await dp.waitRows(NAMES, ROWS, 120_000);
  const holding = NAMES.filter((n) => dp.status(n)!.state !== 'queued');
  const port = await freePort();
  gw.proc = startGateway({ KDB_GATEWAY_PORT: String(port), KDB_GATEWAY_RDBS: NAMES.map((n) => `${HOST}:${dp.rdbs.get(n)!.queryPort}`).join(',') });
  let g: IpcClient | undefined;
  for (let k = 0; k < 200 && g === undefined; k++) g = await IpcClient.connect({ host: HOST, port }).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)));
  if (!g) throw new Error(`gateway did not start: ${gw.proc.output()}`);
  const direct = new Map<string, IpcClient>();
  const purviews: RdbPurview[] = [];
  for (const n of holding) {
    const c = await IpcClient.connect({ host: HOST, port: dp.rdbs.get(n)!.queryPort });
    direct.set(n, c);
    purviews.push(decodePurview(await c.sync(q.symbol('.kdb.purview'))) as RdbPurview);
  }
  console.log(`day: ${fmt(ROWS)} rows over ${holding.length} RDBs (${holding.map((n) => dp.status(n)!.state).join(', ')})`);

  // One-minute windows inside rolled RDBs, each also asked of the RDB holding it.
  const inRolled = purviews.filter((p) => p.state === 'rolled');
  const gwMs: number[] = [];
  const directMs: number[] = [];
  let minuteRows = 0;
  for (let k = 0; k < MINUTE_QUERIES; k++) {
    const p = inRolled[k % inRolled.length]!;
    const t = p.tables.find((x) => x.table === 'trade')!;
    const from = t.firstTime! + ((k * 7919) % Math.max(1, t.lastTime! - t.firstTime! - 60_000));
    const [a, n] = await timed(g, getData('trade', from, from + 60_000));
    const [b, m] = await timed(direct.get(p.name)!, getData('trade', from, from + 60_000));
    if (n !== m) throw new Error(`gateway gave ${n} rows, ${p.name} ${m}, for [${from}, +1 min)`);
    gwMs.push(a);
    directMs.push(b);
    minuteRows += n;
  }
  console.log(`one-minute trade window (${fmt(minuteRows / MINUTE_QUERIES)} rows on average), ${MINUTE_QUERIES} queries:`);
  console.log(`  gateway  p50 ${pct(gwMs, 50).toFixed(2)} ms  p99 ${pct(gwMs, 99).toFixed(2)} ms`);
  console.log(`  direct   p50 ${pct(directMs, 50).toFixed(2)} ms  p99 ${pct(directMs, 99).toFixed(2)} ms`);
  console.log(`  overhead p50 ${(pct(gwMs, 50) - pct(directMs, 50)).toFixed(2)} ms (${(pct(gwMs, 50) / pct(directMs, 50)).toFixed(1)}x)`);

  const dayMs: number[] = [];
  let dayRows = 0;
  for (let k = 0; k < DAY_QUERIES; k++) {
    const [a, n] = await timed(g, getData('trade'));
    dayMs.push(a);
    dayRows = n;
  }
  console.log(`whole-day trade (${fmt(dayRows)} rows over ${holding.length} RDBs), ${DAY_QUERIES} queries:`);
  console.log(`  gateway  p50 ${pct(dayMs, 50).toFixed(1)} ms  p99 ${pct(dayMs, 99).toFixed(1)} ms  ${fmt(dayRows / (pct(dayMs, 50) / 1000))} rows/s`);
  g.close();
  for (const c of direct.values()) c.close();
} finally {
  await gw.proc?.kill();
  await dp.close();
}
