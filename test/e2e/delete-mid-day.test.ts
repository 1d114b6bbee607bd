import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { autoscaling, motoClientConfig } from '../lib/aws.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws, repoRoot, stackDir } from '../lib/stack.ts';
import { farEndOfDay } from './day-clock.ts';
import { applyYaml, installOperator, kubectl, waitFor } from './trading-day.ts';

// A KdbCluster deleted in the middle of its trading day, under the chart's
// operator: before the resource goes, the day the RDBs hold is written down
// (the tickerplant ends it, every RDB flushes, the merge puts it in the HDB)
// and every RDB server is handed back through the recorded chain. The HDB
// must hold every row the feed published, and the node group must be back to
// what it was before the cluster existed.
const run = promisify(execFile);
const aws = readStackAws();
const NS = 'e2e-delete';
// Unique per run: a cluster re-created under one name shares its HDB and staging folders (see README, section 7).
const CLUSTER = `gone-${Date.now().toString(36).slice(-5)}`;
const GROUP = aws.nodeGroups.rdb.asgName;
const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
const asc = new autoscaling.AutoScalingClient(motoClientConfig());
const outDir = join(repoRoot, 'out/e2e-delete');

type Status = { phase?: string; windDown?: { step: string; day?: string }; rdbCount?: number };
const status = async (): Promise<Status | null> => {
  try {
    const o = (await custom.getNamespacedCustomObject({ group: 'kdb-operator.dev', version: 'v1alpha1', namespace: NS, plural: 'kdbclusters', name: CLUSTER })) as {
      status?: Status;
    };
    return o.status ?? {};
  } catch (e) {
    if ((e as { code?: number }).code === 404) return null;
    throw e;
  }
};

/** What the cluster may change of its node group, and must give back. */
const groupState = async () => {
  const g = (await asc.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }))).AutoScalingGroups?.[0];
  const staying = (g?.Instances ?? []).filter((i) => !i.LifecycleState?.startsWith('Terminat'));
  return {
    desired: g?.DesiredCapacity,
    protectedInstances: staying.filter((i) => i.ProtectedFromScaleIn).map((i) => i.InstanceId).sort(),
    owner: (g?.Tags ?? []).find((t) => t.Key === 'kdb-operator.dev/owner')?.Value,
  };
};

const rdbPods = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: `kdb-operator.dev/cluster=${CLUSTER},kdb-operator.dev/role=rdb` })).items;
const holdsRows = (p: k8s.V1Pod): boolean => {
  const s = p.metadata?.annotations?.['kdb-operator.dev/rdb-status'];
  try {
    return ((JSON.parse(s ?? '{}') as { rows?: number }).rows ?? 0) > 0;
  } catch {
    return false;
  }
};

let before: Awaited<ReturnType<typeof groupState>>;
let feed: { tickerplantDay: string; rows: number; tables: Record<string, { rows: number; checksum: string }> };
const steps = new Set<string>();
let rdbsAtDeletion: string[] = [];

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await installOperator('kdb-system', [NS]);
  before = await groupState();
  await applyYaml(`apiVersion: kdb-operator.dev/v1alpha1
kind: KdbCluster
metadata: { name: ${CLUSTER}, namespace: ${NS} }
spec:
  tickerplant:
    endOfDay: { time: "${farEndOfDay(new Date())}", timeZone: UTC }
  rdbPools: [{ name: main, memory: 256Mi, scaleThreshold: 40, rollThreshold: 50, minRdbs: 1, maxRdbs: 6 }]
  storage: { efs: { fileSystemId: ${aws.efsFileSystemId} } }
`);
  const tpIp = await waitFor('the tickerplant pod to be Ready', async () => {
    const p = await core.readNamespacedPod({ name: `${CLUSTER}-tickerplant-0`, namespace: NS }).catch(() => undefined);
    return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status?.podIP : undefined;
  }, 180_000);
  await waitFor('the first RDB to go live', async () =>
    (await rdbPods()).some((p) => p.status?.conditions?.some((c) => c.type === 'kdb-operator.dev/Live' && c.status === 'True')), 180_000);
  const report = join(outDir, 'feed-report.json');
  await run(process.execPath, [join(repoRoot, 'images/sim/src/main.ts'), 'feed', '--host', tpIp, '--port', '5010', '--rows', '300000', '--day-ms', '20000',
    '--seed', '11', '--syms', 'AAPL,MSFT,IBM', '--report', report], { maxBuffer: 16 << 20 });
  feed = JSON.parse(readFileSync(report, 'utf8')) as typeof feed;
  // Mid-day: at least one RDB still holds rows of the day when the delete comes.
  await waitFor('an RDB to report rows of the day', async () => (await rdbPods()).some(holdsRows), 60_000);
  rdbsAtDeletion = (await rdbPods()).map((p) => p.metadata?.name ?? '');
  await kubectl('-n', NS, 'delete', 'kdb', CLUSTER, '--wait=false');
  await waitFor('the KdbCluster to be gone', async () => {
    const s = await status();
    if (s?.windDown?.step) steps.add(s.windDown.step);
    return s === null;
  }, 300_000, 200);
}, 600_000);

afterAll(async () => {
  await kubectl('delete', 'namespace', NS, '--wait=false').catch(() => undefined);
  asc.destroy();
});

test('the day went through the write-down before any server was handed back', async () => {
  expect(rdbsAtDeletion.length).toBeGreaterThanOrEqual(1);
  expect(steps.has('WritingDown') || steps.has('ScalingIn')).toBe(true);
  const events = (await core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.involvedObject.name === CLUSTER);
  const reasons = events.map((e) => e.reason);
  expect(reasons).toContain('DeletionStarted');
  expect(reasons).toContain('DayMerged');
  for (const rdb of rdbsAtDeletion) {
    // Every RDB left through the chain (or, never placed, was deleted holding nothing).
    expect(events.some((e) => (e.reason === 'ScaledIn' || e.reason === 'ScaleInStarted') && e.message?.includes(rdb))).toBe(true);
  }
  expect(reasons).not.toContain('ScaleInAborted');
});

test('the HDB holds every row the feed published in that day', () => {
  const marker = JSON.parse(
    readFileSync(join(stackDir(), 'efs', aws.efsFileSystemId, 'kdb', NS, CLUSTER, 'hdb', feed.tickerplantDay, '.complete'), 'utf8'),
  ) as { tables: Record<string, { rows: number; checksum: string }> };
  for (const [table, t] of Object.entries(feed.tables)) expect({ table, ...marker.tables[table] }).toEqual({ table, rows: t.rows, checksum: t.checksum });
});

test("the node group is back to what it was before the cluster existed, and no one's claim is on it", async () => {
  const after = await waitFor('the terminated instances to leave the group', async () => {
    const g = await groupState();
    return g.desired === before.desired ? g : undefined;
  }, 60_000);
  expect(after).toEqual({ ...before, owner: undefined });
  expect(await rdbPods()).toEqual([]);
});
