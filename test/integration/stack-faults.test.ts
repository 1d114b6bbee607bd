// The fault injector in front of moto: calls pass through unchanged, injected
// throttling and server errors reach the real AWS SDK in each protocol's own
// format (so the SDK retries them as it would against AWS), and the call log
// records every attempt with its operation, group and instance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { autoscaling, awsClientConfig, ec2, efs, motoClientConfig } from '../lib/aws.ts';
import { calls, clearFaults, lastSeq, setFaults } from '../lib/faults.ts';
import type { AwsCall } from '../lib/faults.ts';
import { PORTS, readStackAws, stackDir } from '../lib/stack.ts';

// What the operator sees (through the injector) and fixtures (straight to moto).
const viaInjector = awsClientConfig('injector');
const asg = new autoscaling.AutoScalingClient(viaInjector);
const ec2c = new ec2.EC2Client(viaInjector);
const efsc = new efs.EFSClient(viaInjector);
const fixtureAsg = new autoscaling.AutoScalingClient(motoClientConfig());

const stack = readStackAws();
// A group of our own without EKS tags, so the node simulator ignores it and
// the seeded node groups keep their size.
const group = `stack-faults-${Date.now().toString(36)}`;

const rejection = async (p: Promise<unknown>): Promise<any> => {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
};

/** Calls recorded after `mark` for one operation. */
const callsOf = async (mark: number, operation: string): Promise<AwsCall[]> =>
  (await calls(mark)).filter((c) => c.operation === operation);

beforeAll(async () => {
  await clearFaults();
  await fixtureAsg.send(
    new autoscaling.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: group,
      LaunchTemplate: { LaunchTemplateName: stack.nodeGroups.rdb.launchTemplateName, Version: '$Latest' },
      MinSize: 0,
      MaxSize: 5,
      DesiredCapacity: 1,
      VPCZoneIdentifier: stack.subnetIds[0],
    }),
  );
});

afterEach(async () => {
  await clearFaults();
});

afterAll(async () => {
  await fixtureAsg.send(new autoscaling.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: group, ForceDelete: true }));
  for (const c of [asg, ec2c, efsc, fixtureAsg]) c.destroy();
});

describe('fault injector', () => {
  it('passes calls through to moto and logs operation and group names', async () => {
    const mark = await lastSeq();
    const names = Object.values(stack.nodeGroups).map((g) => g.asgName);
    const out = await asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names }));
    expect(out.AutoScalingGroups?.map((g) => g.AutoScalingGroupName).sort()).toEqual([...names].sort());
    const [call] = await callsOf(mark, 'DescribeAutoScalingGroups');
    expect(call).toMatchObject({ service: 'autoscaling', status: 200, injected: null, attempt: 1 });
    expect(call?.params['AutoScalingGroupNames']).toEqual(names);
    expect(new Date(call!.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('throttles Auto Scaling in the query protocol; the SDK retries every attempt (3) and gives up', async () => {
    await setFaults({ throttleRate: 1, operations: ['SetDesiredCapacity'] });
    const mark = await lastSeq();
    const err = await rejection(asg.send(new autoscaling.SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 2 })));
    expect(err.name).toBe('Throttling');
    expect(err.$metadata.attempts).toBe(3);
    const log = await callsOf(mark, 'SetDesiredCapacity');
    expect(log.map((c) => [c.injected, c.status, c.attempt])).toEqual([
      ['throttle', 400, 1],
      ['throttle', 400, 2],
      ['throttle', 400, 3],
    ]);
    expect(log[0]?.params).toMatchObject({ AutoScalingGroupName: group, DesiredCapacity: 2 });
    // Other operations were not in the filter.
    await asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }));
  }, 30_000);

  it('a throttle the SDK retries past succeeds and takes effect once', async () => {
    await setFaults({ throttleRate: 1, operations: ['SetDesiredCapacity'], maxInjections: 1 });
    const mark = await lastSeq();
    const out = await asg.send(new autoscaling.SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 2 }));
    expect(out.$metadata.attempts).toBe(2);
    const log = await callsOf(mark, 'SetDesiredCapacity');
    expect(log.map((c) => [c.injected, c.status])).toEqual([
      ['throttle', 400],
      [null, 200],
    ]);
    const g = await fixtureAsg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }));
    expect(g.AutoScalingGroups?.[0]?.DesiredCapacity).toBe(2);
  }, 30_000);

  it('throttles EC2 with RequestLimitExceeded and EFS with ThrottlingException, both retried', async () => {
    await setFaults({ throttleRate: 1, services: ['ec2', 'efs'] });
    const mark = await lastSeq();
    const e = await rejection(ec2c.send(new ec2.DescribeInstancesCommand({ InstanceIds: ['i-0000000000000001'] })));
    expect([e.name, e.$metadata.attempts]).toEqual(['RequestLimitExceeded', 3]);
    const f = await rejection(efsc.send(new efs.DescribeFileSystemsCommand({ FileSystemId: stack.efsFileSystemId })));
    expect([f.name, f.$metadata.attempts]).toEqual(['ThrottlingException', 3]);
    const log = await calls(mark);
    expect(log.filter((c) => c.service === 'ec2' && c.operation === 'DescribeInstances' && c.injected === 'throttle')).toHaveLength(3);
    const efsCalls = log.filter((c) => c.service === 'efs' && c.operation === 'DescribeFileSystems');
    expect(efsCalls.map((c) => c.injected)).toEqual(['throttle', 'throttle', 'throttle']);
    expect(efsCalls[0]?.params['FileSystemId']).toBe(stack.efsFileSystemId);
  }, 30_000);

  it('a server error is retried as transient and surfaces as a 5xx after the last attempt', async () => {
    await setFaults({ errorRate: 1, services: ['autoscaling'], errorStatus: 503 });
    const mark = await lastSeq();
    const err = await rejection(asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] })));
    expect(err.$metadata.httpStatusCode).toBe(503);
    expect(err.$metadata.attempts).toBe(3);
    expect(err.$fault).toBe('server');
    const log = await callsOf(mark, 'DescribeAutoScalingGroups');
    expect(log.map((c) => [c.injected, c.status])).toEqual([
      ['error', 503],
      ['error', 503],
      ['error', 503],
    ]);
  }, 30_000);

  it('records the instance, group and flags of instance-level calls', async () => {
    const g = await fixtureAsg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }));
    const [first, second] = (g.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!);
    expect(first).toBeDefined();
    const mark = await lastSeq();
    await asg.send(
      new autoscaling.SetInstanceProtectionCommand({
        AutoScalingGroupName: group,
        InstanceIds: [first!, ...(second ? [second] : [])],
        ProtectedFromScaleIn: true,
      }),
    );
    await asg.send(new autoscaling.TerminateInstanceInAutoScalingGroupCommand({ InstanceId: first!, ShouldDecrementDesiredCapacity: true }));
    await ec2c.send(new ec2.DescribeInstancesCommand({ InstanceIds: [first!] }));
    const log = await calls(mark);
    expect(log.find((c) => c.operation === 'SetInstanceProtection')?.params).toEqual({
      AutoScalingGroupName: group,
      InstanceIds: second ? [first, second] : [first],
      ProtectedFromScaleIn: true,
    });
    expect(log.find((c) => c.operation === 'TerminateInstanceInAutoScalingGroup')?.params).toEqual({
      InstanceId: first,
      ShouldDecrementDesiredCapacity: true,
    });
    expect(log.find((c) => c.operation === 'DescribeInstances')).toMatchObject({ service: 'ec2', params: { InstanceIds: [first] } });
  }, 30_000);

  it('adds latency to matching calls only', async () => {
    await setFaults({ latencyMs: 1_500, operations: ['DescribeAutoScalingGroups'] });
    const mark = await lastSeq();
    const t0 = Date.now();
    await asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
    await ec2c.send(new ec2.DescribeInstancesCommand({ InstanceIds: [] }));
    const log = await calls(mark);
    expect(log.find((c) => c.operation === 'DescribeAutoScalingGroups')?.durationMs).toBeGreaterThanOrEqual(1_500);
    expect(log.find((c) => c.operation === 'DescribeInstances')?.durationMs).toBeLessThan(1_500);
  }, 30_000);

  it('rejects an invalid fault spec and keeps the JSONL log free of credentials', async () => {
    const res = await fetch(`http://127.0.0.1:${PORTS.faultsControl}/faults`, { method: 'PUT', body: JSON.stringify({ throttleRate: 2 }) });
    expect(res.status).toBe(400);
    const jsonl = readFileSync(join(stackDir(), 'logs', 'aws-calls.jsonl'), 'utf8');
    const lines = jsonl.trim().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(() => lines.map((l) => JSON.parse(l))).not.toThrow();
    expect(jsonl).not.toMatch(/AWS4-HMAC-SHA256|Credential=|Signature=/);
  });
});
