// Facade logic against an in-memory fake of the Auto Scaling API: which calls
// are made (and which are NOT), batching, caching, idempotency.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { AutoScaling } from '../../operator/src/aws/autoscaling.ts';
import { AmbiguousGroupError, AwsRequestError, AwsSafetyError, GroupNotFoundError } from '../../operator/src/aws/errors.ts';
import { RetryPolicy } from '../../operator/src/aws/retry.ts';
import { autoscaling as sdk } from '../lib/aws.ts';

interface FakeInstance {
  InstanceId: string;
  LifecycleState: string;
  ProtectedFromScaleIn: boolean;
}
interface FakeGroup {
  name: string;
  desired: number;
  min: number;
  max: number;
  instances: FakeInstance[];
  suspended: string[];
  protectNew: boolean;
  tags: Record<string, string>;
}

class FakeAsg {
  groups = new Map<string, FakeGroup>();
  calls: { op: string; input: Record<string, unknown> }[] = [];
  /** Errors to throw for the next calls of an operation. */
  failNext = new Map<string, Error[]>();
  #seq = 0;

  add(name: string, desired: number, extra: Partial<FakeGroup> = {}): FakeGroup {
    const g: FakeGroup = { name, desired, min: 0, max: 10, instances: [], suspended: [], protectNew: false, tags: {}, ...extra };
    for (let i = 0; i < desired; i++) g.instances.push(this.#instance());
    this.groups.set(name, g);
    return g;
  }

  #instance(): FakeInstance {
    return { InstanceId: `i-${String(++this.#seq).padStart(4, '0')}`, LifecycleState: 'InService', ProtectedFromScaleIn: false };
  }

  ops = (op: string) => this.calls.filter((c) => c.op === op);

  send = async (cmd: { input: Record<string, unknown> }): Promise<unknown> => {
    const op = cmd.constructor.name.replace(/Command$/, '');
    this.calls.push({ op, input: cmd.input });
    const queued = this.failNext.get(op);
    if (queued !== undefined && queued.length > 0) throw queued.shift();
    const input = cmd.input as Record<string, any>;
    const out = (g: FakeGroup) => ({
      AutoScalingGroupName: g.name,
      DesiredCapacity: g.desired,
      MinSize: g.min,
      MaxSize: g.max,
      Instances: g.instances.map((i) => ({ ...i, HealthStatus: 'Healthy', AvailabilityZone: 'us-east-1a', InstanceType: 't3a.medium' })),
      SuspendedProcesses: g.suspended.map((p) => ({ ProcessName: p })),
      NewInstancesProtectedFromScaleIn: g.protectNew,
      Tags: Object.entries(g.tags).map(([Key, Value]) => ({ Key, Value })),
    });
    if (cmd instanceof sdk.DescribeAutoScalingGroupsCommand) {
      let gs = [...this.groups.values()];
      if (input.AutoScalingGroupNames) gs = gs.filter((g) => input.AutoScalingGroupNames.includes(g.name));
      for (const f of input.Filters ?? []) {
        const key = String(f.Name).slice(4);
        gs = gs.filter((g) => f.Values.includes(g.tags[key]));
      }
      return { AutoScalingGroups: gs.map(out) };
    }
    if (cmd instanceof sdk.DescribeAutoScalingInstancesCommand) {
      const all = [...this.groups.values()].flatMap((g) => g.instances.map((i) => ({ ...i, AutoScalingGroupName: g.name, AvailabilityZone: 'us-east-1a', InstanceType: 't3a.medium' })));
      return { AutoScalingInstances: all.filter((i) => input.InstanceIds.includes(i.InstanceId)) };
    }
    const g = this.groups.get(input.AutoScalingGroupName);
    if (cmd instanceof sdk.SetDesiredCapacityCommand) {
      g!.desired = input.DesiredCapacity;
      while (g!.instances.length < g!.desired) g!.instances.push(this.#instance());
      return {};
    }
    if (cmd instanceof sdk.SetInstanceProtectionCommand) {
      for (const i of g!.instances) if (input.InstanceIds.includes(i.InstanceId)) i.ProtectedFromScaleIn = input.ProtectedFromScaleIn;
      return {};
    }
    if (cmd instanceof sdk.UpdateAutoScalingGroupCommand) {
      g!.protectNew = input.NewInstancesProtectedFromScaleIn;
      return {};
    }
    if (cmd instanceof sdk.SuspendProcessesCommand) {
      g!.suspended = [...new Set([...g!.suspended, ...input.ScalingProcesses])];
      return {};
    }
    if (cmd instanceof sdk.ResumeProcessesCommand) {
      g!.suspended = g!.suspended.filter((p) => !input.ScalingProcesses.includes(p));
      return {};
    }
    if (cmd instanceof sdk.TerminateInstanceInAutoScalingGroupCommand) {
      for (const grp of this.groups.values()) {
        const idx = grp.instances.findIndex((i) => i.InstanceId === input.InstanceId);
        if (idx >= 0) {
          grp.instances.splice(idx, 1);
          if (input.ShouldDecrementDesiredCapacity) grp.desired--;
          return { Activity: {} };
        }
      }
      throw validation(`Instance Id not found - No managed instance found for instance ID: ${input.InstanceId}`);
    }
    throw new Error(`fake: unsupported ${op}`);
  };
}

const validation = (message: string) =>
  Object.assign(new Error(message), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });

let fake: FakeAsg;
let clock: number;
let asg: AutoScaling;
const noSleep = new RetryPolicy({ sleep: async () => {}, random: () => 0 });

beforeEach(() => {
  fake = new FakeAsg();
  clock = 0;
  asg = new AutoScaling(fake as never, noSleep, { cacheTtlMs: 60_000, now: () => clock });
});

describe('setDesiredCapacity', () => {
  it('never lowers: set 3 when desired is 5 makes no write', async () => {
    fake.add('rdb', 5);
    const r = await asg.setDesiredCapacity('rdb', 3);
    expect(r).toEqual({ group: 'rdb', requested: 3, previous: 5, desired: 5, wrote: false, limitedByMax: false });
    expect(fake.ops('SetDesiredCapacity')).toEqual([]);
    expect(fake.groups.get('rdb')!.desired).toBe(5);
  });

  it('raises to exactly N with HonorCooldown false, and repeats are no-ops', async () => {
    fake.add('rdb', 1);
    expect(await asg.setDesiredCapacity('rdb', 3)).toMatchObject({ previous: 1, desired: 3, wrote: true });
    expect(await asg.setDesiredCapacity('rdb', 3)).toMatchObject({ previous: 3, desired: 3, wrote: false });
    expect(fake.ops('SetDesiredCapacity')).toEqual([
      { op: 'SetDesiredCapacity', input: { AutoScalingGroupName: 'rdb', DesiredCapacity: 3, HonorCooldown: false } },
    ]);
  });

  it('decides on a fresh read, not the cache', async () => {
    fake.add('rdb', 1);
    await asg.describeGroups(['rdb']); // cached: desired 1
    fake.groups.get('rdb')!.desired = 4; // someone else raised it
    const r = await asg.setDesiredCapacity('rdb', 3);
    expect(r).toMatchObject({ previous: 4, wrote: false });
    expect(fake.ops('SetDesiredCapacity')).toEqual([]);
  });

  it('stops at MaxSize and says so', async () => {
    fake.add('rdb', 2, { max: 4 });
    expect(await asg.setDesiredCapacity('rdb', 9)).toMatchObject({ desired: 4, wrote: true, limitedByMax: true });
    expect(await asg.setDesiredCapacity('rdb', 9)).toMatchObject({ desired: 4, wrote: false, limitedByMax: true });
  });

  it('rejects nonsense values and unknown groups without writing', async () => {
    fake.add('rdb', 1);
    await expect(asg.setDesiredCapacity('rdb', -1)).rejects.toThrow(RangeError);
    await expect(asg.setDesiredCapacity('rdb', 1.5)).rejects.toThrow(RangeError);
    await expect(asg.setDesiredCapacity('nope', 2)).rejects.toBeInstanceOf(GroupNotFoundError);
    expect(fake.ops('SetDesiredCapacity')).toEqual([]);
  });

  it('serialises concurrent read-decide-write sections on one group', async () => {
    fake.add('rdb', 1);
    const results = await Promise.all([2, 3, 2, 3].map((n) => asg.setDesiredCapacity('rdb', n)));
    // Each call read the value the previous one wrote: 1->2, 2->3, then nothing.
    expect(results.map((r) => [r.previous, r.wrote])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [3, false],
    ]);
    expect(fake.ops('SetDesiredCapacity').map((c) => c.input.DesiredCapacity)).toEqual([2, 3]);
  });

  it('has no way to lower desired capacity', () => {
    const methods = Object.getOwnPropertyNames(AutoScaling.prototype);
    expect(methods.filter((m) => /lower|decrease|scaleIn|setMin|updateGroup/i.test(m))).toEqual([]);
  });
});

describe('describe batching and caching', () => {
  it('batches 100 names per call and makes no call for none', async () => {
    for (let i = 0; i < 230; i++) fake.add(`g${i}`, 0);
    expect(await asg.describeGroups([])).toEqual([]);
    expect(fake.calls).toEqual([]);
    const names = Array.from({ length: 230 }, (_, i) => `g${i}`);
    const groups = await asg.describeGroups([...names, 'missing']);
    expect(groups.map((g) => g.name)).toEqual(names);
    expect(fake.ops('DescribeAutoScalingGroups').map((c) => (c.input.AutoScalingGroupNames as string[]).length)).toEqual([100, 100, 31]);
  });

  it('hands out frozen objects, so a caller cannot corrupt the cache', async () => {
    fake.add('rdb', 1);
    const g = (await asg.describeGroup('rdb'))!;
    expect(Object.isFrozen(g) && Object.isFrozen(g.instances[0]) && Object.isFrozen(g.tags)).toBe(true);
  });

  it('serves from cache for the TTL, then reads again', async () => {
    fake.add('rdb', 1);
    await asg.describeGroups(['rdb']);
    clock += 59_000;
    await asg.describeGroups(['rdb']);
    expect(fake.ops('DescribeAutoScalingGroups')).toHaveLength(1);
    clock += 1_000;
    await asg.describeGroups(['rdb']);
    expect(fake.ops('DescribeAutoScalingGroups')).toHaveLength(2);
  });

  it('invalidates a group after any mutation of it, even a failed one', async () => {
    fake.add('rdb', 1);
    fake.add('tp', 1);
    await asg.describeGroups(['rdb', 'tp']);
    await asg.setDesiredCapacity('rdb', 2);
    const before = fake.ops('DescribeAutoScalingGroups').length;
    const [rdb, tp] = await asg.describeGroups(['rdb', 'tp']);
    expect(rdb!.desired).toBe(2);
    expect(tp!.desired).toBe(1);
    // only rdb was re-read
    expect(fake.ops('DescribeAutoScalingGroups').slice(before).map((c) => c.input.AutoScalingGroupNames)).toEqual([['rdb']]);

    fake.failNext.set('SuspendProcesses', [validation('boom')]);
    await expect(asg.suspendAZRebalance('rdb')).rejects.toBeInstanceOf(AwsRequestError);
    const n = fake.ops('DescribeAutoScalingGroups').length;
    await asg.describeGroups(['rdb']);
    expect(fake.ops('DescribeAutoScalingGroups')).toHaveLength(n + 1);
  });

  it('finds a group by EKS tags, caches the lookup, refuses ambiguity', async () => {
    fake.add('eks-rdb-1', 1, { tags: { 'eks:cluster-name': 'kdb', 'eks:nodegroup-name': 'rdb' } });
    fake.add('eks-tp-1', 1, { tags: { 'eks:cluster-name': 'kdb', 'eks:nodegroup-name': 'tickerplant' } });
    const g = await asg.findGroupByTags({ 'eks:cluster-name': 'kdb', 'eks:nodegroup-name': 'rdb' });
    expect(g?.name).toBe('eks-rdb-1');
    expect(fake.calls[0]!.input.Filters).toEqual([
      { Name: 'tag:eks:cluster-name', Values: ['kdb'] },
      { Name: 'tag:eks:nodegroup-name', Values: ['rdb'] },
    ]);
    await asg.findGroupByTags({ 'eks:nodegroup-name': 'rdb', 'eks:cluster-name': 'kdb' });
    expect(fake.calls).toHaveLength(1);
    expect(await asg.findGroupByTags({ 'eks:nodegroup-name': 'none' })).toBeUndefined();
    fake.add('eks-rdb-2', 1, { tags: { 'eks:cluster-name': 'kdb', 'eks:nodegroup-name': 'rdb' } });
    await expect(asg.findGroupByTags({ 'eks:nodegroup-name': 'rdb' })).rejects.toBeInstanceOf(AmbiguousGroupError);
  });

  it('describes instances 50 per call, none for an empty list', async () => {
    fake.add('rdb', 120);
    expect(await asg.describeAutoScalingInstances([])).toEqual([]);
    expect(fake.calls).toEqual([]);
    const ids = fake.groups.get('rdb')!.instances.map((i) => i.InstanceId);
    const got = await asg.describeAutoScalingInstances(ids);
    expect(got).toHaveLength(120);
    expect(got[0]).toMatchObject({ groupName: 'rdb', lifecycleState: 'InService', zone: 'us-east-1a', instanceType: 't3a.medium' });
    expect(fake.ops('DescribeAutoScalingInstances').map((c) => (c.input.InstanceIds as string[]).length)).toEqual([50, 50, 20]);
  });
});

describe('protection and group settings', () => {
  it('writes protection only where it differs and reports gone instances', async () => {
    const g = fake.add('rdb', 3);
    const [a, b, c] = g.instances.map((i) => i.InstanceId) as [string, string, string];
    g.instances[1]!.ProtectedFromScaleIn = true;
    const r = await asg.setInstanceProtection('rdb', [a, b, 'i-gone', a], true);
    expect(r).toEqual({ group: 'rdb', protected: true, updated: [a], unchanged: [b], notInGroup: ['i-gone'] });
    expect(fake.ops('SetInstanceProtection')).toHaveLength(1);
    expect(await asg.setInstanceProtection('rdb', [a, b], true)).toMatchObject({ updated: [], unchanged: [a, b] });
    expect(fake.ops('SetInstanceProtection')).toHaveLength(1);
    expect(await asg.setInstanceProtection('rdb', [a, c], false)).toMatchObject({ updated: [a], unchanged: [c] });
    expect(await asg.setInstanceProtection('rdb', [], false)).toMatchObject({ updated: [] });
  });

  it('protects new instances and suspends AZRebalance once', async () => {
    fake.add('rdb', 1);
    expect(await asg.protectNewInstances('rdb')).toEqual({ group: 'rdb', changed: true });
    expect(await asg.protectNewInstances('rdb')).toEqual({ group: 'rdb', changed: false });
    expect(fake.ops('UpdateAutoScalingGroup')).toEqual([
      { op: 'UpdateAutoScalingGroup', input: { AutoScalingGroupName: 'rdb', NewInstancesProtectedFromScaleIn: true } },
    ]);
    expect(await asg.suspendAZRebalance('rdb')).toMatchObject({ changed: true });
    expect(await asg.suspendAZRebalance('rdb')).toMatchObject({ changed: false });
    expect(fake.ops('SuspendProcesses')).toHaveLength(1);
    expect(fake.ops('SuspendProcesses')[0]!.input.ScalingProcesses).toEqual(['AZRebalance']);
    expect(await asg.resumeAZRebalance('rdb')).toMatchObject({ changed: true });
    expect(await asg.resumeAZRebalance('rdb')).toMatchObject({ changed: false });
  });
});

describe('terminateInstanceInGroup', () => {
  it('terminates the named instance with decrement, and a repeat is a no-op', async () => {
    const g = fake.add('rdb', 3);
    const victim = g.instances[1]!.InstanceId;
    expect(await asg.terminateInstanceInGroup(victim, { expectedGroup: 'rdb' })).toEqual({
      outcome: 'terminated',
      instanceId: victim,
      group: 'rdb',
    });
    expect(fake.ops('TerminateInstanceInAutoScalingGroup')).toEqual([
      { op: 'TerminateInstanceInAutoScalingGroup', input: { InstanceId: victim, ShouldDecrementDesiredCapacity: true } },
    ]);
    expect(g.desired).toBe(2);
    expect(await asg.terminateInstanceInGroup(victim)).toEqual({ outcome: 'notFound', instanceId: victim });
    expect(fake.ops('TerminateInstanceInAutoScalingGroup')).toHaveLength(1);
    expect(g.desired).toBe(2);
  });

  it('counts an instance already terminating as done without calling', async () => {
    const g = fake.add('rdb', 2);
    g.instances[0]!.LifecycleState = 'Terminating:Wait';
    const r = await asg.terminateInstanceInGroup(g.instances[0]!.InstanceId);
    expect(r).toMatchObject({ outcome: 'alreadyTerminating', lifecycleState: 'Terminating:Wait' });
    expect(fake.ops('TerminateInstanceInAutoScalingGroup')).toEqual([]);
  });

  it('treats losing the race to another terminate as done', async () => {
    const g = fake.add('rdb', 2);
    const id = g.instances[0]!.InstanceId;
    fake.failNext.set('TerminateInstanceInAutoScalingGroup', [
      validation(`Instance Id not found - No managed instance found for instance ID: ${id}`),
    ]);
    expect(await asg.terminateInstanceInGroup(id)).toEqual({ outcome: 'notFound', instanceId: id });
  });

  it('refuses to terminate an instance of another group', async () => {
    const tp = fake.add('tickerplant', 1);
    await expect(asg.terminateInstanceInGroup(tp.instances[0]!.InstanceId, { expectedGroup: 'rdb' })).rejects.toBeInstanceOf(
      AwsSafetyError,
    );
    expect(fake.ops('TerminateInstanceInAutoScalingGroup')).toEqual([]);
  });

  it('surfaces other validation errors (e.g. min size) typed', async () => {
    const g = fake.add('rdb', 1, { min: 1 });
    fake.failNext.set('TerminateInstanceInAutoScalingGroup', [
      validation('Currently, desiredSize equals minSize (1). Terminating instance without replacement will violate group\'s min size constraint.'),
    ]);
    await expect(asg.terminateInstanceInGroup(g.instances[0]!.InstanceId)).rejects.toMatchObject({
      name: 'AwsRequestError',
      code: 'ValidationError',
    });
  });

  it('retries a throttled terminate and still terminates exactly once', async () => {
    const g = fake.add('rdb', 2);
    const id = g.instances[0]!.InstanceId;
    fake.failNext.set('TerminateInstanceInAutoScalingGroup', [
      Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
    ]);
    expect(await asg.terminateInstanceInGroup(id)).toMatchObject({ outcome: 'terminated' });
    expect(g.desired).toBe(1);
  });
});

describe('at rest, many pools: DescribeAutoScalingGroups coalesced', () => {
  // 200 KdbClusters, one RDB group each; every cluster reconciles once a
  // minute (IDLE_REQUEUE_MS), spread evenly over the minute, and reads its group.
  const GROUPS = 200;
  const names = Array.from({ length: GROUPS }, (_, i) => `eks-rdb-${String(i).padStart(3, '0')}`);
  const tagsOf = (i: number) => ({ 'eks:cluster-name': 'prod', 'eks:nodegroup-name': `rdb-${i}` });

  const atRest = async (read: (i: number) => Promise<unknown>, minutes = 5) => {
    const describes = () => fake.ops('DescribeAutoScalingGroups');
    const stepMs = 60_000 / GROUPS;
    const perMinute: number[] = [];
    // One minute to warm up (every pool's first read), then measure.
    for (let m = 0; m < minutes + 1; m++) {
      const before = describes().length;
      for (let i = 0; i < GROUPS; i++) {
        await read(i);
        clock += stepMs;
      }
      if (m > 0) perMinute.push(describes().length - before);
    }
    return { perMinute, calls: describes() };
  };

  /** How often each group was named in a call, per minute measured. */
  const readsPerGroupPerMinute = (calls: { input: Record<string, unknown> }[], minutes: number) => {
    const n = new Map<string, number>();
    for (const c of calls) for (const g of (c.input.AutoScalingGroupNames as string[] | undefined) ?? []) n.set(g, (n.get(g) ?? 0) + 1);
    return Math.max(...[...n.values()]) / minutes;
  };

  it('by name: a handful of calls a minute for 200 groups, not 200', async () => {
    names.forEach((n) => fake.add(n, 2));
    const { perMinute, calls } = await atRest((i) => asg.describeGroup(names[i]!));

    for (const c of perMinute) expect(c).toBeLessThanOrEqual(8);
    expect(perMinute.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5 * 8);
    for (const c of calls) expect((c.input.AutoScalingGroupNames as string[]).length).toBeLessThanOrEqual(100);
    // Each group is read about once a minute (twice at most: refreshed ahead at half its TTL).
    expect(readsPerGroupPerMinute(calls.slice(-perMinute.reduce((a, b) => a + b, 0)), 5)).toBeLessThanOrEqual(2);
    // And every pool still sees its group no older than the TTL.
    const g = await asg.describeGroup(names[0]!);
    expect(g?.name).toBe(names[0]);
  });

  it('without refresh-ahead it would be one call per group per minute (what the coalescing saves)', async () => {
    asg = new AutoScaling(fake as never, noSleep, { cacheTtlMs: 60_000, now: () => clock, refreshAheadMs: 0 });
    names.forEach((n) => fake.add(n, 2));
    const { perMinute } = await atRest((i) => asg.describeGroup(names[i]!), 2);
    for (const c of perMinute) expect(c).toBeGreaterThanOrEqual(GROUPS - 1);
  });

  it('by EKS tags: after the first lookup the groups are read by name, coalesced; the tag query itself is rare', async () => {
    names.forEach((n, i) => fake.add(n, 2, { tags: tagsOf(i) }));
    const { perMinute, calls } = await atRest((i) => asg.findGroupsByTags(tagsOf(i)));
    const measured = calls.slice(-perMinute.reduce((a, b) => a + b, 0));
    const filtered = measured.filter((c) => c.input.Filters !== undefined).length;
    // Which groups carry a pool's tags is kept 5 minutes: one lookup per pool in the 5 minutes measured
    // (40 a minute for 200 pools, not 200), the groups' contents read by name, coalesced.
    expect(filtered).toBeLessThanOrEqual(GROUPS);
    const byName = measured.filter((c) => c.input.Filters === undefined);
    expect(byName.length).toBeLessThanOrEqual(5 * 8);
    // The minutes without a round of lookups: a handful of calls.
    expect(Math.min(...perMinute)).toBeLessThanOrEqual(8);
  });

  it('a refreshed group serves the read that comes later, with what AWS says at the refresh', async () => {
    fake.add('a', 1);
    fake.add('b', 1);
    await asg.describeGroup('a');
    clock += 40_000;
    await asg.describeGroup('b'); // a is due within 30 s: refreshed in the same call
    expect(fake.ops('DescribeAutoScalingGroups').map((c) => c.input.AutoScalingGroupNames)).toEqual([['a'], ['b', 'a']]);
    fake.groups.get('a')!.desired = 3;
    clock += 30_000; // 70 s after a's first read, 30 s after its refresh
    expect((await asg.describeGroup('a'))?.desired).toBe(1);
    expect(fake.ops('DescribeAutoScalingGroups')).toHaveLength(2);
    clock += 30_000;
    expect((await asg.describeGroup('a'))?.desired).toBe(3);
  });

  it('a fresh read (a scale-in in flight) is never served from the cache, and refreshes nothing else it was not asked for beyond one call', async () => {
    fake.add('a', 1);
    fake.add('b', 1);
    await asg.describeGroups(['a', 'b']);
    clock += 45_000;
    await asg.describeGroup('a', { fresh: true });
    const last = fake.ops('DescribeAutoScalingGroups').at(-1)!;
    expect((last.input.AutoScalingGroupNames as string[])[0]).toBe('a');
    expect(fake.ops('DescribeAutoScalingGroups')).toHaveLength(2);
  });

  it('a tag lookup is asked again when a group it found is gone', async () => {
    fake.add('g1', 1, { tags: tagsOf(1) });
    expect((await asg.findGroupsByTags(tagsOf(1))).map((g) => g.name)).toEqual(['g1']);
    fake.groups.delete('g1');
    fake.add('g2', 1, { tags: tagsOf(1) });
    clock += 61_000;
    expect((await asg.findGroupsByTags(tagsOf(1))).map((g) => g.name)).toEqual(['g2']);
  });
});
