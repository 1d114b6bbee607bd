import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws, repoRoot, stackDir } from '../lib/stack.ts';
import { farEndOfDay } from './day-clock.ts';
import { applyYaml, installOperator, kubectl, waitFor } from './trading-day.ts';

// A pool change reaching the live RDB (issue 13, item 1), under the chart's
// operator. The live RDB goes on live across days, so a new pool spec gets
// to it only by a roll: the tickerplant hands the feed to a queued RDB of
// the new spec and the old one becomes a rolled RDB like any other.
// - apply EndOfDay (the default): mid-day the change waits; status says so
//   and when it applies (the end of day's safe window), and nothing rolls.
// - apply Immediate: the roll happens now, mid-stream, and every row the
//   feeds published is in the HDB once, by rows and order-free checksum.
const run = promisify(execFile);
const aws = readStackAws();
const NS = 'e2e-rotate';
// Unique per run: a cluster re-created under one name shares its HDB and staging folders (see README, section 7).
const CLUSTER = `spin-${Date.now().toString(36).slice(-5)}`;
const POOL = 'main';
const SPEC_HASH = 'kdb-operator.dev/spec-hash';
const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
const outDir = join(repoRoot, 'out/e2e-rotate');
const SIM = join(repoRoot, 'images/sim/src/main.ts');
// Chosen once: the end of day is half a day away whenever this runs, so mid-day is now.
const END_OF_DAY = farEndOfDay(new Date());

type Cond = { type: string; status: string; reason: string; message?: string };
type Pending = { component: string; reason: string; appliesAt?: string; rdbs?: string[] };
type Status = {
  conditions?: Cond[];
  mergedDay?: string;
  pendingChanges?: Pending[];
  pools?: { name: string; rotation?: { rdb: string; next: string } }[];
};
const status = async (): Promise<Status> =>
  ((await custom.getNamespacedCustomObject({ group: 'kdb-operator.dev', version: 'v1alpha1', namespace: NS, plural: 'kdbclusters', name: CLUSTER })) as { status?: Status })
    .status ?? {};
const condition = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);
const rdbPods = async () =>
  (await core.listNamespacedPod({ namespace: NS, labelSelector: `kdb-operator.dev/cluster=${CLUSTER},kdb-operator.dev/role=rdb` })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
const podCondition = (p: k8s.V1Pod, type: string) => p.status?.conditions?.find((c) => c.type === `kdb-operator.dev/${type}`)?.status === 'True';
type Summary = { state: string; firstI: number; lastI: number | null; day: string };
const summaryOf = (p: k8s.V1Pod): Summary | undefined => {
  const raw = p.metadata?.annotations?.['kdb-operator.dev/rdb-status'];
  return raw ? (JSON.parse(raw) as Summary) : undefined;
};
const livePod = async () => (await rdbPods()).find((p) => podCondition(p, 'Live'));
const events = async (reason: string) =>
  (await core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === reason && e.involvedObject.name === CLUSTER);
const patchSpec = (patch: object) => kubectl('-n', NS, 'patch', 'kdb', CLUSTER, '--type', 'merge', '-p', JSON.stringify({ spec: patch }));
const describe = async () =>
  [
    `pods: ${(await rdbPods()).map((p) => `${p.metadata?.name} hash=${p.metadata?.annotations?.[SPEC_HASH]} ${JSON.stringify(summaryOf(p))}`).join('; ')}`,
    `status: ${JSON.stringify(await status())}`,
  ].join('\n');

type Feed = { tickerplantDay: string; rows: number; tables: Record<string, { rows: number; checksum: string }> };
const feedArgs = (host: string, rows: number, seed: number, dayMs: number, report: string) =>
  [SIM, 'feed', '--host', host, '--port', '5010', '--rows', String(rows), '--day-ms', String(dayMs), '--seed', String(seed), '--syms', 'AAPL,MSFT', '--report', report];
const feed = async (host: string, rows: number, seed: number, name: string, dayMs = 0): Promise<Feed> => {
  const report = join(outDir, `${name}.json`);
  await run(process.execPath, feedArgs(host, rows, seed, dayMs, report), { maxBuffer: 16 << 20 });
  return JSON.parse(readFileSync(report, 'utf8')) as Feed;
};
/** Checksums are sums mod 2^64 (images/sim/src/checksum.ts): the feeds' add up to the HDB's when every row landed once. */
const addFeeds = (feeds: Feed[]): Record<string, { rows: number; checksum: string }> => {
  const out: Record<string, { rows: number; sum: bigint }> = {};
  for (const f of feeds)
    for (const [t, v] of Object.entries(f.tables)) {
      const o = (out[t] ??= { rows: 0, sum: 0n });
      o.rows += v.rows;
      o.sum = (o.sum + BigInt(v.checksum)) % (1n << 64n);
    }
  return Object.fromEntries(Object.entries(out).map(([t, v]) => [t, { rows: v.rows, checksum: v.sum.toString() }]));
};
const hdbMarker = (day: string) =>
  JSON.parse(readFileSync(join(stackDir(), 'efs', aws.efsFileSystemId, 'kdb', NS, CLUSTER, 'hdb', day, '.complete'), 'utf8')) as {
    tables: Record<string, { rows: number; checksum: string }>;
  };

/** The next instant after `now` whose UTC wall time is `hhmm` plus `plusMinutes`. */
const nextUtcWall = (now: Date, hhmm: string, plusMinutes: number): Date => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m + plusMinutes));
  while (at.getTime() <= now.getTime()) at.setUTCDate(at.getUTCDate() + 1);
  return at;
};

let tpIp: string;
const feeds: Feed[] = [];
let firstLive: string;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await installOperator('kdb-system', [NS]);
  await applyYaml(`apiVersion: kdb-operator.dev/v1alpha1
kind: KdbCluster
metadata: { name: ${CLUSTER}, namespace: ${NS} }
spec:
  tickerplant:
    endOfDay: { time: "${END_OF_DAY}", timeZone: UTC }
  rdbPools: [{ name: ${POOL}, memory: 256Mi, minRdbs: 1, maxRdbs: 3, rollThreshold: 80 }]
  storage: { efs: { fileSystemId: ${aws.efsFileSystemId} } }
`);
  tpIp = await waitFor('the tickerplant pod to be Ready', async () => {
    const p = await core.readNamespacedPod({ name: `${CLUSTER}-tickerplant-0`, namespace: NS }).catch(() => undefined);
    return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status?.podIP : undefined;
  }, 180_000);
  firstLive = (await waitFor('the first RDB to go live', livePod, 180_000)).metadata!.name!;
  feeds.push(await feed(tpIp, 20_000, 11, 'before'));
}, 420_000);

afterAll(async () => {
  await kubectl('-n', NS, 'delete', 'kdb', CLUSTER, '--ignore-not-found', '--wait=false').catch(() => undefined);
  await waitFor(`KdbCluster ${NS}/${CLUSTER} to be deleted`, async () => (await kubectl('-n', NS, 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 180_000).catch(
    () => undefined,
  );
  await kubectl('delete', 'namespace', NS, '--wait=false').catch(() => undefined);
}, 240_000);

test('apply EndOfDay: mid-day a pool change waits for the safe window, says when, and rolls nothing', async () => {
  const oldHash = (await livePod())!.metadata!.annotations![SPEC_HASH];
  await patchSpec({ rdbPools: [{ name: POOL, memory: '256Mi', minRdbs: 1, maxRdbs: 3, rollThreshold: 85 }] });
  // The planner has seen the change once it writes it down as pending: from then on, a rotation would be in the same status.
  const s = await waitFor('the pool change to be pending', async () => {
    const st = await status();
    return st.pendingChanges?.some((p) => p.component === `pool/${POOL}`) ? st : undefined;
  }, 60_000, 250, describe);
  const pending = s.pendingChanges!.find((p) => p.component === `pool/${POOL}`)!;
  // The safe window opens 5 minutes after end of day (safe-moment.ts), in the cluster's time zone (UTC here).
  expect(pending.appliesAt).toBe(nextUtcWall(new Date(), END_OF_DAY, 5).toISOString());
  expect(pending.rdbs).toContain(firstLive);
  expect(condition(s, 'ChangesPending')).toMatchObject({ status: 'True', reason: 'WaitingForSafeMoment' });
  expect(s.pools?.find((p) => p.name === POOL)?.rotation).toBeUndefined();
  expect(await events('LiveRdbRotationRequested')).toEqual([]);
  const live = await livePod();
  expect(live?.metadata?.name).toBe(firstLive);
  expect(live?.metadata?.annotations?.[SPEC_HASH]).toBe(oldHash);
}, 120_000);

test('apply Immediate: the live RDB is rolled onto a queued RDB of the new spec mid-stream; no row lost or doubled', async () => {
  const oldHash = (await livePod())!.metadata!.annotations![SPEC_HASH];
  // A feed runs through the rotation: it publishes for 60 s while the new RDB is created, queued and handed the feed
  // (about 20 s on the stack), so the roll lands mid-stream; the test checks it did.
  const during = join(outDir, 'during.json');
  let feeding: ChildProcess | undefined;
  const duringDone = new Promise<void>((resolve, reject) => {
    feeding = execFile(process.execPath, feedArgs(tpIp, 60_000, 12, 60_000, during), { maxBuffer: 16 << 20 }, (e) => (e ? reject(e) : resolve()));
  });
  try {
    await patchSpec({ updates: { apply: 'Immediate' } });
    const requested = await waitFor('LiveRdbRotationRequested', async () => (await events('LiveRdbRotationRequested'))[0], 180_000, 500, describe);
    expect(requested.message).toContain(firstLive);
    const rotated = await waitFor('LiveRdbRotated', async () => (await events('LiveRdbRotated'))[0], 120_000, 500, describe);
    expect(rotated.message).toContain(firstLive);
    expect({ feedStillPublishing: feeding?.exitCode === null }).toEqual({ feedStillPublishing: true });
    await duringDone;
  } finally {
    if (feeding?.exitCode === null) feeding.kill();
  }
  feeds.push(JSON.parse(readFileSync(during, 'utf8')) as Feed);

  // The old live RDB is a rolled RDB holding (firstI, lastI]; the new one, of the new spec, is live from lastI on.
  const pods = await waitFor('the old RDB rolled and a new one live', async () => {
    const all = await rdbPods();
    const old = all.find((p) => p.metadata?.name === firstLive);
    const next = all.find((p) => podCondition(p, 'Live'));
    return old && podCondition(old, 'Rolled') && summaryOf(old)?.lastI != null && next && next.metadata?.name !== firstLive ? { old, next } : undefined;
  }, 60_000, 250, describe);
  expect(pods.next.metadata?.annotations?.[SPEC_HASH]).not.toBe(oldHash);
  expect(summaryOf(pods.next)?.firstI).toBe(summaryOf(pods.old)?.lastI);
  expect(summaryOf(pods.next)?.day).toBe(feeds[0]!.tickerplantDay);
  await waitFor('the rotation record to be cleared', async () => ((await status()).pools?.find((p) => p.name === POOL)?.rotation === undefined ? true : undefined), 60_000, 250, describe);

  // The new live RDB takes what comes after, and end of day writes the whole day down once.
  feeds.push(await feed(tpIp, 10_000, 13, 'after'));
  const eod = await run(process.execPath, [SIM, 'eod', '--host', tpIp, '--port', '5010']);
  const day = (JSON.parse(eod.stdout) as { day: string }).day;
  expect(feeds.every((f) => f.tickerplantDay === day)).toBe(true);
  await waitFor('the day to be merged', async () => ((await status()).mergedDay === day ? true : undefined), 180_000, 500, describe);
  const want = addFeeds(feeds);
  const hdb = hdbMarker(day).tables;
  for (const [table, v] of Object.entries(want)) expect({ table, ...hdb[table] }).toEqual({ table, rows: v.rows, checksum: v.checksum });

  // The rotated RDB flushed and leaves like any rolled RDB; then every running pod has the spec.
  await waitFor(`${firstLive} to be scaled in`, async () => ((await rdbPods()).every((p) => p.metadata?.name !== firstLive) ? true : undefined), 180_000, 500, describe);
  const settled = await waitFor('ChangesPending False', async () => {
    const st = await status();
    return condition(st, 'ChangesPending')?.status === 'False' ? st : undefined;
  }, 120_000, 500, describe);
  expect(settled.pendingChanges ?? []).toEqual([]);
  const hashes = new Set((await rdbPods()).map((p) => p.metadata?.annotations?.[SPEC_HASH]));
  expect([...hashes]).toEqual([pods.next.metadata?.annotations?.[SPEC_HASH]]);
}, 600_000);
