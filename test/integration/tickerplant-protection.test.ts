import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { V1Job, V1Pod, V1PodSpec, V1StatefulSet } from '../../operator/src/kube/index.ts';
import { mergeJob } from '../../operator/src/specs/merge-job.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { tickerplantPodDisruptionBudget, tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';
import { binDir } from '../e2e/trading-day.ts';
import { k8s } from '../lib/kube.ts';
import { readStackAws, repoRoot } from '../lib/stack.ts';
import { apps, code, core, createNamespace, deleteNamespace, kc, waitFor } from './nodesim-env.ts';

// The chart's PriorityClasses and the operator's tickerplant PodDisruptionBudget
// on the real API server: the Priority admission plugin resolves each pod's
// class to its value (so the class exists and the pod names it), and the
// controller-manager's disruption controller counts the tickerplant pod under
// the budget. Class names carry a suffix: PriorityClasses are cluster-wide and
// the shared stack's own chart install may have made the plain ones.
const run = promisify(execFile);
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const names = { tickerplant: `kdb-tickerplant-${suffix}`, rdb: `kdb-rdb-${suffix}`, merge: `kdb-merge-${suffix}`, query: `kdb-query-${suffix}` };
const scheduling = kc.makeApiClient(k8s.SchedulingV1Api);
const policy = kc.makeApiClient(k8s.PolicyV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
let ns = '';

type Doc = { kind: string; metadata: { name: string }; value: number; preemptionPolicy?: string };
const chartPriorityClasses = async (): Promise<Doc[]> => {
  const out = (
    await run(join(await binDir(), 'helm'), [
      'template', 'kdb-operator', join(repoRoot, 'charts/kdb-operator'), '--show-only', 'templates/priorityclasses.yaml',
      ...Object.entries(names).flatMap(([role, name]) => ['--set', `priorityClasses.${role}.name=${name}`]),
    ])
  ).stdout;
  return parseAllDocuments(out).map((d) => d.toJSON() as Doc).filter(Boolean);
};

const clusterIn = (namespace: string) =>
  KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace, uid: '00000000-0000-0000-0000-0000000000b1' },
    spec: { rdbPools: [{ name: 'main', memory: '256Mi' }], storage: { efs: { fileSystemId: readStackAws().efsFileSystemId } } },
  });

// The owner is not created here (a KdbCluster would be reconciled by any operator on the shared stack): owner references dropped.
const withoutOwner = <T extends { metadata?: object }>(o: T): T => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } });
const podOf = (name: string, template: { metadata?: { labels?: Record<string, string> }; spec?: V1PodSpec }): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: template.metadata?.labels ?? {} },
  spec: template.spec!,
});

beforeAll(async () => {
  ns = await createNamespace('tp-protection');
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'kdb-rdb-agent' } } });
  for (const pc of await chartPriorityClasses()) await scheduling.createPriorityClass({ body: pc as unknown as k8s.V1PriorityClass });
}, 60_000);
afterAll(async () => {
  await deleteNamespace(ns);
  for (const name of Object.values(names)) await scheduling.deletePriorityClass({ name }).catch(() => undefined);
}, 90_000);

describe('the tickerplant is protected from the merge on the real API server', () => {
  test("the chart's classes rank the tickerplant and the RDBs above the merge, which never preempts", async () => {
    const got = await Promise.all(Object.values(names).map((name) => scheduling.readPriorityClass({ name })));
    expect(got.map((c) => c.value)).toEqual([1000000, 900000, 1000, 100000]);
    expect(got.map((c) => c.preemptionPolicy)).toEqual(['PreemptLowerPriority', 'PreemptLowerPriority', 'Never', 'PreemptLowerPriority']);
    expect(got.every((c) => c.globalDefault !== true)).toBe(true);
  });

  test('the tickerplant, RDB and merge pods the operator builds are admitted with their classes resolved to the priorities', async () => {
    const cluster = clusterIn(ns);
    const sts = withoutOwner(tickerplantStatefulSet(cluster, names)) as V1StatefulSet;
    await apps.createNamespacedStatefulSet({ namespace: ns, body: sts as k8s.V1StatefulSet });
    await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: withoutOwner(tickerplantPodDisruptionBudget(cluster)) as k8s.V1PodDisruptionBudget });
    const job = withoutOwner(mergeJob(cluster, '2026-12-01', 'markets-merge-2026-12-01', names.merge)) as V1Job;
    await batch.createNamespacedJob({ namespace: ns, body: job as k8s.V1Job });
    const rdb = await core.createNamespacedPod({
      namespace: ns,
      body: withoutOwner(rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'kdb-rdb-agent', priorityClassName: names.rdb })) as k8s.V1Pod,
    });
    expect([rdb.spec?.priorityClassName, rdb.spec?.priority]).toEqual([names.rdb, 900000]);

    const tp = await waitFor('the StatefulSet controller to create the tickerplant pod', () => core.readNamespacedPod({ namespace: ns, name: 'markets-tickerplant-0' }), 60_000);
    expect([tp.spec?.priorityClassName, tp.spec?.priority]).toEqual([names.tickerplant, 1000000]);
    expect(tp.spec?.containers[0]?.resources?.requests).toEqual({ memory: '1Gi', cpu: '500m' });

    const mergePod = await waitFor('the Job controller to create the merge pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=markets-merge-2026-12-01' });
      return pods.items[0];
    }, 60_000);
    expect([mergePod.spec?.priorityClassName, mergePod.spec?.priority, mergePod.spec?.preemptionPolicy]).toEqual([names.merge, 1000, 'Never']);
    expect(mergePod.spec?.containers[0]?.resources?.limits).toEqual({ memory: '2Gi' });

    // The disruption controller finds the tickerplant pod under the budget and allows no eviction of it.
    const pdb = await waitFor('the disruption controller to count the tickerplant pod', async () => {
      const p = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'markets-tickerplant' });
      return p.status?.expectedPods === 1 ? p : undefined;
    }, 60_000);
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(pdb.status?.disruptionsAllowed).toBe(0);
  }, 180_000);

  test('a pod naming a class that does not exist is refused, which is why an empty name sets none', async () => {
    const cluster = clusterIn(ns);
    const spec = tickerplantStatefulSet(cluster, { tickerplant: `kdb-absent-${suffix}` }).spec!.template;
    let refused: number | undefined;
    try {
      await core.createNamespacedPod({ namespace: ns, body: podOf('absent-class', spec) as k8s.V1Pod, dryRun: 'All' });
    } catch (e) {
      refused = code(e);
    }
    expect(refused).toBe(403);
    const none = tickerplantStatefulSet(cluster, { tickerplant: '' }).spec!.template;
    const admitted = await core.createNamespacedPod({ namespace: ns, body: podOf('no-class', none) as k8s.V1Pod, dryRun: 'All' });
    expect(admitted.spec?.priorityClassName).toBeUndefined();
    expect(admitted.spec?.priority).toBe(0);
  });
});
