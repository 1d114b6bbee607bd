// The retry policy against injected faults on the stack's fault injector:
// throttling is absorbed, a dead AWS ends in AwsUnavailableError within a
// bounded time, and a failing read never turns into a blind write.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AwsUnavailableError, type Aws, type CallEvent } from '../../operator/src/aws/index.ts';
import {
  awsTestEnv,
  createTestGroup,
  deleteTestGroup,
  operatorAws,
  rawGroup,
  testFileSystem,
  uniqueName,
  type AwsCall,
  type AwsTestEnv,
  type Faults,
} from './aws-env.ts';

// Faults need the stack's injector; a private dev moto has none.
const suite = process.env.KDB_AWS_DEV_ENDPOINT && !process.env.KDB_FAULTS_URL ? describe.skip : describe;

let env: AwsTestEnv;
let faults: Faults;
const groups: string[] = [];
const clients: Aws[] = [];

const build = (...args: Parameters<typeof operatorAws> extends [unknown, ...infer R] ? R : never) => {
  const made = operatorAws(env, ...args);
  clients.push(made.aws);
  return made;
};

const sumAttempts = (events: CallEvent[]) => events.reduce((n, e) => n + e.attempts, 0);
const isThrottle = (c: AwsCall) => c.injected === 'throttle';

/** Calls in the injector's log that name one of these groups, instances, file systems or access points. */
const naming = (calls: AwsCall[], ids: Set<string>) =>
  calls.filter((c) =>
    Object.values(c.params).some((v) => (Array.isArray(v) ? v.some((x) => ids.has(x)) : typeof v === 'string' && ids.has(v))),
  );

suite('AWS layer under injected faults', () => {
  beforeAll(async () => {
    env = await awsTestEnv();
    faults = env.faults!;
    await faults.clear();
  }, 30_000);

  afterEach(async () => {
    await faults.clear();
  });

  afterAll(async () => {
    await faults?.clear();
    for (const g of groups) await deleteTestGroup(env, g);
    for (const c of clients) c.destroy();
    env?.destroy();
  }, 60_000);

  it('completes every operation with 50% throttling, retrying exactly the injected throttles', async () => {
    const name = await createTestGroup(env, { desired: 1 });
    groups.push(name);
    const fsId = await testFileSystem(env);
    const { aws, events } = build();
    const mark = await faults.mark();
    await faults.set({ throttleRate: 0.5 });

    const a = aws.autoScaling;
    for (let i = 0; i < 5; i++) expect(await a.describeGroup(name, { fresh: true })).toBeDefined();
    expect(await a.setDesiredCapacity(name, 3)).toMatchObject({ desired: 3, wrote: true });
    expect(await a.setDesiredCapacity(name, 3)).toMatchObject({ wrote: false });
    const ids = (await a.describeGroup(name, { fresh: true }))!.instances.map((i) => i.instanceId);
    expect(await a.setInstanceProtection(name, ids, true)).toMatchObject({ updated: expect.arrayContaining(ids) });
    expect(await a.protectNewInstances(name)).toMatchObject({ changed: true });
    expect(await a.suspendAZRebalance(name)).toMatchObject({ changed: true });
    expect(await a.describeAutoScalingInstances(ids)).toHaveLength(3);
    expect(await a.setInstanceProtection(name, [ids[0]!], false)).toMatchObject({ updated: [ids[0]] });
    expect(await a.terminateInstanceInGroup(ids[0]!, { expectedGroup: name })).toMatchObject({ outcome: 'terminated' });
    expect(await a.terminateInstanceInGroup(ids[0]!, { expectedGroup: name })).toMatchObject({ outcome: 'notFound' });
    expect(await aws.efs.describeFileSystem(fsId)).toMatchObject({ found: true });
    const clusterKey = `${uniqueName('ns')}/throttled`;
    const ap = await aws.efs.ensureAccessPoint({ fileSystemId: fsId, clusterKey, rootPath: '/kdb/t', posixUser: { uid: 1, gid: 1 } });
    expect((await aws.efs.ensureAccessPoint({ fileSystemId: fsId, clusterKey, rootPath: '/kdb/t', posixUser: { uid: 1, gid: 1 } })).created).toBe(false);
    expect(await aws.efs.deleteAccessPoint(ap.accessPoint.id)).toMatchObject({ deleted: true });
    await faults.clear();

    // End state is exactly what the calls asked for, with no duplicate effect.
    const g = await rawGroup(env, name);
    expect(g.DesiredCapacity).toBe(2);
    expect(g.Instances).toHaveLength(2);
    expect(events.every((e) => e.outcome === 'ok')).toBe(true);

    // Attribute the log: Auto Scaling calls name our group or its instances;
    // nothing else on the stack calls EFS through the injector during tests.
    const all = await faults.calls(mark);
    const asgCalls = naming(all.filter((c) => c.service === 'autoscaling'), new Set([name, ...ids]));
    const efsCalls = all.filter((c) => c.service === 'efs');
    const isEfs = (e: CallEvent) => /FileSystem|AccessPoint/.test(e.operation);
    for (const [logged, ours] of [
      [asgCalls, events.filter((e) => !isEfs(e))],
      [efsCalls, events.filter(isEfs)],
    ] as const) {
      // Every throttled attempt of ours is one the injector made up, and
      // every request the injector saw from us is an attempt we counted.
      expect(ours.reduce((n, e) => n + e.throttles, 0)).toBe(logged.filter(isThrottle).length);
      expect(sumAttempts(ours)).toBe(logged.length);
    }
    expect(all.filter(isThrottle).length).toBeGreaterThan(0);
    // The writes happened exactly once despite the throttling.
    expect(asgCalls.filter((c) => c.operation === 'SetDesiredCapacity' && !isThrottle(c))).toHaveLength(1);
    expect(asgCalls.filter((c) => c.operation === 'TerminateInstanceInAutoScalingGroup' && !isThrottle(c))).toHaveLength(1);
    expect(efsCalls.filter((c) => c.operation === 'CreateAccessPoint' && !isThrottle(c))).toHaveLength(1);
  }, 120_000);

  it('gives up with AwsUnavailableError within the deadline when every call fails', async () => {
    const name = await createTestGroup(env, { desired: 2 });
    groups.push(name);
    const { aws, events } = build(); // production retry defaults
    const mark = await faults.mark();
    await faults.set({ errorRate: 1 });

    const started = Date.now();
    const err = await aws.autoScaling.describeGroup(name, { fresh: true }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(AwsUnavailableError);
    const u = err as AwsUnavailableError;
    expect(u.throttled).toBe(false);
    expect(u.attempts).toBeGreaterThan(1);
    expect(u.attempts).toBeLessThanOrEqual(10);
    expect(elapsed).toBeLessThan(30_000 + 2_000);
    expect(events).toEqual([expect.objectContaining({ operation: 'DescribeAutoScalingGroups', outcome: 'unavailable', attempts: u.attempts })]);
    expect(naming(await faults.calls(mark), new Set([name]))).toHaveLength(u.attempts);
  }, 60_000);

  it('never writes blind: with reads failing, setDesiredCapacity and terminate make no write', async () => {
    const name = await createTestGroup(env, { desired: 2 });
    groups.push(name);
    const victim = (await rawGroup(env, name)).Instances![0]!.InstanceId!;
    const { aws } = build({ retry: { deadlineMs: 2_000 } });
    const mark = await faults.mark();
    await faults.set({ errorRate: 1 });
    const started = Date.now();
    await expect(aws.autoScaling.setDesiredCapacity(name, 5)).rejects.toBeInstanceOf(AwsUnavailableError);
    await expect(aws.autoScaling.terminateInstanceInGroup(victim)).rejects.toBeInstanceOf(AwsUnavailableError);
    // Two calls, each bounded by its 2 s deadline, plus slack for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2 * 2_000 + 4_000);
    const ops = new Set(naming(await faults.calls(mark), new Set([name, victim])).map((c) => c.operation));
    expect(ops.has('DescribeAutoScalingGroups')).toBe(true); // the reads were tried
    expect(ops.has('SetDesiredCapacity')).toBe(false);
    expect(ops.has('TerminateInstanceInAutoScalingGroup')).toBe(false);
    await faults.clear();
    const g = await rawGroup(env, name);
    expect(g.DesiredCapacity).toBe(2);
    expect(g.Instances).toHaveLength(2);
  }, 60_000);

  it('times out a hung endpoint per attempt and still gives up within the deadline', async () => {
    const { aws, events } = build({ retry: { deadlineMs: 4_000 } }, { requestTimeoutMs: 500 });
    await faults.set({ latencyMs: 3_000 });
    const started = Date.now();
    const err = await aws.autoScaling.describeGroups([uniqueName('any')]).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(AwsUnavailableError);
    // Each attempt is cut by the HTTP handler's request timeout (TimeoutError)
    // or, when a loaded machine delays that timer, by the attempt's own abort
    // a second later (AbortError): either way a timeout, not a hang.
    expect(['TimeoutError', 'AbortError']).toContain((err as AwsUnavailableError).lastErrorCode);
    expect(elapsed).toBeLessThan(4_000 + 3_000);
    expect(events[0]!.attempts).toBeGreaterThan(1);
  }, 30_000);
});
