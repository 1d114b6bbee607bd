import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { autoscaling, motoClientConfig } from '../lib/aws.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws, repoRoot, stackDir } from '../lib/stack.ts';
import { farEndOfDay } from './day-clock.ts';
import { applyYaml, installOperator, kubectl, waitFor } from './trading-day.ts';

// Hibernation under the chart's operator: `kdb-operator.dev/hibernation: on`
// writes the day down into the HDB, hands every RDB server back and stops
// the tickerplant (its log and the HDB stay); `off` brings the tickerplant
// back, the pool queues an RDB that goes live, and the next day's rows flow
// into it and, at end of day, into the HDB.
const run = promisify(execFile);
const aws = readStackAws();
const NS = 'e2e-hibernate';
// Unique per run: a cluster re-created under one name shares its HDB and staging folders (see README, section 7).
const CLUSTER = `sleepy-${Date.now().toString(36).slice(-5)}`;
const GROUP = aws.nodeGroups.rdb.asgName;
const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
const apps = adminKubeConfig().makeApiClient(k8s.AppsV1Api);
const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
const asc = new autoscaling.AutoScalingClient(motoClientConfig());
const outDir = join(repoRoot, 'out/e2e-hibernate');

type Cond = { type: string; status: string; reason: string };
type Status = { phase?: string; conditions?: Cond[]; mergedDay?: string; windDown?: { step: string } };
const status = async (): Promise<Status> =>
  ((await custom.getNamespacedCustomObject({ group: 'kdb-operator.dev', version: 'v1alpha1', namespace: NS, plural: 'kdbclusters', name: CLUSTER })) as { status?: Status })
    .status ?? {};
const hibernated = async (): Promise<Cond | undefined> => (await status()).conditions?.find((c) => c.type === 'Hibernated');
const desired = async (): Promise<number | undefined> =>
  (await asc.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }))).AutoScalingGroups?.[0]?.DesiredCapacity;
const rdbPods = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: `kdb-operator.dev/cluster=${CLUSTER},kdb-operator.dev/role=rdb` })).items;
const livePod = async () =>
  (await rdbPods()).find((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'kdb-operator.dev/Live' && c.status === 'True'));
const tickerplantIp = () =>
  waitFor('the tickerplant pod to be Ready', async () => {
    const p = await core.readNamespacedPod({ name: `${CLUSTER}-tickerplant-0`, namespace: NS }).catch(() => undefined);
    return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp ? p.status?.podIP : undefined;
  }, 180_000);

type Feed = { tickerplantDay: string; rows: number; tables: Record<string, { rows: number; checksum: string }> };
const feed = async (host: string, rows: number, seed: number, name: string): Promise<Feed> => {
  const report = join(outDir, `${name}.json`);
  await run(process.execPath, [join(repoRoot, 'images/sim/src/main.ts'), 'feed', '--host', host, '--port', '5010', '--rows', String(rows), '--day-ms', '8000',
    '--seed', String(seed), '--syms', 'AAPL,MSFT', '--report', report], { maxBuffer: 16 << 20 });
  return JSON.parse(readFileSync(report, 'utf8')) as Feed;
};
const hdbMarker = (day: string) =>
  JSON.parse(readFileSync(join(stackDir(), 'efs', aws.efsFileSystemId, 'kdb', NS, CLUSTER, 'hdb', day, '.complete'), 'utf8')) as {
    tables: Record<string, { rows: number; checksum: string }>;
  };
const sameRows = (f: Feed, m: ReturnType<typeof hdbMarker>) =>
  Object.fromEntries(Object.entries(f.tables).map(([t, v]) => [t, { rows: v.rows, checksum: v.checksum, hdb: m.tables[t] }]));

let before: number | undefined;
let dayOne: Feed;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await installOperator('kdb-system', [NS]);
  before = await desired();
  await applyYaml(`apiVersion: kdb-operator.dev/v1alpha1
kind: KdbCluster
metadata: { name: ${CLUSTER}, namespace: ${NS} }
spec:
  tickerplant:
    endOfDay: { time: "${farEndOfDay(new Date())}", timeZone: UTC }
  rdbPools: [{ name: main, memory: 256Mi, minRdbs: 1, maxRdbs: 3 }]
  storage: { efs: { fileSystemId: ${aws.efsFileSystemId} } }
`);
  const ip = await tickerplantIp();
  await waitFor('the first RDB to go live', livePod, 180_000);
  dayOne = await feed(ip, 60_000, 3, 'day-one');
}, 420_000);

afterAll(async () => {
  await kubectl('-n', NS, 'delete', 'kdb', CLUSTER, '--ignore-not-found', '--wait=false').catch(() => undefined);
  await waitFor(`KdbCluster ${NS}/${CLUSTER} to be deleted`, async () => (await kubectl('-n', NS, 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 180_000).catch(() => undefined);
  await kubectl('delete', 'namespace', NS, '--wait=false').catch(() => undefined);
  asc.destroy();
}, 240_000);

test('on: the day is written down, every server handed back, the tickerplant stopped with its log kept', async () => {
  await kubectl('-n', NS, 'annotate', '--overwrite', 'kdb', CLUSTER, 'kdb-operator.dev/hibernation=on');
  await waitFor('Hibernated=True', async () => (await hibernated())?.status === 'True', 240_000);
  expect((await status()).phase).toBe('Hibernated');
  expect(await rdbPods()).toEqual([]);
  const sts = await apps.readNamespacedStatefulSet({ name: `${CLUSTER}-tickerplant`, namespace: NS });
  expect(sts.spec?.replicas).toBe(0);
  await waitFor('the tickerplant pod to be gone', async () => !(await core.readNamespacedPod({ name: `${CLUSTER}-tickerplant-0`, namespace: NS }).catch(() => undefined)), 60_000);
  expect(await waitFor('the group back to its size before the cluster', async () => ((await desired()) === before ? true : undefined), 60_000)).toBe(true);
  // Every row of the day is in the HDB.
  const m = hdbMarker(dayOne.tickerplantDay);
  for (const [table, v] of Object.entries(sameRows(dayOne, m))) expect({ table, rows: v.hdb?.rows, checksum: v.hdb?.checksum }).toEqual({ table, rows: v.rows, checksum: v.checksum });
  expect((await status()).mergedDay).toBe(dayOne.tickerplantDay);
}, 300_000);

test('a value that is neither on nor off is refused and changes nothing', async () => {
  await kubectl('-n', NS, 'annotate', '--overwrite', 'kdb', CLUSTER, 'kdb-operator.dev/hibernation=yes');
  const refused = await waitFor('the refusal', async () => {
    const e = (await core.listNamespacedEvent({ namespace: NS })).items.find((x) => x.reason === 'InvalidAnnotation' && x.involvedObject.name === CLUSTER);
    return e;
  }, 60_000);
  expect(refused.type).toBe('Warning');
  expect(refused.message).toContain('kdb-operator.dev/hibernation');
});

test('off: the tickerplant comes back, an RDB goes live, and the next day flows through to the HDB', async () => {
  await kubectl('-n', NS, 'annotate', '--overwrite', 'kdb', CLUSTER, 'kdb-operator.dev/hibernation=off');
  const ip = await tickerplantIp();
  await waitFor('an RDB to go live again', livePod, 240_000);
  expect((await hibernated())?.status).toBe('False');
  const dayTwo = await feed(ip, 30_000, 4, 'day-two');
  expect(dayTwo.tickerplantDay > dayOne.tickerplantDay).toBe(true);
  const eod = await run(process.execPath, [join(repoRoot, 'images/sim/src/main.ts'), 'eod', '--host', ip, '--port', '5010']);
  expect((JSON.parse(eod.stdout) as { day: string }).day).toBe(dayTwo.tickerplantDay);
  await waitFor('the second day to be merged', async () => ((await status()).mergedDay === dayTwo.tickerplantDay ? true : undefined), 180_000);
  const m = hdbMarker(dayTwo.tickerplantDay);
  for (const [table, v] of Object.entries(sameRows(dayTwo, m))) expect({ table, rows: v.hdb?.rows, checksum: v.hdb?.checksum }).toEqual({ table, rows: v.rows, checksum: v.checksum });
}, 420_000);
