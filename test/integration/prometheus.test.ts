// A real Prometheus (Debian's package, test/stack/prometheus.sh) scraping the
// operator while it runs a KdbCluster on the local stack: the target is up,
// PromQL answers about the running cluster agree with its status and its ASG,
// every dashboard expression is accepted and the operator's panels have data,
// the cluster's tickerplant pod is scraped on its `metrics` port, and a
// deleted cluster's series go stale (no line left on a dashboard).
//
// The operator scraped is the chart-installed one when it runs (the e2e tests
// leave it installed; it reconciles every namespace, so it would reconcile
// this test's cluster anyway), else one run in this process as operator.ts
// builds it, for this namespace only. The cluster gets a node group of its
// own: it never touches another test's servers.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Aws } from '../../operator/src/aws/index.ts';
import { kdbClusterController } from '../../operator/src/controllers/kdbcluster/index.ts';
import type { KubeClient, KubeObject, V1Pod } from '../../operator/src/kube/index.ts';
import { Resources } from '../../operator/src/kube/index.ts';
import { startHealthServer, type HealthServer } from '../../operator/src/runtime/http.ts';
import { createMetrics } from '../../operator/src/runtime/metrics.ts';
import { TICKERPLANT_METRICS_PORT } from '../../operator/src/specs/tickerplant.ts';
import { dashboardExprs, metricNamesOf, type Dashboard } from '../lib/promql-names.ts';
import { Prometheus, type PromVector } from '../lib/prometheus.ts';
import { repoRoot } from '../lib/stack.ts';
import { awsTestEnv, createTestGroup, deleteTestGroup, operatorAws, rawGroup, type AwsTestEnv } from './aws-env.ts';
import { stackClient, testLogger, waitFor } from './runtime-env.ts';

const run = Date.now().toString(36);
const ns = `prom-${run}`;
const name = 'watched';
const nodeGroup = `ng-prom-${run}`;

type Status = {
  phase?: string;
  pools?: { name: string; live?: string; desiredCapacity?: number; rdbs: { name: string; state: string; memoryPercent?: number }[] }[];
};

let env: AwsTestEnv;
let aws: Aws | undefined;
let kube: KubeClient;
let http: HealthServer;
let prom: Prometheus;
let stopController: (() => Promise<void>) | undefined;
let group = '';

const kdb = () => kube.api.get<KubeObject & { status?: Status }>({ ...Resources.KdbCluster, namespace: ns, name });
const sel = `namespace="${ns}", cluster="${name}"`;
/** The one sample of an instant query, as a number; undefined when the query finds nothing. */
const scalar = async (expr: string): Promise<number | undefined> => {
  const r = await prom.query(expr);
  if (r.length > 1) throw new Error(`${expr}: ${r.length} series`);
  return r[0] === undefined ? undefined : Number(r[0].value[1]);
};

/** The agent beside each RDB reads and patches its own pod (the chart's agent-rbac.yaml, for this namespace). */
const agentRbac = (): KubeObject[] => [
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kdb-rdb-agent', namespace: ns } },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'kdb-rdb-agent', namespace: ns },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
    ],
  } as KubeObject,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'kdb-rdb-agent', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kdb-rdb-agent' },
    subjects: [{ kind: 'ServiceAccount', name: 'kdb-rdb-agent', namespace: ns }],
  } as KubeObject,
];

beforeAll(async () => {
  env = await awsTestEnv();
  kube = stackClient();
  const crd = parse(readFileSync(join(repoRoot, 'crds/kdbclusters.kdb-operator.dev.yaml'), 'utf8')) as KubeObject;
  await kube.api.apply(crd);
  await waitFor('the KdbCluster CRD to be served', async () => {
    const c = await kube.api.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata?.name ?? '' });
    return c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
  }, 30_000);
  await kube.api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (const o of agentRbac()) await kube.api.create(o);
  // This test's own RDB node group: an EKS-style ASG of the stack's EKS cluster (so whichever operator runs finds
  // it), which the node simulator makes nodes for; empty until the cluster asks.
  group = await createTestGroup(env, { desired: 0, tags: { 'eks:cluster-name': env.stack!.clusterName, 'eks:nodegroup-name': nodeGroup } });

  // The operator Prometheus scrapes. A chart-installed one (the e2e tests leave it) reconciles every namespace,
  // this one's too: then it is the one scraped, as a pod on the stack (both replicas; the leader has the gauges).
  // Otherwise what operator.ts runs, here in-process for this namespace only: one metrics registry shared by the
  // controller and the HTTP server.
  // The operator's pods are those serving a `metrics` port: the chart's label is also on its `helm test` pod.
  const metricsPort = (p: V1Pod) => p.spec?.containers.flatMap((c) => c.ports ?? []).find((x) => x.name === 'metrics')?.containerPort;
  const chart = (await kube.api.list<V1Pod>(Resources.Pod, { labelSelector: 'app.kubernetes.io/name=kdb-operator' })).items.filter(
    (p) => p.status?.phase === 'Running' && p.status.podIP && !p.metadata?.deletionTimestamp && metricsPort(p) !== undefined,
  );
  let targets: string[];
  if (chart.length > 0) {
    targets = chart.map((p) => `${p.status!.podIP}:${metricsPort(p)!}`);
    process.stdout.write(`scraping the chart's operator pods: ${targets.join(', ')}\n`);
  } else {
    const metrics = createMetrics({ defaultMetrics: true });
    ({ aws } = operatorAws(env, { observer: { onCall: (e) => metrics.awsCallsTotal.inc({ operation: e.operation, outcome: e.outcome }) } }));
    const { controller, informers } = kdbClusterController({ kube, aws, log: testLogger(), metrics, agentServiceAccount: 'kdb-rdb-agent', eksClusterName: env.stack!.clusterName, clusterNamespace: ns });
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync()));
    controller.start();
    stopController = async () => {
      await controller.stop(20_000);
      await Promise.all(informers.map((i) => i.stop()));
    };
    http = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry });
    targets = [`127.0.0.1:${http.port()}`];
    process.stdout.write(`no chart-installed operator: scraping one run in-process on ${targets[0]}\n`);
  }
  // honorLabels as the chart's ServiceMonitor sets it: the gauges' namespace label is the KdbCluster's.
  prom = await Prometheus.start([
    { job: 'kdb-operator', targets, honorLabels: true, labels: { namespace: 'kdb-system' } },
    { job: 'kdb-tickerplants', targets: [] },
  ]);
}, 120_000);

afterAll(async () => {
  // A cluster left behind (a failed test) is deleted while its operator and node group are still there, so its
  // wind-down can finish; one still there after that must not hold its namespace up once we are gone.
  if (await kdb().catch(() => undefined)) {
    await kube.api.delete({ ...Resources.KdbCluster, namespace: ns, name }).catch(() => undefined);
    await waitFor('the left-behind cluster to go', async () => (await kdb().catch(() => undefined)) === undefined, 120_000, 500).catch(() => undefined);
    await kube.api.mergePatch({ ...Resources.KdbCluster, namespace: ns, name }, { metadata: { finalizers: null } }).catch(() => undefined);
  }
  await stopController?.();
  await prom?.stop();
  await http?.close();
  await kube?.api.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  await kube?.api.delete({ ...Resources.PersistentVolume, name: `kdb-${ns}-${name}-efs` }).catch(() => undefined);
  if (group) await deleteTestGroup(env, group);
  aws?.destroy();
  env?.destroy();
}, 240_000);

describe('Prometheus scraping the operator on the stack', () => {
  test('the operator target is up within seconds', async () => {
    const ups = await waitFor('every operator target up', async () => {
      const ts = (await prom.targets()).filter((x) => x.labels.job === 'kdb-operator');
      return ts.length > 0 && ts.every((x) => x.health === 'up') ? ts : undefined;
    }, 30_000, 250);
    expect(ups.map((t) => t.lastError)).toEqual(ups.map(() => ''));
  }, 60_000);

  test('PromQL about the running cluster agrees with its status and its ASG', async () => {
    await kube.api.create({
      apiVersion: 'kdb-operator.dev/v1alpha1',
      kind: 'KdbCluster',
      metadata: { name, namespace: ns },
      spec: {
        rdbPools: [{ name: 'main', nodeGroup, memory: '256Mi', minRdbs: 1, maxRdbs: 2 }],
        storage: { efs: { fileSystemId: env.stack!.efsFileSystemId } },
      },
    });
    const status = await waitFor('a live RDB in status', async () => {
      const s = (await kdb())?.status;
      return s?.pools?.[0]?.live !== undefined ? s : undefined;
    }, 240_000, 500).catch(async (e: Error) => {
      throw new Error(`${e.message}; status now: ${JSON.stringify((await kdb())?.status)}`);
    });
    process.stdout.write(`cluster running: phase ${status.phase}, live ${status.pools![0]!.live}\n`);

    // Prometheus's answer (scraped every second) agrees with what the API server and moto say at the same moment.
    let seen = '';
    const agreed = await waitFor('PromQL to agree with status', async () => {
      const s = (await kdb())?.status;
      const pool = s?.pools?.[0];
      if (!pool) return undefined;
      const live = await scalar(`kdb_operator_pool_rdbs{${sel}, pool="main", state="live"}`);
      const all = await scalar(`sum(kdb_operator_pool_rdbs{${sel}, pool="main"})`);
      const desired = await scalar(`kdb_operator_pool_desired_capacity{${sel}, pool="main"}`);
      const asgDesired = (await rawGroup(env, group)).DesiredCapacity;
      const phase = (await prom.query(`kdb_operator_cluster_phase{${sel}} == 1`)).map((v: PromVector) => v.metric.phase);
      seen = JSON.stringify({ promql: { live, all, desired, phase }, status: { rdbs: pool.rdbs.map((r) => r.state), desired: pool.desiredCapacity, phase: s!.phase }, asgDesired });
      const same =
        live === pool.rdbs.filter((r) => r.state === 'live').length &&
        all === pool.rdbs.length &&
        desired === pool.desiredCapacity &&
        desired === asgDesired &&
        phase.length === 1 &&
        phase[0] === s!.phase;
      return same ? { live, all, desired, phase: phase[0], memory: pool.rdbs.find((r) => r.name === pool.live)?.memoryPercent } : undefined;
    }, 60_000, 500).catch((e: Error) => {
      throw new Error(`${e.message}; last seen ${seen}`);
    });
    process.stdout.write(`PromQL: kdb_operator_pool_rdbs{state="live"} = ${agreed.live}, sum = ${agreed.all}, desired capacity = ${agreed.desired}, phase ${agreed.phase}\n`);
    expect(agreed.live).toBe(1);
    expect(agreed.desired).toBeGreaterThanOrEqual(1);
    // The series carry the cluster's namespace, not the scrape target's (kdb-system): what honorLabels is for.
    expect((await prom.query(`kdb_operator_pool_rdbs{namespace="kdb-system", cluster="${name}"}`)).length).toBe(0);
    if (agreed.memory !== undefined) {
      await waitFor('live memory to agree', async () => {
        const pool = (await kdb())?.status?.pools?.[0];
        const percent = pool?.rdbs.find((r) => r.name === pool.live)?.memoryPercent;
        return percent !== undefined && (await scalar(`kdb_operator_pool_live_memory_percent{${sel}, pool="main"}`)) === percent;
      }, 30_000, 500);
    }
    // The scale-out that gave the live RDB its server was stamped, and it is in the past.
    const ago = await scalar(`time() - kdb_operator_pool_last_scale_event_timestamp_seconds{${sel}, pool="main", direction="out"}`);
    expect(ago).toBeGreaterThanOrEqual(0);
    expect(ago).toBeLessThan(600);
  }, 360_000);

  test('every dashboard expression is accepted, and every panel on operator metrics has data', async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/kdb-operator-dashboard.json'), 'utf8')) as Dashboard;
    const vars = (e: string) =>
      e.replaceAll('$namespace', ns).replaceAll('$cluster', name).replaceAll('$pool', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h');
    const empty: string[] = [];
    for (const { where, expr } of dashboardExprs(dashboard)) {
      const r = await prom.query(vars(expr)); // throws on a refused expression
      const ours = metricNamesOf(expr).every((m) => m.startsWith('kdb_operator_'));
      // Panels on things this run does not have: predictive pools, tickerplant metrics (checked below), reaction histogram of scale-in.
      const optional = /cushion|seconds_to_roll|lead_time|kdb_tickerplant_|condition|reaction/.test(expr);
      if (ours && !optional && r.length === 0) empty.push(`${where}: ${expr}`);
    }
    expect(empty).toEqual([]);
  }, 120_000);

  test("the cluster's tickerplant pod is scraped on its metrics port", async () => {
    const pod = await waitFor('the tickerplant pod with an IP', async () => {
      const pods = (await kube.api.list<V1Pod>(Resources.Pod, { namespace: ns, labelSelector: 'kdb-operator.dev/role=tickerplant' })).items;
      return pods.find((p) => p.status?.podIP && p.status.phase === 'Running');
    }, 60_000, 500);
    const port = pod.spec!.containers[0]!.ports!.find((p) => p.name === 'metrics')?.containerPort;
    expect(port).toBe(TICKERPLANT_METRICS_PORT);
    // What the chart's PodMonitor does: the pod's metrics port, its cluster label as `cluster`.
    prom.setTargets('kdb-tickerplants', [`${pod.status!.podIP}:${port}`], { namespace: ns, cluster: name });
    const t = await waitFor('the tickerplant target to be scraped', async () => (await prom.targets()).find((x) => x.labels.job === 'kdb-tickerplants' && x.health !== 'unknown'), 30_000, 250);
    expect([t.health, t.lastError]).toEqual(['up', '']);
    // The pool's live RDB is live in the tickerplant's own subscriber table too.
    await waitFor('one live subscriber', async () => (await scalar(`sum(kdb_tickerplant_subscribers{${sel}, pool="main", state="live"})`)) === 1, 30_000, 500);
    // A rate needs two samples in its range: wait for the second scrape.
    expect(await waitFor('a message rate', async () => scalar(`rate(kdb_tickerplant_messages_total{${sel}}[1m])`), 30_000, 500)).toBeGreaterThanOrEqual(0);
    expect(await scalar(`kdb_tickerplant_log_bytes{${sel}}`)).toBeGreaterThan(0);
  }, 120_000);

  test("deleting the cluster removes its series: Prometheus shows none of them any more", async () => {
    expect((await prom.query(`{__name__=~"kdb_operator_(pool|cluster)_.*", ${sel}}`)).length).toBeGreaterThan(0);
    await kube.api.delete({ ...Resources.KdbCluster, namespace: ns, name });
    // The finalizer winds the cluster down first (the day written down, every server handed back).
    await waitFor('the cluster to be gone (finalizer done)', async () => (await kdb()) === undefined, 300_000, 500);
    // Series the target stops exposing are marked stale at the next scrape: an instant query finds none.
    await waitFor('no series of the deleted cluster', async () => (await prom.query(`{__name__=~"kdb_operator_(pool|cluster)_.*", ${sel}}`)).length === 0, 30_000, 500);
  }, 360_000);
});
