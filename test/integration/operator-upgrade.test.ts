import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws, repoRoot, stackDir } from '../lib/stack.ts';
import { farEndOfDay } from '../e2e/day-clock.ts';
import { applyYaml, binDir, installOperator, kubectl, waitFor } from '../e2e/trading-day.ts';
import { ANNOTATION } from '../../operator/src/specs/names.ts';

// Upgrading the operator never restarts a data-plane pod (issue 13, item 1):
// the chart is installed as the e2e installs it (release kdb-operator in
// kdb-system, so no second operator reconciles the same clusters), a
// KdbCluster runs a tickerplant and a live RDB, then `helm upgrade` changes
// an operator value (its log level: new operator pods, same code). Once the
// new pods have reconciled a new generation of the cluster, every
// tickerplant and RDB pod is the one that ran before (same uid, not
// terminating) and the tickerplant StatefulSet's template was not rewritten.
const run = promisify(execFile);
jest.setTimeout(600_000);

const KDB = { group: 'kdb-operator.dev', version: 'v1alpha1', plural: 'kdbclusters' } as const;
const OPERATOR_NS = 'kdb-system';
const RELEASE = 'kdb-operator';
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const ns = `upgrade-${suffix}`;
const name = 'upgrade';

const helm = async (...args: string[]) =>
  (await run(join(await binDir(), 'helm'), ['--kubeconfig', join(stackDir(), 'kubeconfig'), ...args], { maxBuffer: 16 << 20 })).stdout;

interface ClusterStatus {
  observedGeneration?: number;
  pools?: { live?: string }[];
}
interface ClusterObject {
  metadata: { generation?: number };
  status?: ClusterStatus;
}

let core: k8s.CoreV1Api, apps: k8s.AppsV1Api, custom: k8s.CustomObjectsApi;

const readCluster = async (): Promise<ClusterObject> =>
  (await custom.getNamespacedCustomObject({ ...KDB, namespace: ns, name })) as ClusterObject;

const dataPlanePods = async (): Promise<k8s.V1Pod[]> =>
  (await core.listNamespacedPod({ namespace: ns, labelSelector: `kdb-operator.dev/cluster=${name}` })).items.filter((p) =>
    ['tickerplant', 'rdb'].includes(p.metadata?.labels?.['kdb-operator.dev/role'] ?? ''),
  );

const operatorPods = async (): Promise<k8s.V1Pod[]> =>
  // The chart's selector labels: its helm test pod is named kdb-operator-test and is not counted.
  (await core.listNamespacedPod({ namespace: OPERATOR_NS, labelSelector: `app.kubernetes.io/name=kdb-operator,app.kubernetes.io/instance=${RELEASE}` })).items;

const isReady = (p: k8s.V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

beforeAll(async () => {
  const kc = adminKubeConfig();
  [core, apps, custom] = [kc.makeApiClient(k8s.CoreV1Api), kc.makeApiClient(k8s.AppsV1Api), kc.makeApiClient(k8s.CustomObjectsApi)];
  await installOperator(OPERATOR_NS, [ns]);
  const aws = readStackAws();
  await applyYaml(`apiVersion: ${KDB.group}/${KDB.version}
kind: KdbCluster
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  tickerplant:
    endOfDay: { time: "${farEndOfDay(new Date())}", timeZone: UTC }
  rdbPools:
    - name: main
      memory: 256Mi
      minRdbs: 1
      maxRdbs: 2
  storage:
    efs:
      fileSystemId: ${aws.efsFileSystemId}
`);
}, 300_000);

afterAll(async () => {
  if (!core) return;
  await kubectl('-n', ns, 'delete', 'kdbcluster', name, '--wait=true', '--timeout=180s').catch(() => undefined);
  await kubectl('delete', 'namespace', ns, '--wait=false').catch(() => undefined);
  // The chart's operator watches every namespace: left running it would reconcile the next test's clusters.
  await helm('uninstall', 'kdb-operator', '-n', OPERATOR_NS, '--wait', '--timeout', '60s').catch(() => undefined);
}, 300_000);

test('helm upgrade of the operator keeps every tickerplant and RDB pod (same uid)', async () => {
  // A running data plane: the tickerplant Ready and a live RDB.
  await waitFor('a live RDB', async () => (await readCluster()).status?.pools?.[0]?.live, 240_000, 1_000);
  await waitFor('the tickerplant pod Ready', async () => (await dataPlanePods()).some((p) => p.metadata?.labels?.['kdb-operator.dev/role'] === 'tickerplant' && isReady(p)), 120_000, 1_000);
  const before = new Map((await dataPlanePods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  expect([...before.keys()].some((n) => n.includes('-rdb-'))).toBe(true);
  const stsBefore = await apps.readNamespacedStatefulSet({ name: `${name}-tickerplant`, namespace: ns });
  expect(stsBefore.metadata?.annotations?.[ANNOTATION.specHash]).toMatch(/^[0-9a-f]{16}$/);
  const oldOperators = new Set((await operatorPods()).map((p) => p.metadata!.uid!));
  expect(oldOperators.size).toBeGreaterThan(0);

  // A changed operator value: new operator pods with the same code. installOperator set debug.
  await helm('upgrade', RELEASE, join(repoRoot, 'charts/kdb-operator'), '-n', OPERATOR_NS, '--reuse-values', '--set', 'logLevel=info', '--wait', '--timeout', '240s');
  await waitFor(
    'only new operator pods, all Ready',
    async () => {
      const pods = await operatorPods();
      return pods.length > 0 && pods.every((p) => !oldOperators.has(p.metadata!.uid!) && isReady(p) && !p.metadata?.deletionTimestamp);
    },
    240_000,
    1_000,
  );

  // A new generation only a new operator can observe: maxRdbs is in no pod template.
  // A JSON patch of the one field: a merge patch would replace the whole rdbPools list.
  await custom.patchNamespacedCustomObject(
    { ...KDB, namespace: ns, name, body: [{ op: 'replace', path: '/spec/rdbPools/0/maxRdbs', value: 3 }] },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );
  const generation = (await readCluster()).metadata.generation!;
  await waitFor('the new operator to reconcile the new generation', async () => ((await readCluster()).status?.observedGeneration ?? 0) >= generation, 180_000, 1_000);
  // And one more full pass after it, so whatever that pass planned has been carried out.
  await waitFor('a further reconcile to see the data plane', async () => (await readCluster()).status?.pools?.[0]?.live, 60_000, 1_000);

  const after = new Map((await dataPlanePods()).map((p) => [p.metadata!.name!, p]));
  for (const [pod, uid] of before) {
    const now = after.get(pod);
    expect({ pod, uid: now?.metadata?.uid, terminating: now?.metadata?.deletionTimestamp !== undefined }).toEqual({ pod, uid, terminating: false });
  }
  // The StatefulSet was re-applied for the new generation with the template it had: no rollout.
  const stsAfter = await apps.readNamespacedStatefulSet({ name: `${name}-tickerplant`, namespace: ns });
  expect(stsAfter.metadata?.generation).toBe(stsBefore.metadata?.generation);
  expect(stsAfter.metadata?.annotations?.[ANNOTATION.specHash]).toBe(stsBefore.metadata?.annotations?.[ANNOTATION.specHash]);
  expect(stsAfter.status?.updateRevision).toBe(stsBefore.status?.updateRevision);
});
