import { clearFaults, setFaults } from '../lib/faults.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws } from '../lib/stack.ts';
import { applyYaml, installOperator, kubectl, waitFor } from './trading-day.ts';

// AWS goes away under a running cluster: the operator keeps reconciling
// Kubernetes (a lost RDB is replaced), says so in a condition and an Event,
// and clears both when AWS answers again. The pool runs on the system node
// group so that the trading-day test's RDB group is left alone.
const ns = 'aws-outage';
const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);

const condition = async (type: string): Promise<string | undefined> => {
  const obj = (await custom.getNamespacedCustomObject({ group: 'kdb-operator.dev', version: 'v1alpha1', namespace: ns, plural: 'kdbclusters', name: 'outage' })) as {
    status?: { conditions?: { type: string; status: string }[] };
  };
  return obj.status?.conditions?.find((c) => c.type === type)?.status;
};
let live = '';

beforeAll(async () => {
  await installOperator('kdb-system', [ns]);
  await applyYaml(`apiVersion: kdb-operator.dev/v1alpha1
kind: KdbCluster
metadata: { name: outage, namespace: ${ns} }
spec:
  rdbPools: [{ name: main, nodeGroup: system, memory: 256Mi }]
  storage: { efs: { fileSystemId: ${readStackAws().efsFileSystemId} } }
`);
  live = await waitFor('an RDB to go live', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'kdb-operator.dev/role=rdb' });
    return pods.items.find((p) => p.status?.conditions?.some((c) => c.type === 'kdb-operator.dev/Live' && c.status === 'True'))?.metadata?.name;
  }, 180_000);
}, 240_000);

afterAll(async () => {
  await clearFaults();
  // The cluster winds down first (its finalizer hands the servers back), then its namespace goes.
  await kubectl('-n', ns, 'delete', 'kdb', 'outage', '--ignore-not-found', '--wait=false').catch(() => undefined);
  await waitFor(`KdbCluster ${ns}/outage to be deleted`, async () => (await kubectl('-n', ns, 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 180_000).catch(() => undefined);
  await kubectl('delete', 'namespace', ns, '--wait=false');
}, 240_000);

test('a lost RDB is replaced while AWS is down; AwsUnavailable comes and goes', async () => {
  await setFaults({ errorRate: 1, services: ['autoscaling'] });
  await kubectl('-n', ns, 'delete', 'pod', live, '--grace-period=0', '--force');

  // Kubernetes work goes on: a replacement that replays the lost window, and a
  // new live RDB (minRdbs) on the node the lost one left.
  const replacement = await waitFor('a replacement RDB pod', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'kdb-operator.dev/role=rdb' });
    return pods.items.find((p) => p.metadata?.annotations?.['kdb-operator.dev/replaces'] === live)?.metadata?.name;
  }, 150_000);
  await waitFor('a new live RDB while AWS is down', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'kdb-operator.dev/role=rdb' });
    return pods.items.some((p) => p.metadata?.name !== live && p.status?.conditions?.some((c) => c.type === 'kdb-operator.dev/Live' && c.status === 'True'));
  }, 150_000);
  await waitFor('AwsUnavailable True', async () => (await condition('AwsUnavailable')) === 'True', 150_000);
  const events = await core.listNamespacedEvent({ namespace: ns });
  expect(events.items.some((e) => e.reason === 'AwsUnavailable' && e.type === 'Warning')).toBe(true);
  // The replacement needs a new server: that waits for AWS.
  expect((await core.readNamespacedPod({ name: replacement, namespace: ns })).spec?.nodeName).toBeUndefined();

  await clearFaults();
  await waitFor('AwsUnavailable False once AWS answers', async () => (await condition('AwsUnavailable')) === 'False', 150_000);
  await waitFor('the replacement to run on the server bought once AWS answered', async () =>
    (await core.readNamespacedPod({ name: replacement, namespace: ns })).status?.phase === 'Running', 120_000);
}, 480_000);
