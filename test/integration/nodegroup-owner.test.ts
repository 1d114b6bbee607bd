// One node group, one owner, on the local stack: moto behind the fault
// injector and the real API server. The ASG is found by EKS cluster and node
// group together; a KdbCluster naming a group another cluster claimed gets a
// condition and a Warning and touches nothing of it; an unclaimed group is
// claimed and released again on deletion; a terminate is refused while any
// other pod runs on the node.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { OWNER_TAG } from '../../operator/src/aws/index.ts';
import { Effector } from '../../operator/src/controllers/kdbcluster/effect.ts';
import { kdbClusterController } from '../../operator/src/controllers/kdbcluster/index.ts';
import { findPoolGroup } from '../../operator/src/controllers/kdbcluster/observe.ts';
import type { KubeClient, KubeObject, V1Node, V1Pod } from '../../operator/src/kube/index.ts';
import { Resources } from '../../operator/src/kube/index.ts';
import { nodeGroupOwner } from '../../operator/src/planner/ownership.ts';
import { autoscaling } from '../lib/aws.ts';
import { repoRoot } from '../lib/stack.ts';
import { awsTestEnv, createTestGroup, deleteTestGroup, ec2State, operatorAws, rawGroup, uniqueName, type AwsTestEnv } from './aws-env.ts';
import { stackClient, testLogger, waitFor } from './runtime-env.ts';

const run = Date.now().toString(36);
const ns = `ngown-${run}`;
const foreignNs = `ngown-foreign-${run}`;
const nodeGroup = `ng-${run}`;
const eksA = `eks-a-${run}`;
const eksB = `eks-b-${run}`;
const FOREIGN_OWNER = 'desk-a/alpha';
const MUTATIONS = new Set(['SetDesiredCapacity', 'SetInstanceProtection', 'TerminateInstanceInAutoScalingGroup', 'SuspendProcesses', 'UpdateAutoScalingGroup', 'CreateOrUpdateTags', 'DeleteTags']);

let env: AwsTestEnv;
let aws: Aws;
let kube: KubeClient;
let stopController: (() => Promise<void>) | undefined;
const groups: string[] = [];

const group = async (desired: number, tags: Record<string, string>): Promise<string> => {
  const name = await createTestGroup(env, { desired, tags });
  groups.push(name);
  return name;
};
const tagsOf = async (name: string): Promise<Record<string, string>> =>
  Object.fromEntries(((await rawGroup(env, name)).Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
const kdb = (name: string) => kube.api.get<KubeObject & { status?: { conditions?: { type: string; status: string; message: string }[] } }>({ ...Resources.KdbCluster, namespace: ns, name });
const conditionOf = async (name: string, type: string) => (await kdb(name))?.status?.conditions?.find((c) => c.type === type);
const events = async (namespace: string, reason: string) =>
  (await kube.api.list<KubeObject & { reason?: string; type?: string; message?: string }>(Resources.Event, { namespace })).items.filter((e) => e.reason === reason);
/** The node the simulator made for the group's one instance. */
const nodeOf = (instanceId: string) =>
  waitFor(`a node for ${instanceId}`, async () => (await kube.api.list<V1Node>(Resources.Node)).items.find((n) => n.spec?.providerID?.endsWith(`/${instanceId}`))?.metadata?.name, 90_000, 500);

beforeAll(async () => {
  env = await awsTestEnv();
  ({ aws } = operatorAws(env));
  kube = stackClient();
  const crd = parse(readFileSync(join(repoRoot, 'crds/kdbclusters.kdb-operator.dev.yaml'), 'utf8')) as KubeObject;
  await kube.api.apply(crd);
  await waitFor('the KdbCluster CRD to be served', async () => {
    const c = await kube.api.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata?.name ?? '' });
    return c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
  }, 30_000);
  for (const name of [ns, foreignNs]) await kube.api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // RDB pods run under the agent's account once the cluster may create them.
  await kube.api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kdb-rdb-agent', namespace: ns } });
}, 60_000);

afterAll(async () => {
  // A cluster left behind must not hold its namespace up once our controller is gone.
  const left = await kdb('beta').catch(() => undefined);
  if (left) await kube.api.mergePatch({ ...Resources.KdbCluster, namespace: ns, name: 'beta' }, { metadata: { finalizers: null } }).catch(() => undefined);
  await stopController?.();
  for (const name of [ns, foreignNs]) await kube.api.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
  await kube.api.delete({ ...Resources.PersistentVolume, name: `kdb-${ns}-beta-efs` }).catch(() => undefined);
  for (const g of groups) await deleteTestGroup(env, g);
  aws?.destroy();
  env?.destroy();
}, 120_000);

let groupA = '';
let groupB = '';

test('two ASGs of one node group name in two EKS clusters: each EKS cluster finds only its own', async () => {
  groupA = await group(1, { 'eks:cluster-name': eksA, 'eks:nodegroup-name': nodeGroup, [OWNER_TAG]: FOREIGN_OWNER });
  groupB = await group(0, { 'eks:cluster-name': eksB, 'eks:nodegroup-name': nodeGroup });

  expect(await findPoolGroup(aws, { nodeGroup }, eksA, true)).toMatchObject({ group: { name: groupA }, lookup: { matches: [groupA] } });
  expect(await findPoolGroup(aws, { nodeGroup }, eksB, true)).toMatchObject({ group: { name: groupB }, lookup: { matches: [groupB] } });
  // The node-group tag alone (the old lookup) matches both: never guessed.
  expect((await aws.autoScaling.findGroupsByTags({ 'eks:nodegroup-name': nodeGroup }, { fresh: true })).map((g) => g.name)).toEqual([groupA, groupB].sort());
  const none = await findPoolGroup(aws, { nodeGroup }, `eks-none-${run}`, true);
  expect(none.group).toBeUndefined();
  expect(none.lookup.matches).toEqual([]);
  const unset = await findPoolGroup(aws, { nodeGroup }, undefined, true);
  expect(unset.group).toBeUndefined();
  expect(unset.lookup.problem).toMatch(/eksClusterName/);
}, 60_000);

test("a KdbCluster on a node group another cluster claimed gets the condition and a Warning, and touches nothing of it", async () => {
  const before = await rawGroup(env, groupA);
  const instanceIds = (before.Instances ?? []).map((i) => i.InstanceId ?? '');
  const mark = (await env.faults?.mark()) ?? 0;

  const { controller, informers } = kdbClusterController({ kube, aws, log: testLogger(), agentServiceAccount: 'kdb-rdb-agent', eksClusterName: eksA, clusterNamespace: ns });
  for (const i of informers) i.start();
  await Promise.all(informers.map((i) => i.waitForSync()));
  controller.start();
  stopController = async () => {
    await controller.stop(20_000);
    await Promise.all(informers.map((i) => i.stop()));
  };
  await kube.api.create({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'beta', namespace: ns },
    spec: { rdbPools: [{ name: 'main', nodeGroup, memory: '256Mi' }], storage: { efs: { fileSystemId: env.stack!.efsFileSystemId } } },
  });

  const cond = await waitFor('NodeGroupOwnedByAnother True', async () => {
    const c = await conditionOf('beta', 'NodeGroupOwnedByAnother');
    return c?.status === 'True' ? c : undefined;
  }, 60_000, 250);
  expect(cond.message).toContain(FOREIGN_OWNER);
  expect(cond.message).toContain(groupA);
  // Exactly one group was found (two would be NodeGroupUnresolved).
  expect((await conditionOf('beta', 'NodeGroupUnresolved'))?.status).toBe('False');
  const warning = await waitFor('the Warning naming the owner', async () => (await events(ns, 'NodeGroupOwnedByAnother'))[0], 30_000, 250);
  expect(warning.type).toBe('Warning');
  expect(warning.message).toContain(`belongs to KdbCluster ${FOREIGN_OWNER}`);
  // Let it reconcile again (the status write wakes it): still nothing.
  await kube.api.mergePatch({ ...Resources.KdbCluster, namespace: ns, name: 'beta' }, { metadata: { annotations: { 'test/poke': '1' } } });
  await waitFor('another pass', async () => ((await kdb('beta'))?.status as { phase?: string } | undefined)?.phase === 'Degraded', 30_000, 250);

  const after = await rawGroup(env, groupA);
  expect(after.DesiredCapacity).toBe(before.DesiredCapacity);
  expect(after.NewInstancesProtectedFromScaleIn).toBe(before.NewInstancesProtectedFromScaleIn);
  expect(after.SuspendedProcesses ?? []).toEqual(before.SuspendedProcesses ?? []);
  expect((after.Instances ?? []).map((i) => [i.InstanceId, i.LifecycleState, i.ProtectedFromScaleIn]).sort()).toEqual(
    (before.Instances ?? []).map((i) => [i.InstanceId, i.LifecycleState, i.ProtectedFromScaleIn]).sort(),
  );
  expect(await tagsOf(groupA)).toMatchObject({ [OWNER_TAG]: FOREIGN_OWNER });
  if (env.faults) {
    const touching = (await env.faults.calls(mark)).filter(
      (c) => MUTATIONS.has(c.operation) && [groupA, ...instanceIds].some((n) => JSON.stringify(c.params).includes(n)),
    );
    expect(touching).toEqual([]);
  }
  // No RDB of beta waits for (and would take) a server of that group.
  expect((await kube.api.list<V1Pod>(Resources.Pod, { namespace: ns, labelSelector: 'kdb-operator.dev/role=rdb' })).items).toEqual([]);
}, 180_000);

test('once unclaimed the group is claimed for the cluster, and deleting the cluster releases it', async () => {
  await env.asg.send(new autoscaling.DeleteTagsCommand({ Tags: [{ ResourceId: groupA, ResourceType: 'auto-scaling-group', Key: OWNER_TAG }] }));
  await waitFor('the claim', async () => (await tagsOf(groupA))[OWNER_TAG] === `${ns}/beta`, 90_000, 500);
  await waitFor('NodeGroupOwnedByAnother False', async () => (await conditionOf('beta', 'NodeGroupOwnedByAnother'))?.status === 'False', 60_000, 250);
  // The plan writes status before its Events: the condition can be seen first.
  await waitFor('the NodeGroupClaimed event', async () => (await events(ns, 'NodeGroupClaimed')).length > 0, 30_000, 250);

  // Its RDB never reports here (no agent Role in this namespace): only the user can let the deletion drop what it may hold.
  await kube.api.mergePatch({ ...Resources.KdbCluster, namespace: ns, name: 'beta' }, { metadata: { annotations: { 'kdb-operator.dev/write-down': 'skip' } } });
  await kube.api.delete({ ...Resources.KdbCluster, namespace: ns, name: 'beta' });
  await waitFor('the cluster to be gone (finalizer done)', async () => (await kdb('beta')) === undefined, 90_000, 250);
  expect((await tagsOf(groupA))[OWNER_TAG]).toBeUndefined();
  // The other EKS cluster's group was never touched.
  expect(await tagsOf(groupB)).not.toHaveProperty(OWNER_TAG);
}, 240_000);

test('a terminate is refused while a pod of another namespace runs on the node, and goes ahead once it is gone', async () => {
  // The deleted cluster's RDB pod object can outlive its server (podgc) and, bound to a node name the
  // simulator reuses with an IP, seem to run on this test's node: wait until it is gone.
  await waitFor("the deleted cluster's pods to be gone", async () => (await kube.api.list<V1Pod>(Resources.Pod, { namespace: ns })).items.length === 0, 120_000, 500);
  const groupC = await group(1, { 'eks:cluster-name': eksA, 'eks:nodegroup-name': `${nodeGroup}-c` });
  const instanceId = (await rawGroup(env, groupC)).Instances?.[0]?.InstanceId ?? '';
  const node = await nodeOf(instanceId);
  const cluster = KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'gamma', namespace: ns, uid: '00000000-0000-0000-0000-00000000000c' },
    spec: { rdbPools: [{ name: 'main', nodeGroup: `${nodeGroup}-c`, memory: '256Mi' }], storage: { efs: { fileSystemId: env.stack!.efsFileSystemId } } },
  });
  expect(await aws.autoScaling.claimGroup(groupC, nodeGroupOwner(cluster))).toMatchObject({ claimed: true });
  await kube.api.create<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'stray', namespace: foreignNs },
    spec: { nodeName: node, containers: [{ name: 'sleep', image: 'busybox', command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 0 },
  });
  const effector = () =>
    new Effector({ api: kube.api, aws, events: kube.eventRecorder({ component: 'nodegroup-owner-test' }), log: testLogger(), agentServiceAccount: 'x' }, cluster);
  const terminate = { kind: 'TerminateInstanceInGroup' as const, group: groupC, instanceId, decrement: true as const, node, pod: 'gamma-main-rdb-0' };

  await effector().run([terminate]);
  const refused = await waitFor('the TerminateRefused Warning', async () => (await events(ns, 'TerminateRefused'))[0], 30_000, 250);
  expect(refused.type).toBe('Warning');
  expect(refused.message).toContain(`${foreignNs}/stray`);
  expect(refused.message).toContain(instanceId);
  const still = await rawGroup(env, groupC);
  expect(still.DesiredCapacity).toBe(1);
  expect(still.Instances?.find((i) => i.InstanceId === instanceId)?.LifecycleState).toBe('InService');
  expect(await ec2State(env, instanceId)).toBe('running');

  await kube.api.delete({ ...Resources.Pod, namespace: foreignNs, name: 'stray' }, { gracePeriodSeconds: 0 });
  await waitFor('the node to be empty', async () => (await kube.api.list<V1Pod>(Resources.Pod, { fieldSelector: `spec.nodeName=${node}` })).items.length === 0, 60_000, 250);
  await effector().run([terminate]);
  const gone = await rawGroup(env, groupC);
  expect(gone.DesiredCapacity).toBe(0);
  expect(gone.Instances?.find((i) => i.InstanceId === instanceId && i.LifecycleState === 'InService')).toBeUndefined();
}, 180_000);
