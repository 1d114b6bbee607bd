// One node group, one owner (issue 8 item 2), in its pure parts: which ASG a
// pool may touch, what counts as occupying a node, how groups are matched,
// and what the planner does with each.
import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { AutoScaling, hasTags, nodeGroupTags, OWNER_TAG } from '../../operator/src/aws/autoscaling.ts';
import { AwsSafetyError } from '../../operator/src/aws/errors.ts';
import { RetryPolicy } from '../../operator/src/aws/retry.ts';
import { blocksTermination, podsBlockingTermination } from '../../operator/src/planner/occupancy.ts';
import { nodeGroupAccess, nodeGroupOwner } from '../../operator/src/planner/ownership.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Observed, ObservedAsg, ObservedPool } from '../../operator/src/planner/types.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { ASG, CLUSTER, POOL, condition, day, eventReasons, instanceId, kinds, nodeName, ofKind, podName, world } from '../fixtures/planner.ts';
import { autoscaling as sdk } from '../lib/aws.ts';

const OURS = `kdb/${CLUSTER}`;
const asg = (owner?: string): ObservedAsg => ({
  name: 'eks-rdb-1',
  desired: 1,
  min: 0,
  max: 10,
  instances: [],
  suspendedProcesses: [],
  newInstancesProtectedFromScaleIn: true,
  ...(owner !== undefined ? { owner } : {}),
});
const pool = (a: ObservedPool['asg'], lookup?: ObservedPool['asgLookup']): ObservedPool => ({ asg: a, nodes: [], pods: [], ...(lookup ? { asgLookup: lookup } : {}) });

/** The fixture's world with the pool's ASG claimed by `owner` (undefined: unclaimed). */
const claimedBy = (o: Observed, owner: string | undefined): Observed => {
  const p = o.pools[POOL]!;
  const { owner: _drop, ...rest } = p.asg as ObservedAsg;
  return { ...o, pools: { [POOL]: { ...p, asg: owner === undefined ? rest : { ...rest, owner } } } };
};
const AWS_KINDS = ['ClaimNodeGroup', 'SuspendAZRebalance', 'ProtectNewInstances', 'SetInstanceProtection', 'SetDesiredCapacity', 'TerminateInstanceInGroup'];

describe('who may touch a node group', () => {
  test('the claim names the cluster by namespace/name', () => {
    expect(nodeGroupOwner({ metadata: { name: 'alpha', namespace: 'desk-a' } } as KdbCluster)).toBe('desk-a/alpha');
    expect(nodeGroupOwner({ metadata: { name: 'alpha' } } as KdbCluster)).toBe('default/alpha');
  });

  test.each([
    ['claimed by us', pool(asg(OURS)), 'ours'],
    ['no owner tag', pool(asg()), 'unclaimed'],
    ['empty owner tag', pool(asg('')), 'unclaimed'],
    ['another cluster of the same name in another namespace', pool(asg(`other/${CLUSTER}`)), 'ownedByAnother'],
    ['AWS down', pool('unknown'), 'unknown'],
    ['no group', pool('missing'), 'unresolved'],
  ] as const)('%s', (_name, obs, kind) => {
    expect(nodeGroupAccess(obs, OURS, 'rdb').kind).toBe(kind);
  });

  test('another owner is named', () => {
    expect(nodeGroupAccess(pool(asg('desk-a/alpha')), OURS, 'rdb')).toMatchObject({ kind: 'ownedByAnother', owner: 'desk-a/alpha' });
  });

  test('unresolved says what was asked and what matched', () => {
    const q = 'tags eks:cluster-name=prod, eks:nodegroup-name=rdb';
    const none = nodeGroupAccess(pool('missing', { query: q, matches: [] }), OURS, 'rdb');
    expect(none).toEqual({ kind: 'unresolved', message: `no ASG matches ${q}` });
    const two = nodeGroupAccess(pool('missing', { query: q, matches: ['eks-rdb-a', 'eks-rdb-b'] }), OURS, 'rdb');
    expect(two.kind === 'unresolved' && two.message).toMatch(/2 ASGs match .*eks-rdb-a, eks-rdb-b.*autoScalingGroupName/);
    const unset = nodeGroupAccess(pool('missing', { query: 'node group rdb', matches: [], problem: 'set eksClusterName' }), OURS, 'rdb');
    expect(unset).toEqual({ kind: 'unresolved', message: 'set eksClusterName' });
  });
});

describe('what occupies a node', () => {
  const p = (name: string, extra: Record<string, unknown> = {}) => ({ namespace: 'x', name, phase: 'Running', ...extra });

  test.each([
    ['a running pod', p('a'), true],
    ['a pending pod (bound, not started)', p('a', { phase: 'Pending' }), true],
    ['a pod without a phase yet', { namespace: 'x', name: 'a' }, true],
    ['a ReplicaSet pod', p('a', { controllerKind: 'ReplicaSet' }), true],
    ['a DaemonSet pod', p('a', { controllerKind: 'DaemonSet' }), false],
    ['a static pod mirror', p('a', { mirror: true }), false],
    ['a Succeeded pod', p('a', { phase: 'Succeeded' }), false],
    ['a Failed pod', p('a', { phase: 'Failed' }), false],
  ])('%s: blocks a terminate?', (_n, pod, blocks) => {
    expect(blocksTermination(pod)).toBe(blocks);
  });

  test('the victim itself is not an occupant; same name in another namespace is', () => {
    const pods = [p('rdb-0', { namespace: 'kdb' }), p('rdb-0', { namespace: 'other' }), p('kube-proxy', { controllerKind: 'DaemonSet' })];
    expect(podsBlockingTermination(pods, { namespace: 'kdb', name: 'rdb-0' })).toEqual(['other/rdb-0']);
    expect(podsBlockingTermination(pods.slice(2), { namespace: 'kdb', name: 'rdb-0' })).toEqual([]);
    expect(podsBlockingTermination([p('b'), p('a')])).toEqual(['x/a', 'x/b']);
  });
});

describe('finding the ASG: EKS cluster and node group together', () => {
  const groups = [
    { AutoScalingGroupName: 'eks-rdb-ours', Tags: Object.entries(nodeGroupTags('prod', 'rdb')).map(([Key, Value]) => ({ Key, Value })) },
    { AutoScalingGroupName: 'eks-rdb-theirs', Tags: Object.entries(nodeGroupTags('staging', 'rdb')).map(([Key, Value]) => ({ Key, Value })) },
    { AutoScalingGroupName: 'eks-tp', Tags: Object.entries(nodeGroupTags('prod', 'tickerplant')).map(([Key, Value]) => ({ Key, Value })) },
  ];
  // An emulator that ignores the filters: the facade must still pick by both tags.
  const lax = { send: async () => ({ AutoScalingGroups: groups }) };
  const as = () => new AutoScaling(lax as never, new RetryPolicy({ sleep: async () => {}, random: () => 0 }));

  test('tags match only with every key and value', () => {
    const t = nodeGroupTags('prod', 'rdb');
    expect(t).toEqual({ 'eks:cluster-name': 'prod', 'eks:nodegroup-name': 'rdb' });
    expect(hasTags({ tags: { ...t, other: 'x' } }, t)).toBe(true);
    expect(hasTags({ tags: { 'eks:nodegroup-name': 'rdb' } }, t)).toBe(false);
    expect(hasTags({ tags: { ...t, 'eks:cluster-name': 'staging' } }, t)).toBe(false);
  });

  test("another EKS cluster's group of the same node group name is not found", async () => {
    expect((await as().findGroupsByTags(nodeGroupTags('prod', 'rdb'))).map((g) => g.name)).toEqual(['eks-rdb-ours']);
    expect((await as().findGroupsByTags(nodeGroupTags('staging', 'rdb'))).map((g) => g.name)).toEqual(['eks-rdb-theirs']);
    // By node group alone (the old lookup) both match: never guessed.
    expect((await as().findGroupsByTags({ 'eks:nodegroup-name': 'rdb' })).map((g) => g.name)).toEqual(['eks-rdb-ours', 'eks-rdb-theirs']);
  });
});

describe('claiming a group in the AWS layer', () => {
  const fakeGroup = (tags: Record<string, string>) => {
    const calls: string[] = [];
    const state = { tags: { ...tags } };
    const send = async (cmd: { input: any }) => {
      calls.push(cmd.constructor.name.replace(/Command$/, ''));
      if (cmd instanceof sdk.DescribeAutoScalingGroupsCommand) {
        return {
          AutoScalingGroups: [{ AutoScalingGroupName: 'g', DesiredCapacity: 1, MinSize: 0, MaxSize: 5, Instances: [], Tags: Object.entries(state.tags).map(([Key, Value]) => ({ Key, Value })) }],
        };
      }
      if (cmd instanceof sdk.CreateOrUpdateTagsCommand) for (const t of cmd.input.Tags as { Key: string; Value: string }[]) state.tags[t.Key] = t.Value;
      if (cmd instanceof sdk.DeleteTagsCommand) for (const t of cmd.input.Tags as { Key: string }[]) delete state.tags[t.Key];
      return {};
    };
    return { calls, state, as: new AutoScaling({ send } as never, new RetryPolicy({ sleep: async () => {}, random: () => 0 })) };
  };

  test('an unclaimed group is tagged once; a repeat writes nothing', async () => {
    const f = fakeGroup({});
    expect(await f.as.claimGroup('g', 'kdb/a')).toEqual({ claimed: true, group: 'g', owner: 'kdb/a', changed: true });
    expect(f.state.tags[OWNER_TAG]).toBe('kdb/a');
    expect(await f.as.claimGroup('g', 'kdb/a')).toEqual({ claimed: true, group: 'g', owner: 'kdb/a', changed: false });
    expect(f.calls.filter((c) => c === 'CreateOrUpdateTags')).toHaveLength(1);
  });

  test("another owner's claim is reported, never overwritten", async () => {
    const f = fakeGroup({ [OWNER_TAG]: 'kdb/a' });
    expect(await f.as.claimGroup('g', 'kdb/b')).toEqual({ claimed: false, group: 'g', owner: 'kdb/a' });
    expect(f.state.tags[OWNER_TAG]).toBe('kdb/a');
    expect(f.calls).not.toContain('CreateOrUpdateTags');
  });

  test('release removes only our own tag', async () => {
    const f = fakeGroup({ [OWNER_TAG]: 'kdb/a' });
    expect(await f.as.releaseGroup('g', 'kdb/b')).toEqual({ group: 'g', released: false, previousOwner: 'kdb/a' });
    expect(f.state.tags[OWNER_TAG]).toBe('kdb/a');
    expect(await f.as.releaseGroup('g', 'kdb/a')).toEqual({ group: 'g', released: true, previousOwner: 'kdb/a' });
    expect(f.state.tags[OWNER_TAG]).toBeUndefined();
    expect(await f.as.releaseGroup('g', 'kdb/a')).toEqual({ group: 'g', released: false });
  });

  test('writes that name an owner are refused on a group claimed by another or by nobody', async () => {
    const f = fakeGroup({ [OWNER_TAG]: 'kdb/a' });
    await expect(f.as.setDesiredCapacity('g', 3, { owner: 'kdb/b' })).rejects.toBeInstanceOf(AwsSafetyError);
    await expect(f.as.suspendAZRebalance('g', { owner: 'kdb/b' })).rejects.toThrow(/kdb-operator.dev\/owner tag is "kdb\/a", not "kdb\/b"/);
    await expect(f.as.protectNewInstances('g', { owner: 'kdb/b' })).rejects.toBeInstanceOf(AwsSafetyError);
    await expect(fakeGroup({}).as.setDesiredCapacity('g', 3, { owner: 'kdb/b' })).rejects.toThrow(/tag is absent/);
    expect(f.calls.filter((c) => c !== 'DescribeAutoScalingGroups')).toEqual([]);
    expect((await f.as.setDesiredCapacity('g', 3, { owner: 'kdb/a' })).wrote).toBe(true);
  });
});

describe('the planner and the claim', () => {
  test('an unclaimed group is claimed first and changed from the next pass on', () => {
    const a = plan(claimedBy(world(day(0, 70), { asg: { newInstancesProtectedFromScaleIn: false, suspendedProcesses: [] } }), undefined));
    expect(ofKind(a, 'ClaimNodeGroup')).toEqual([{ kind: 'ClaimNodeGroup', group: ASG, owner: OURS }]);
    expect(kinds(a).filter((k) => AWS_KINDS.includes(k))).toEqual(['ClaimNodeGroup']);
    expect(eventReasons(a)).toContain('NodeGroupClaimed');
    // Kubernetes goes on: the queued RDB behind the live one at 70% is created.
    expect(ofKind(a, 'EnsureRdbPod')).toHaveLength(1);
    expect(ofKind(a, 'RequeueAfter')[0]!.ms).toBeLessThanOrEqual(5_000);
    expect(condition(a, 'NodeGroupOwnedByAnother')?.status).toBe('False');
  });

  test("a group claimed by another cluster: nothing of it is touched, a condition and a Warning name the owner", () => {
    const a = plan(claimedBy(world(day(1, 70), { asg: { newInstancesProtectedFromScaleIn: false, suspendedProcesses: [] } }), 'desk-a/alpha'));
    expect(kinds(a).filter((k) => AWS_KINDS.includes(k))).toEqual([]);
    expect(ofKind(a, 'EnsureRdbPod')).toEqual([]);
    expect(ofKind(a, 'DeleteRdbPod')).toEqual([]);
    const c = condition(a, 'NodeGroupOwnedByAnother');
    expect(c).toMatchObject({ status: 'True', reason: 'OwnedByAnother' });
    expect(c?.message).toContain('desk-a/alpha');
    const warning = ofKind(a, 'EmitEvent').find((e) => e.event.reason === 'NodeGroupOwnedByAnother');
    expect(warning?.event.type).toBe('Warning');
    expect(warning?.event.message).toMatch(/belongs to KdbCluster desk-a\/alpha/);
    expect(condition(a, 'Degraded')?.status).toBe('True');
    // The status still says which group it found.
    expect(ofKind(a, 'UpdateStatus')[0]!.status.pools[0]!.autoScalingGroupName).toBe(ASG);
  });

  test('a flushed RDB of a pool on a foreign group is not scaled in', () => {
    const o = claimedBy(world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live' }]), 'desk-a/alpha');
    expect(ofKind(plan(o), 'RecordScaleInStep')).toEqual([]);
    expect(ofKind(plan(claimedBy(o, OURS)), 'RecordScaleInStep')).toHaveLength(1);
  });

  test('none or several groups: NodeGroupUnresolved lists them, Kubernetes goes on', () => {
    const o = world(day(0, 70), { asg: 'missing' });
    o.pools[POOL] = { ...o.pools[POOL]!, asgLookup: { query: 'tags eks:cluster-name=prod, eks:nodegroup-name=rdb', matches: ['eks-rdb-a', 'eks-rdb-b'] } };
    const a = plan(o);
    const c = condition(a, 'NodeGroupUnresolved');
    expect(c).toMatchObject({ status: 'True', reason: 'Unresolved' });
    expect(c?.message).toContain('eks-rdb-a, eks-rdb-b');
    expect(eventReasons(a)).toContain('NodeGroupUnresolved');
    expect(kinds(a).filter((k) => AWS_KINDS.includes(k))).toEqual([]);
    expect(ofKind(a, 'EnsureRdbPod')).toHaveLength(1);
    expect(condition(plan(world(day(0, 30))), 'NodeGroupUnresolved')).toMatchObject({ status: 'False', reason: 'Resolved' });
  });
});

describe('nodes other pods hold', () => {
  /** The fixture's world with `pods` running on the node of RDB `ord`. */
  const withOthers = (o: Observed, ord: number, pods: string[]): Observed => {
    const p = o.pools[POOL]!;
    return { ...o, pools: { [POOL]: { ...p, nodes: p.nodes.map((n) => (n.name === nodeName(ord) ? { ...n, otherPods: pods } : n)) } } };
  };

  test("capacity need counts a node held by another cluster's pod", () => {
    // Live RDB 1 at 70% gets a queued RDB: 3 pods need nodes; node 0 (its RDB gone) hosts another cluster's RDB.
    const base = world([{ ord: 0, state: 'flushed', podGone: true }, { ord: 1, state: 'live', mem: 70 }]);
    const without = ofKind(plan(base), 'SetDesiredCapacity')[0];
    const held = ofKind(plan(withOthers(base, 0, ['desk-a/alpha-main-rdb-0'])), 'SetDesiredCapacity')[0];
    expect(held!.value).toBe((without?.value ?? 2) + 1);
    expect(held!.reason).toMatch(/1 nodes are held by other pods/);
  });

  test('no scale-in starts on a node another pod shares', () => {
    const base = world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live' }]);
    expect(ofKind(plan(base), 'RecordScaleInStep')).toHaveLength(1);
    expect(ofKind(plan(withOthers(base, 0, ['users/stray'])), 'RecordScaleInStep')).toEqual([]);
  });

  test('a scale-in at Terminate stops when a pod appeared on the node: no terminate, protection back', () => {
    const rec = { rdb: podName(0), instanceId: instanceId(0), node: nodeName(0), step: 'Terminate' as const, startedAt: '2026-03-02T14:59:00Z' };
    const base = world([{ ord: 0, state: 'flushed', podGone: true, protected: false, unschedulable: true }, { ord: 1, state: 'live' }], { scaleIn: rec });
    expect(ofKind(plan(base), 'TerminateInstanceInGroup')).toHaveLength(1);
    const a = plan(withOthers(base, 0, ['users/stray']));
    expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([]);
    expect(ofKind(a, 'RecordScaleInStep').map((r) => r.record)).toEqual([null]);
    expect(ofKind(a, 'SetInstanceProtection')).toEqual([{ kind: 'SetInstanceProtection', group: ASG, instanceIds: [instanceId(0)], protect: true }]);
    expect(ofKind(a, 'EmitEvent').find((e) => e.event.reason === 'ScaleInAborted')?.event.message).toContain('users/stray');
  });

  test('the terminate names the node and victim the effector checks again', () => {
    const rec = { rdb: podName(0), instanceId: instanceId(0), node: nodeName(0), step: 'Terminate' as const, startedAt: '2026-03-02T14:59:00Z' };
    const a = plan(world([{ ord: 0, state: 'flushed', podGone: true, protected: false }, { ord: 1, state: 'live' }], { scaleIn: rec }));
    expect(ofKind(a, 'TerminateInstanceInGroup')[0]).toMatchObject({ node: nodeName(0), pod: podName(0) });
  });
});

test('RDB anti-affinity holds across namespaces', () => {
  const cluster = KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
    spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
  });
  const pod = rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'kdb-rdb-agent' });
  expect(pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
    { labelSelector: { matchLabels: { 'kdb-operator.dev/role': 'rdb' } }, namespaceSelector: {}, topologyKey: 'kubernetes.io/hostname' },
  ]);
});
