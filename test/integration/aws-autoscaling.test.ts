// The Auto Scaling facade against real moto (through the fault injector on
// the stack, with no faults set). Destructive cases use groups of our own.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Aws, CallEvent } from '../../operator/src/aws/index.ts';
import {
  awsTestEnv,
  createTestGroup,
  deleteTestGroup,
  ec2State,
  operatorAws,
  rawGroup,
  type AwsCall,
  type AwsTestEnv,
} from './aws-env.ts';

let env: AwsTestEnv;
let aws: Aws;
let events: CallEvent[];
const groups: string[] = [];
let mark = 0;

const group = async (opts: Parameters<typeof createTestGroup>[1]) => {
  const name = await createTestGroup(env, opts);
  groups.push(name);
  return name;
};

/** Calls of one operation, by the operator's observer and (on the stack) the injector's log. */
const countCalls = async (operation: string): Promise<{ observed: number; injector: number | undefined }> => ({
  observed: events.filter((e) => e.operation === operation).reduce((n, e) => n + e.attempts, 0),
  injector: env.faults === undefined ? undefined : (await env.faults.calls(mark)).filter((c) => c.operation === operation && ours(c)).length,
});

beforeAll(async () => {
  env = await awsTestEnv();
  await env.faults?.clear();
  ({ aws, events } = operatorAws(env));
}, 30_000);

beforeEach(async () => {
  events.length = 0;
  mark = (await env.faults?.mark()) ?? 0;
});

/** A call in the injector's log made for one of this file's groups. */
const ours = (c: AwsCall): boolean => {
  const p = c.params;
  const names = [p.AutoScalingGroupName, ...(Array.isArray(p.AutoScalingGroupNames) ? p.AutoScalingGroupNames : [])];
  return names.some((n) => typeof n === 'string' && groups.includes(n)) || (typeof p.InstanceId === 'string' && p.InstanceId.startsWith('i-'));
};

afterAll(async () => {
  for (const g of groups) await deleteTestGroup(env, g);
  aws?.destroy();
  env?.destroy();
}, 60_000);

describe('describe', () => {
  it('describes groups and maps them to plain objects', async () => {
    const name = await group({ desired: 2, max: 4 });
    const [g] = await aws.autoScaling.describeGroups([name, 'kdb-aws-it-does-not-exist']);
    expect(g).toMatchObject({ name, desired: 2, min: 0, max: 4, newInstancesProtectedFromScaleIn: false, suspendedProcesses: [] });
    expect(g!.instances).toHaveLength(2);
    expect(g!.instances[0]).toMatchObject({ lifecycleState: 'InService', protectedFromScaleIn: false, healthStatus: 'Healthy' });
    expect(g!.instances[0]!.instanceId).toMatch(/^i-/);
    expect(g!.instances[0]!.zone).toMatch(new RegExp(`^${env.region}`));
    expect(g!.tags['kdb-aws-it/run']).toBeDefined();
  });

  it('finds the seeded EKS node groups by tag (stack only)', async () => {
    if (env.stack === undefined) return;
    const s = env.stack;
    const rdb = await aws.autoScaling.findGroupByTags({ 'eks:cluster-name': s.clusterName, 'eks:nodegroup-name': 'rdb' });
    expect(rdb?.name).toBe(s.nodeGroups.rdb.asgName);
    const all = await aws.autoScaling.describeGroups(Object.values(s.nodeGroups).map((n) => n.asgName));
    expect(all.map((g) => g.name).sort()).toEqual(Object.values(s.nodeGroups).map((n) => n.asgName).sort());
    expect(await aws.autoScaling.findGroupByTags({ 'eks:nodegroup-name': 'no-such-group' })).toBeUndefined();
  });

  it('finds our own group by tag and caches the answer', async () => {
    const role = `role-${Math.random().toString(36).slice(2, 8)}`;
    const name = await group({ desired: 0, tags: { 'kdb-aws-it/role': role } });
    const found = await aws.autoScaling.findGroupByTags({ 'kdb-aws-it/role': role });
    expect(found?.name).toBe(name);
    const before = events.length;
    await aws.autoScaling.findGroupByTags({ 'kdb-aws-it/role': role });
    expect(events.length).toBe(before); // served from the cache
  });

  it('describes Auto Scaling instances with their group', async () => {
    const name = await group({ desired: 2 });
    const ids = (await rawGroup(env, name)).Instances!.map((i) => i.InstanceId!);
    const got = await aws.autoScaling.describeAutoScalingInstances([...ids, 'i-00000000000000000']);
    expect(got.map((i) => i.instanceId).sort()).toEqual([...ids].sort());
    expect(got.every((i) => i.groupName === name && i.instanceType !== '' && i.zone !== '')).toBe(true);
    expect(await aws.autoScaling.describeAutoScalingInstances([])).toEqual([]);
  });
});

describe('setDesiredCapacity', () => {
  it('never lowers: set 3 when desired is 5 makes no SetDesiredCapacity call', async () => {
    const name = await group({ desired: 5 });
    const r = await aws.autoScaling.setDesiredCapacity(name, 3);
    expect(r).toMatchObject({ previous: 5, desired: 5, wrote: false });
    expect((await rawGroup(env, name)).DesiredCapacity).toBe(5);
    const calls = await countCalls('SetDesiredCapacity');
    expect(calls.observed).toBe(0);
    if (calls.injector !== undefined) expect(calls.injector).toBe(0);
    // The decision was made on a fresh read that went over the wire.
    if (env.faults !== undefined) {
      expect((await env.faults.calls(mark)).some((c) => c.operation === 'DescribeAutoScalingGroups' && ours(c))).toBe(true);
    }
  });

  it('raises to exactly N, once, however often it is asked', async () => {
    const name = await group({ desired: 1 });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await aws.autoScaling.setDesiredCapacity(name, 3));
    expect(results.map((r) => r.wrote)).toEqual([true, false, false]);
    const g = await rawGroup(env, name);
    expect(g.DesiredCapacity).toBe(3);
    expect(g.Instances).toHaveLength(3);
    const calls = await countCalls('SetDesiredCapacity');
    expect(calls.observed).toBe(1);
    if (calls.injector !== undefined) expect(calls.injector).toBe(1);
    // Concurrent callers asking for the same N still end at N.
    await Promise.all([4, 4, 4].map((n) => aws.autoScaling.setDesiredCapacity(name, n)));
    expect((await rawGroup(env, name)).DesiredCapacity).toBe(4);
  });

  it('is capped at MaxSize (moto would not refuse; AWS would)', async () => {
    const name = await group({ desired: 1, max: 2 });
    expect(await aws.autoScaling.setDesiredCapacity(name, 5)).toMatchObject({ desired: 2, wrote: true, limitedByMax: true });
    expect((await rawGroup(env, name)).DesiredCapacity).toBe(2);
  });
});

describe('terminateInstanceInGroup', () => {
  it('terminates exactly the named instance and decrements desired by one; twice is safe', async () => {
    const name = await group({ desired: 3 });
    const before = await rawGroup(env, name);
    const ids = before.Instances!.map((i) => i.InstanceId!);
    const victim = ids[1]!;
    const r = await aws.autoScaling.terminateInstanceInGroup(victim, { expectedGroup: name });
    expect(r).toEqual({ outcome: 'terminated', instanceId: victim, group: name });
    const after = await rawGroup(env, name);
    expect(after.DesiredCapacity).toBe(2);
    expect(after.Instances!.map((i) => i.InstanceId).sort()).toEqual(ids.filter((i) => i !== victim).sort());
    expect(await ec2State(env, victim)).toMatch(/shutting-down|terminated/);
    for (const other of ids.filter((i) => i !== victim)) expect(await ec2State(env, other)).toBe('running');

    const again = await aws.autoScaling.terminateInstanceInGroup(victim, { expectedGroup: name });
    expect(again.outcome === 'notFound' || again.outcome === 'alreadyTerminating').toBe(true);
    const final = await rawGroup(env, name);
    expect(final.DesiredCapacity).toBe(2);
    expect(final.Instances).toHaveLength(2);
    expect((await countCalls('TerminateInstanceInAutoScalingGroup')).observed).toBe(1);
  });

  it('refuses an instance of another group', async () => {
    const mine = await group({ desired: 1 });
    const other = await group({ desired: 1 });
    const id = (await rawGroup(env, other)).Instances![0]!.InstanceId!;
    await expect(aws.autoScaling.terminateInstanceInGroup(id, { expectedGroup: mine })).rejects.toMatchObject({
      name: 'AwsSafetyError',
    });
    expect((await rawGroup(env, other)).Instances).toHaveLength(1);
  });
});

describe('protection and group settings', () => {
  it('turns scale-in protection on and off', async () => {
    const name = await group({ desired: 2 });
    const [a, b] = (await rawGroup(env, name)).Instances!.map((i) => i.InstanceId!) as [string, string];
    expect(await aws.autoScaling.setInstanceProtection(name, [a], true)).toMatchObject({ updated: [a], unchanged: [] });
    let g = await rawGroup(env, name);
    expect(Object.fromEntries(g.Instances!.map((i) => [i.InstanceId, i.ProtectedFromScaleIn]))).toEqual({ [a]: true, [b]: false });
    expect(await aws.autoScaling.setInstanceProtection(name, [a, b], true)).toMatchObject({ updated: [b], unchanged: [a] });
    expect(await aws.autoScaling.setInstanceProtection(name, [a, b], false)).toMatchObject({ updated: [a, b] });
    g = await rawGroup(env, name);
    expect(g.Instances!.every((i) => i.ProtectedFromScaleIn === false)).toBe(true);
    expect(await aws.autoScaling.setInstanceProtection(name, ['i-0123456789abcdef0'], false)).toMatchObject({
      notInGroup: ['i-0123456789abcdef0'],
      updated: [],
    });
    // The facade's own view is fresh after its writes (cache invalidated).
    const mine = await aws.autoScaling.describeGroup(name);
    expect(mine!.instances.every((i) => !i.protectedFromScaleIn)).toBe(true);
  });

  it('protects new instances and suspends AZRebalance, each once', async () => {
    const name = await group({ desired: 1 });
    expect(await aws.autoScaling.protectNewInstances(name)).toEqual({ group: name, changed: true });
    expect(await aws.autoScaling.protectNewInstances(name)).toEqual({ group: name, changed: false });
    expect(await aws.autoScaling.suspendAZRebalance(name)).toEqual({ group: name, changed: true });
    expect(await aws.autoScaling.suspendAZRebalance(name)).toEqual({ group: name, changed: false });
    const g = await rawGroup(env, name);
    expect(g.NewInstancesProtectedFromScaleIn).toBe(true);
    expect(g.SuspendedProcesses!.map((p) => p.ProcessName)).toEqual(['AZRebalance']);
    expect((await countCalls('UpdateAutoScalingGroup')).observed).toBe(1);
    expect((await countCalls('SuspendProcesses')).observed).toBe(1);
    // New instances launched now come up protected.
    await aws.autoScaling.setDesiredCapacity(name, 2);
    const fresh = await aws.autoScaling.describeGroup(name);
    expect(fresh!.instances.filter((i) => i.protectedFromScaleIn)).toHaveLength(1);
    expect(await aws.autoScaling.resumeAZRebalance(name)).toEqual({ group: name, changed: true });
    expect((await rawGroup(env, name)).SuspendedProcesses).toEqual([]);
  });

  it('surfaces an unknown group as a typed error without writing', async () => {
    await expect(aws.autoScaling.setDesiredCapacity('kdb-aws-it-missing', 2)).rejects.toMatchObject({
      name: 'GroupNotFoundError',
      group: 'kdb-aws-it-missing',
    });
    expect((await countCalls('SetDesiredCapacity')).observed).toBe(0);
  });
});
