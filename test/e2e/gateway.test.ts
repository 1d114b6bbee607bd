// The gateway as the operator runs it (spec.gateway), driven by a client
// nobody here wrote: PyKX publishes a day as a q feedhandler does (async
// .u.upd to the tickerplant's kdb+ IPC port) while the pool scales out and
// rolls; PyKX then asks the operator's gateway for ranges that fall in one
// RDB, across a roll, across every RDB, and, after end of day and the merge,
// in yesterday's HDB and across yesterday and today. Each answer must hold
// exactly the rows published in its range: per sym the rows, the sum of
// sizes and the sum of prices, computed by the client from what it sent.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IpcClient, q } from '../../ipc/src/index.ts';
import { decodePurview, type RdbPurview } from '../../images/sim/src/query/purview.ts';
import { parseHhMm } from '../../images/sim/src/tickerplant/trading-day.ts';
import { tradingDaySpan } from '../../gateway/src/config.ts';
import { repoRoot, readStackAws } from '../lib/stack.ts';
import { farEndOfDay } from './day-clock.ts';
import { applyYaml, installOperator, kubectl, waitFor } from './trading-day.ts';

const run = promisify(execFile);
const PYTHON = join(repoRoot, '.venv/bin/python');
const CLIENT = join(repoRoot, 'test/e2e/gateway_client.py');
const NS = 'e2e-gateway';
const CLUSTER = 'gw';
const TP_IPC_PORT = 5013;
const GATEWAY_PORT = 5000;
const USER = 'analyst';
const PASSWORD = 'e2e-only-password';
const KDB_GROUP = 'kdb-operator.dev';

interface Feed { seed: number; startMs: number; rows: number; batch: number; paceMs: number }
interface Range { name: string; fromMs: number; toMs: number }
type Stats = Record<string, { rows: number; size: number; cents: number }>;
type Answer = { rows: number; inTimeOrder: boolean; got: Stats; want: Stats } | { error: string };

/** The instants a trading day covers, by the gateway's own rule for the tickerplant's end of day (UTC here). */
const daySpan = (day: string, eod: string): [number, number] => tradingDaySpan(parseHhMm(eod)!, 'UTC')(day);

const pods = async (role: string): Promise<{ name: string; ip?: string; ready: boolean }[]> => {
  const list = JSON.parse(await kubectl('-n', NS, 'get', 'pods', '-l', `${KDB_GROUP}/cluster=${CLUSTER},${KDB_GROUP}/role=${role}`, '-o', 'json')) as {
    items: { metadata: { name: string; deletionTimestamp?: string }; status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
  };
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({ name: p.metadata.name, ...(p.status?.podIP ? { ip: p.status.podIP } : {}), ready: !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') }));
};

/** Each RDB's own purview, asked over kdb+ IPC on its query port: where the day's windows are. */
const rdbPurviews = async (): Promise<RdbPurview[]> => {
  const out: RdbPurview[] = [];
  for (const p of await pods('rdb')) {
    if (!p.ip) continue;
    const c = await IpcClient.connect({ host: p.ip, port: 5011 }).catch(() => undefined);
    if (!c) continue;
    try {
      const v = decodePurview(await c.sync(q.list(q.symbol('.kdb.purview'), q.identity())));
      if (v.kind === 'rdb') out.push(v);
    } finally {
      c.close();
    }
  }
  return out;
};

const tradeRows = (p: RdbPurview) => p.tables.find((t) => t.table === 'trade')?.rows ?? 0;

const client = async (cmd: 'feed' | 'query', host: string, port: number, arg: unknown): Promise<unknown> => {
  const { stdout } = await run(PYTHON, [CLIENT, cmd, host, String(port), JSON.stringify(arg)], { timeout: 300_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
};

const eodTime = farEndOfDay(new Date());
let tpIp = '';
let gatewayIp = '';
let today = '';
const feeds: Feed[] = [];
let rdbWindows: { name: string; firstTime: number; lastTime: number }[] = [];
let before: Record<string, Answer> & { freeForm?: string; badPassword?: string } = {};
let after: Record<string, Answer> = {};
let ranges: Range[] = [];

beforeAll(async () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run make deps (it installs PyKX from test/stack/requirements.txt)`);
  await installOperator('kdb-system', [NS]);
  const secret = await kubectl('-n', NS, 'create', 'secret', 'generic', 'gateway-users', `--from-literal=credentials=${USER}:${PASSWORD}`, '--dry-run=client', '-o', 'yaml');
  await applyYaml(secret);
  await applyYaml(`apiVersion: ${KDB_GROUP}/v1alpha1
kind: KdbCluster
metadata:
  name: ${CLUSTER}
  namespace: ${NS}
spec:
  tickerplant:
    ipcPort: ${TP_IPC_PORT}
    endOfDay: { time: "${eodTime}", timeZone: UTC }
  rdbPools:
    - name: main
      memory: 256Mi
      scaleThreshold: 40
      rollThreshold: 50
      minRdbs: 1
      maxRdbs: 5
  gateway:
    enabled: true
    port: ${GATEWAY_PORT}
    credentialsSecret: { name: gateway-users }
  storage:
    efs:
      fileSystemId: ${readStackAws().efsFileSystemId}
`);
  tpIp = await waitFor('the tickerplant pod to be Ready', async () => (await pods('tickerplant')).find((p) => p.ready)?.ip, 180_000);
  gatewayIp = await waitFor('the gateway pod to be Ready', async () => (await pods('gateway')).find((p) => p.ready)?.ip, 180_000);
  // The trading day is the tickerplant's (its live RDB says it), never the wall clock's date.
  today = await waitFor('an RDB to go live', async () => (await rdbPurviews()).find((p) => p.state === 'live')?.day, 180_000);

  // 600,000 trades paced over about 48 s: an idle RDB reports about 35% of its 256 Mi, a
  // trade about 1% a 15,000 rows, so the pool scales out and rolls at 50% twice or so.
  const [start] = daySpan(today, eodTime);
  feeds.push({ seed: 1, startMs: start + 3_600_000, rows: 600_000, batch: 5_000, paceMs: 400 });
  await client('feed', tpIp, TP_IPC_PORT, feeds[0]);
  const held = await waitFor('the RDBs to hold every row published', async () => {
    const ps = await rdbPurviews();
    return ps.reduce((n, p) => n + tradeRows(p), 0) >= feeds[0]!.rows ? ps : undefined;
  }, 120_000);
  rdbWindows = held
    .filter((p) => tradeRows(p) > 0)
    .map((p) => {
      const t = p.tables.find((x) => x.table === 'trade')!;
      return { name: p.name, firstTime: t.firstTime!, lastTime: t.lastTime! };
    })
    .sort((a, b) => a.firstTime - b.firstTime);
  const [a, b] = rdbWindows;
  if (!a || !b) throw new Error(`the day did not roll: RDB windows ${JSON.stringify(rdbWindows)}`);
  ranges = [
    { name: 'oneRdb', fromMs: a.firstTime + 100, toMs: a.lastTime - 100 },
    { name: 'acrossRoll', fromMs: a.lastTime - 2_000, toMs: b.firstTime + 2_000 },
    { name: 'allRdbs', fromMs: daySpan(today, eodTime)[0], toMs: daySpan(today, eodTime)[1] },
  ];
  before = (await client('query', gatewayIp, GATEWAY_PORT, { user: USER, password: PASSWORD, feeds, ranges })) as typeof before;

  // End of day, the merge, then a few rows of the next trading day.
  const eod = await run(process.execPath, [join(repoRoot, 'images/sim/src/main.ts'), 'eod', '--host', tpIp, '--port', '5010']);
  const { day, nextDay } = JSON.parse(eod.stdout) as { day: string; nextDay: string };
  if (day !== today) throw new Error(`the tickerplant closed ${day}, not the RDBs' day ${today}`);
  await waitFor(`the operator to merge ${day} into the HDB`, async () => {
    const k = JSON.parse(await kubectl('-n', NS, 'get', 'kdb', CLUSTER, '-o', 'json')) as { status?: { mergedDay?: string; merge?: { day: string; phase: string; job: string } } };
    if (k.status?.merge?.day === day && k.status.merge.phase === 'Failed') throw new Error(`merge Job ${k.status.merge.job} failed`);
    return k.status?.mergedDay === day;
  }, 300_000);
  feeds.push({ seed: 2, startMs: daySpan(nextDay, eodTime)[0] + 3_600_000, rows: 20_000, batch: 2_000, paceMs: 50 });
  await client('feed', tpIp, TP_IPC_PORT, feeds[1]);
  await waitFor('the live RDB to hold the next day\'s rows', async () => (await rdbPurviews()).some((p) => p.day === nextDay && tradeRows(p) >= feeds[1]!.rows), 60_000);
  ranges.push(
    { name: 'yesterdayInHdb', fromMs: daySpan(day, eodTime)[0], toMs: daySpan(day, eodTime)[1] },
    { name: 'acrossDays', fromMs: feeds[0]!.startMs + 1_000, toMs: feeds[1]!.startMs + feeds[1]!.rows },
  );
  after = (await client('query', gatewayIp, GATEWAY_PORT, { user: USER, password: PASSWORD, feeds, ranges: ranges.slice(3) })) as typeof after;
}, 1_200_000);

afterAll(async () => {
  await kubectl('-n', NS, 'delete', 'kdb', CLUSTER, '--ignore-not-found', '--wait=false').catch(() => undefined);
  await waitFor(`KdbCluster ${NS}/${CLUSTER} to be deleted`, async () => (await kubectl('-n', NS, 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 180_000);
  await kubectl('delete', 'namespace', NS, '--wait=false').catch(() => undefined);
}, 240_000);

const exact = (name: string, answer: Answer | undefined, minRows: number) => {
  if (!answer || 'error' in answer) throw new Error(`${name}: the gateway refused: ${answer ? answer.error : 'no answer'}`);
  expect(answer.got).toEqual(answer.want);
  expect(answer.rows).toBe(Object.values(answer.want).reduce((n, s) => n + s.rows, 0));
  expect(answer.rows).toBeGreaterThanOrEqual(minRows);
  expect(answer.inTimeOrder).toBe(true);
};

test('the day rolled over at least two RDBs while PyKX published it through .u.upd', () => {
  expect(rdbWindows.length).toBeGreaterThanOrEqual(2);
});

test('a range inside one RDB is answered exactly', () => exact('oneRdb', before.oneRdb, 1_000));

test('a range across a roll is answered exactly: each row once, from both RDBs', () => exact('acrossRoll', before.acrossRoll, 4_000));

test('the whole day across every RDB is answered exactly', () => {
  exact('allRdbs', before.allRdbs, feeds[0]!.rows);
  expect((before.allRdbs as { rows: number }).rows).toBe(feeds[0]!.rows);
});

test('after end of day and the merge, yesterday is answered from the HDB exactly', () => {
  exact('yesterdayInHdb', after.yesterdayInHdb, feeds[0]!.rows);
});

test('a range across yesterday (HDB) and today (the live RDB) is answered exactly', () => {
  exact('acrossDays', after.acrossDays, feeds[0]!.rows - 1_000 + feeds[1]!.rows);
});

test('the gateway refuses free-form q and a wrong password', () => {
  expect(before.freeForm).toMatch(/^refused: /);
  expect(before.badPassword).toMatch(/^refused: /);
});
