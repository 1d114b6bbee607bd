// EC2 instances -> Nodes: raising an ASG's desired capacity makes a Node join
// that the real scheduler uses for a real StatefulSet's pod; terminating the
// instance removes the Node, kills its pod's processes, and the pod object
// does not linger.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { autoscaling } from '../lib/aws.ts';
import type { V1Node } from '@kubernetes/client-node';
import { apps, asg, coordination, core, createNamespace, deleteNamespace, nodeReady, pidsWithEnv, stackAws, waitFor, waitForPod } from './nodesim-env.ts';

let ns: string;
const client = asg();
const group = stackAws().nodeGroups.rdb;
let originalDesired: number | undefined;

const describeGroup = async () =>
  (await client.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.asgName] }))).AutoScalingGroups![0]!;
const nodeFor = async (instanceId: string): Promise<V1Node | undefined> =>
  (await core.listNode()).items.find((n) => n.spec?.providerID?.endsWith(`/${instanceId}`));

beforeAll(async () => {
  ns = await createNamespace('nodesim-nodes');
  originalDesired = (await describeGroup()).DesiredCapacity;
}, 60_000);

afterAll(async () => {
  await deleteNamespace(ns);
  if (originalDesired !== undefined && (await describeGroup()).DesiredCapacity !== originalDesired) {
    await client.send(new autoscaling.SetDesiredCapacityCommand({ AutoScalingGroupName: group.asgName, DesiredCapacity: originalDesired }));
  }
  client.destroy();
}, 90_000);

describe('simulated EC2 nodes', () => {
  it('a new ASG instance joins as a Ready Node the scheduler uses, and leaves with its instance', async () => {
    const before = new Set((await describeGroup()).Instances?.map((i) => i.InstanceId));
    const t0 = Date.now();
    await client.send(new autoscaling.SetDesiredCapacityCommand({ AutoScalingGroupName: group.asgName, DesiredCapacity: (originalDesired ?? 0) + 1 }));
    const instanceId = await waitFor('a new instance', async () => (await describeGroup()).Instances?.find((i) => !before.has(i.InstanceId))?.InstanceId);
    const node = await waitFor('its Node Ready', async () => {
      const n = await nodeFor(instanceId);
      return n && nodeReady(n) ? n : undefined;
    }, 30_000, 50);
    const joinMs = Date.now() - t0;
    console.log(`SetDesiredCapacity -> Node Ready: ${joinMs} ms (${node.metadata?.name})`);

    const labels = node.metadata?.labels ?? {};
    expect(node.metadata?.name).toMatch(/^ip-\d+-\d+-\d+-\d+\.ec2\.internal$/);
    expect(node.spec?.providerID).toMatch(new RegExp(`^aws:///[a-z0-9-]+/${instanceId}$`));
    expect(labels).toMatchObject({
      'eks.amazonaws.com/nodegroup': 'rdb',
      'node.kubernetes.io/instance-type': group.instanceType,
      'kubernetes.io/hostname': node.metadata!.name!,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'topology.kubernetes.io/region': stackAws().region,
    });
    expect(labels['topology.kubernetes.io/zone']).toBe(node.spec!.providerID!.split('/')[3]);
    expect(node.status?.addresses).toEqual([{ type: 'InternalIP', address: expect.stringMatching(/^127\./) }]);
    expect(node.status?.allocatable?.pods).toBeDefined();
    const lease = await waitFor('node lease', () => coordination.readNamespacedLease({ name: node.metadata!.name!, namespace: 'kube-node-lease' }));
    expect(lease.spec?.holderIdentity).toBe(node.metadata!.name);

    // A StatefulSet pod, created by the controller-manager and placed by the scheduler on the new node.
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'pinned' },
        spec: {
          serviceName: 'pinned',
          replicas: 1,
          selector: { matchLabels: { app: 'pinned' } },
          template: {
            metadata: { labels: { app: 'pinned' } },
            spec: {
              nodeSelector: { 'kubernetes.io/hostname': node.metadata!.name! },
              containers: [
                {
                  name: 'main',
                  image: 'busybox',
                  command: ['sh', '-c', 'exec sleep 3600'],
                  env: [{ name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }],
                },
              ],
            },
          },
        },
      },
    });
    const pod = await waitForPod(ns, 'pinned-0', 'Running on the new node', (p) => p.status?.phase === 'Running', 30_000);
    expect(pod.spec?.nodeName).toBe(node.metadata!.name);
    const uid = pod.metadata!.uid!;
    expect(pidsWithEnv(`POD_UID=${uid}`).length).toBeGreaterThan(0);

    const t1 = Date.now();
    await client.send(new autoscaling.TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: true }));
    await waitFor('Node deleted', async () => (await nodeFor(instanceId)) === undefined, 15_000, 50);
    console.log(`TerminateInstanceInAutoScalingGroup -> Node deleted: ${Date.now() - t1} ms`);
    await waitFor('pod processes killed', () => pidsWithEnv(`POD_UID=${uid}`).length === 0, 5_000);
    // The pod object goes as after a real node loss (podgc, or the simulator's backstop).
    await waitFor('old pod object gone', async () => (await core.listNamespacedPod({ namespace: ns })).items.every((p) => p.metadata?.uid !== uid), 150_000, 1000);
    console.log(`Node deleted -> its pod object gone: ${Date.now() - t1} ms`);
  }, 240_000);
});
