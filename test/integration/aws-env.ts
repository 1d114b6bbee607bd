// Where the AWS integration tests run and the fixtures they need.
//
// stack mode (the default, `make up`): the operator-side clients go through
// the fault injector (14566); fixtures are made directly on moto (15000) so
// they are neither faulted nor in the injector's call log.
// dev mode (KDB_AWS_DEV_ENDPOINT=http://127.0.0.1:<port>, a private moto):
// everything talks to that moto; the fault-injection tests are skipped
// unless KDB_FAULTS_URL (and KDB_AWS_DEV_MOTO behind it) name an injector.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createAws, type Aws, type AwsClientConfig, type AwsOptions, type CallEvent } from '../../operator/src/aws/index.ts';
import { autoscaling, ec2, efs, motoClientConfig } from '../lib/aws.ts';
import { calls, clearFaults, lastSeq, setFaults, type AwsCall, type FaultSpec } from '../lib/faults.ts';
import { PORTS, readStackAws, stackDir, type StackAws } from '../lib/stack.ts';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface AwsTestEnv {
  mode: 'stack' | 'dev';
  region: string;
  /** What the operator uses (the fault injector on the stack). */
  endpoint: string;
  stack: StackAws | undefined;
  /** Fixture clients: straight to moto. */
  asg: autoscaling.AutoScalingClient;
  ec2: ec2.EC2Client;
  efs: efs.EFSClient;
  faults: Faults | undefined;
  destroy(): void;
}

export const awsTestEnv = async (): Promise<AwsTestEnv> => {
  const dev = process.env.KDB_AWS_DEV_ENDPOINT;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  let direct: { region: string; endpoint: string; credentials: typeof credentials };
  let env: Pick<AwsTestEnv, 'mode' | 'endpoint' | 'stack' | 'faults'>;
  if (dev !== undefined && dev !== '') {
    // KDB_AWS_DEV_MOTO: fixtures straight to moto when dev points at a proxy.
    direct = { region, endpoint: process.env.KDB_AWS_DEV_MOTO ?? dev, credentials };
    const withFaults = process.env.KDB_FAULTS_URL !== undefined && process.env.KDB_FAULTS_URL !== '';
    env = { mode: 'dev', endpoint: dev, stack: undefined, faults: withFaults ? faultsControl() : undefined };
  } else {
    if (!existsSync(join(stackDir(), 'aws.json'))) {
      throw new Error(`local stack not up (no ${join(stackDir(), 'aws.json')}): run \`make up\`, or set KDB_AWS_DEV_ENDPOINT`);
    }
    // Same variables as .stack/env, defaulting to the contract's ports.
    direct = { ...motoClientConfig(), region, credentials };
    const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${PORTS.awsEndpoint}`;
    env = { mode: 'stack', endpoint, stack: readStackAws(), faults: faultsControl() };
  }
  const c = { ...direct, maxAttempts: 3 };
  const asg = new autoscaling.AutoScalingClient(c);
  const ec2c = new ec2.EC2Client(c);
  const efsc = new efs.EFSClient(c);
  return {
    ...env,
    region,
    asg,
    ec2: ec2c,
    efs: efsc,
    destroy: () => {
      asg.destroy();
      ec2c.destroy();
      efsc.destroy();
    },
  };
};

/** The operator's AWS layer as the controller builds it, recording its calls. */
export const operatorAws = (
  env: AwsTestEnv,
  options: AwsOptions = {},
  client: Partial<AwsClientConfig> = {},
): { aws: Aws; events: CallEvent[] } => {
  const events: CallEvent[] = [];
  const aws = createAws(
    { region: env.region, endpoint: env.endpoint, credentials, requestTimeoutMs: 5_000, connectionTimeoutMs: 1_000, ...client },
    { observer: { onCall: (e) => events.push(e) }, ...options },
  );
  return { aws, events };
};

// ---- fault injector control: test/lib/faults.ts, with marks instead of
// resets so we never wipe a call log someone else is reading.

export type Faults = {
  set(spec: FaultSpec): Promise<void>;
  clear(): Promise<void>;
  /** The newest call seq; pass it to calls() to get what happened after it. */
  mark(): Promise<number>;
  calls(since: number): Promise<AwsCall[]>;
};

const faultsControl = (): Faults => ({
  set: async (spec) => {
    await setFaults(spec);
  },
  clear: async () => {
    await clearFaults();
  },
  mark: lastSeq,
  calls,
});

// ---- fixtures

const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
let seq = 0;
export const uniqueName = (prefix: string): string => `${prefix}-${runId}-${++seq}`;

interface LaunchSetup {
  launchTemplateName: string;
  subnetId: string;
}
let devLaunch: LaunchSetup | undefined;

/** A launch template and subnet for our own groups: the seeded rdb one on the stack. */
const launchSetup = async (env: AwsTestEnv): Promise<LaunchSetup> => {
  if (env.stack !== undefined) {
    return { launchTemplateName: env.stack.nodeGroups.rdb.launchTemplateName, subnetId: env.stack.subnetIds[0]! };
  }
  if (devLaunch !== undefined) return devLaunch;
  const vpc = await env.ec2.send(new ec2.CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }));
  const subnet = await env.ec2.send(
    new ec2.CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.77.1.0/24', AvailabilityZone: `${env.region}a` }),
  );
  const images = await env.ec2.send(new ec2.DescribeImagesCommand({}));
  const imageId = images.Images?.[0]?.ImageId ?? 'ami-12c6146b';
  const launchTemplateName = uniqueName('kdb-aws-it-lt');
  await env.ec2.send(
    new ec2.CreateLaunchTemplateCommand({
      LaunchTemplateName: launchTemplateName,
      LaunchTemplateData: { ImageId: imageId, InstanceType: 't3a.medium' },
    }),
  );
  devLaunch = { launchTemplateName, subnetId: subnet.Subnet!.SubnetId! };
  return devLaunch;
};

/**
 * An Auto Scaling group of our own for destructive tests. Deliberately NOT
 * tagged eks:nodegroup-name, so the node simulator ignores its instances.
 */
export const createTestGroup = async (
  env: AwsTestEnv,
  opts: { desired: number; min?: number; max?: number; tags?: Record<string, string> },
): Promise<string> => {
  const { launchTemplateName, subnetId } = await launchSetup(env);
  const name = uniqueName('kdb-aws-it');
  await env.asg.send(
    new autoscaling.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: launchTemplateName, Version: '$Latest' },
      MinSize: opts.min ?? 0,
      MaxSize: opts.max ?? 10,
      DesiredCapacity: opts.desired,
      VPCZoneIdentifier: subnetId,
      Tags: Object.entries({ 'kdb-aws-it/run': runId, ...opts.tags }).map(([Key, Value]) => ({
        Key,
        Value,
        ResourceId: name,
        ResourceType: 'auto-scaling-group',
        PropagateAtLaunch: false,
      })),
    }),
  );
  return name;
};

export const deleteTestGroup = async (env: AwsTestEnv, name: string): Promise<void> => {
  try {
    await env.asg.send(new autoscaling.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }));
  } catch (e) {
    if ((e as Error).name !== 'ValidationError') throw e;
  }
};

/** Moto's own view of a group, bypassing the operator code under test. */
export const rawGroup = async (env: AwsTestEnv, name: string) => {
  const out = await env.asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  const g = out.AutoScalingGroups?.[0];
  if (g === undefined) throw new Error(`group ${name} not found`);
  return g;
};

export const ec2State = async (env: AwsTestEnv, instanceId: string): Promise<string | undefined> => {
  const out = await env.ec2.send(new ec2.DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
};

/** The EFS file system to test against: the seeded one, or one we create (dev). */
export const testFileSystem = async (env: AwsTestEnv): Promise<string> => {
  if (env.stack !== undefined) return env.stack.efsFileSystemId;
  const fs = await env.efs.send(new efs.CreateFileSystemCommand({ CreationToken: uniqueName('kdb-aws-it-fs') }));
  return fs.FileSystemId!;
};

export type { AwsCall, FaultSpec };
