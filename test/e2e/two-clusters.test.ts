import { autoscaling, motoClientConfig } from '../lib/aws.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws } from '../lib/stack.ts';
import { farEndOfDay } from './day-clock.ts';
import { applyYaml, installOperator, kubectl, waitFor } from './trading-day.ts';

// Two teams on one EKS cluster, under the chart's operator: a second
// KdbCluster in another namespace on a node group of its own scales
// independently; a third that names the first one's node group is refused
// with NodeGroupOwnedByAnother and nothing of the first cluster changes.
const aws = readStackAws();
const nsA = 'e2e-team-a';
const nsB = 'e2e-team-b';
const OWN_GROUP = 'rdb-team-b';
const OWNER_TAG = 'kdb-operator.dev/owner';
const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
const custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
const asc = new autoscaling.AutoScalingClient(motoClientConfig());
let teamBGroup = '';

type Status = { phase?: string; conditions?: { type: string; status: string; message: string }[] };
const status = async (namespace: string, name: string): Promise<Status | undefined> => {
  try {
    const o = (await custom.getNamespacedCustomObject({ group: 'kdb-operator.dev', version: 'v1alpha1', namespace, plural: 'kdbclusters', name })) as { status?: Status };
    return o.status;
  } catch {
    return undefined;
  }
};
const cond = async (namespace: string, name: string, type: string) => (await status(namespace, name))?.conditions?.find((c) => c.type === type);
const group = async (name: string) => (await asc.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))).AutoScalingGroups?.[0];
const tags = async (name: string) => Object.fromEntries(((await group(name))?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
const rdbPods = async (namespace: string) => (await core.listNamespacedPod({ namespace, labelSelector: 'kdb-operator.dev/role=rdb' })).items;
const live = async (namespace: string) =>
  (await rdbPods(namespace)).find((p) => p.status?.conditions?.some((c) => c.type === 'kdb-operator.dev/Live' && c.status === 'True'));
/** What the first cluster's group looks like: none of it may move while the third cluster is refused. */
const snapshot = async (name: string) => {
  const g = await group(name);
  return {
    desired: g?.DesiredCapacity,
    protectNew: g?.NewInstancesProtectedFromScaleIn,
    suspended: (g?.SuspendedProcesses ?? []).map((p) => p.ProcessName).sort(),
    instances: (g?.Instances ?? []).map((i) => `${i.InstanceId}:${i.LifecycleState}:${i.ProtectedFromScaleIn}`).sort(),
    owner: (g?.Tags ?? []).find((t) => t.Key === OWNER_TAG)?.Value,
  };
};

const clusterYaml = (namespace: string, name: string, nodeGroup: string): string => `apiVersion: kdb-operator.dev/v1alpha1
kind: KdbCluster
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  tickerplant:
    endOfDay: { time: "${farEndOfDay(new Date())}", timeZone: UTC }
  rdbPools: [{ name: main, nodeGroup: ${nodeGroup}, memory: 256Mi, minRdbs: 1, maxRdbs: 2 }]
  storage: { efs: { fileSystemId: ${aws.efsFileSystemId} } }
`;

beforeAll(async () => {
  // Team B's own node group: an EKS-style ASG of this EKS cluster, empty until its cluster asks.
  const rdb = await group(aws.nodeGroups.rdb.asgName);
  teamBGroup = `eks-${OWN_GROUP}-${Date.now().toString(36)}`;
  await asc.send(
    new autoscaling.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: teamBGroup,
      LaunchTemplate: { LaunchTemplateName: aws.nodeGroups.rdb.launchTemplateName, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 3,
      DesiredCapacity: 0,
      VPCZoneIdentifier: rdb?.VPCZoneIdentifier?.split(',')[0] ?? aws.subnetIds[0]!,
      Tags: Object.entries({ 'eks:cluster-name': aws.clusterName, 'eks:nodegroup-name': OWN_GROUP }).map(([Key, Value]) => ({
        Key,
        Value,
        ResourceId: teamBGroup,
        ResourceType: 'auto-scaling-group',
        PropagateAtLaunch: true,
      })),
    }),
  );
  await installOperator('kdb-system', [nsA, nsB]);
  await applyYaml(clusterYaml(nsA, 'alpha', 'rdb'));
  await waitFor('team A live', () => live(nsA), 240_000);
}, 330_000);

afterAll(async () => {
  // Deleted while the operator runs, so each finalizer hands its node group back.
  for (const [ns, name] of [[nsB, 'gamma'], [nsB, 'beta'], [nsA, 'alpha']] as const) {
    await kubectl('-n', ns, 'delete', 'kdb', name, '--ignore-not-found', '--wait=false').catch(() => undefined);
  }
  await waitFor('the clusters to be gone', async () => (await status(nsA, 'alpha')) === undefined && (await status(nsB, 'beta')) === undefined && (await status(nsB, 'gamma')) === undefined, 120_000).catch(() => undefined);
  for (const ns of [nsA, nsB]) await kubectl('delete', 'namespace', ns, '--wait=false').catch(() => undefined);
  await asc.send(new autoscaling.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: teamBGroup, ForceDelete: true })).catch(() => undefined);
  asc.destroy();
}, 180_000);

test("team A claimed its node group's ASG", async () => {
  expect((await tags(aws.nodeGroups.rdb.asgName))[OWNER_TAG]).toBe(`${nsA}/alpha`);
  expect((await cond(nsA, 'alpha', 'NodeGroupOwnedByAnother'))?.status).toBe('False');
  expect((await cond(nsA, 'alpha', 'NodeGroupUnresolved'))?.status).toBe('False');
});

test('a second cluster in another namespace on its own node group scales independently', async () => {
  const before = await snapshot(aws.nodeGroups.rdb.asgName);
  await applyYaml(clusterYaml(nsB, 'beta', OWN_GROUP));
  const pod = await waitFor('team B live', () => live(nsB), 240_000);
  // Its RDB runs on a server of its own group, which its cluster raised.
  const node = await core.readNode({ name: pod.spec?.nodeName ?? '' });
  expect(node.metadata?.labels?.['eks.amazonaws.com/nodegroup']).toBe(OWN_GROUP);
  expect((await group(teamBGroup))?.DesiredCapacity).toBeGreaterThanOrEqual(1);
  expect((await tags(teamBGroup))[OWNER_TAG]).toBe(`${nsB}/beta`);
  // Team A's group did not move for it.
  expect(await snapshot(aws.nodeGroups.rdb.asgName)).toEqual(before);
}, 300_000);

test("a cluster naming team A's node group is refused and nothing of team A changes", async () => {
  const before = await snapshot(aws.nodeGroups.rdb.asgName);
  const aPods = (await rdbPods(nsA)).map((p) => `${p.metadata?.name}@${p.spec?.nodeName}`).sort();
  await applyYaml(clusterYaml(nsB, 'gamma', 'rdb'));
  const c = await waitFor('NodeGroupOwnedByAnother on gamma', async () => {
    const x = await cond(nsB, 'gamma', 'NodeGroupOwnedByAnother');
    return x?.status === 'True' ? x : undefined;
  }, 120_000);
  expect(c.message).toContain(`${nsA}/alpha`);
  const warning = await waitFor('the Warning naming the owner', async () =>
    (await core.listNamespacedEvent({ namespace: nsB })).items.find((e) => e.reason === 'NodeGroupOwnedByAnother' && e.involvedObject.name === 'gamma'),
  );
  expect(warning.type).toBe('Warning');
  expect(warning.message).toContain(`${nsA}/alpha`);
  // Gamma made no RDB that could take a server of team A's group.
  expect((await rdbPods(nsB)).filter((p) => p.metadata?.labels?.['kdb-operator.dev/cluster'] === 'gamma')).toEqual([]);
  expect(await snapshot(aws.nodeGroups.rdb.asgName)).toEqual(before);
  expect((await rdbPods(nsA)).map((p) => `${p.metadata?.name}@${p.spec?.nodeName}`).sort()).toEqual(aPods);
  expect((await cond(nsA, 'alpha', 'Ready'))?.status).toBe('True');
}, 180_000);

test('deleting a cluster hands its node group back', async () => {
  await kubectl('-n', nsB, 'delete', 'kdb', 'beta', '--wait=false');
  await waitFor('beta to be gone', async () => (await status(nsB, 'beta')) === undefined, 120_000);
  expect((await tags(teamBGroup))[OWNER_TAG]).toBeUndefined();
}, 150_000);
