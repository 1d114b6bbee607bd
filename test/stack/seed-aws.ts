// Seeds moto with the AWS side of an EKS cluster: VPC, subnets, an EFS file
// system with mount targets, a launch template and an EKS-style managed node
// group ASG per node group, and the EKS cluster/nodegroup metadata. Talks to
// moto directly (never through the fault injector). Idempotent: finds what is
// already there by name or tag, so it is safe on every `make up`.
// Writes <stack>/aws.json (shape: StackAws in test/lib/stack.ts).
//
//   node test/stack/seed-aws.ts
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoscaling, ec2, efs, motoClientConfig } from '../lib/aws.ts';
import { PORTS, stackDir } from '../lib/stack.ts';
import type { NodeGroupInfo, StackAws } from '../lib/stack.ts';

const CLUSTER = 'kdb-local';
const REGION = 'us-east-1';
const ZONES = ['us-east-1a', 'us-east-1b'];
// moto's stock EKS-optimised Linux image.
const AMI = 'ami-ekslinux';

type GroupName = keyof StackAws['nodeGroups'];
const GROUPS: Record<GroupName, { instanceType: string; min: number; max: number; desired: number }> = {
  system: { instanceType: 't3a.large', min: 1, max: 3, desired: 1 },
  tickerplant: { instanceType: 't3a.large', min: 1, max: 2, desired: 1 },
  rdb: { instanceType: 't3a.medium', min: 0, max: 10, desired: 1 },
};

const cfg = { ...motoClientConfig(), region: REGION };
const ec2c = new ec2.EC2Client(cfg);
const asc = new autoscaling.AutoScalingClient(cfg);
const efsc = new efs.EFSClient(cfg);

const nameTag = (name: string) => [{ Key: 'Name', Value: name }, { Key: 'eks:cluster-name', Value: CLUSTER }];

const ensureVpc = async (): Promise<string> => {
  const found = await ec2c.send(new ec2.DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: [`${CLUSTER}-vpc`] }] }));
  const existing = found.Vpcs?.[0]?.VpcId;
  if (existing) return existing;
  const made = await ec2c.send(
    new ec2.CreateVpcCommand({
      CidrBlock: '10.0.0.0/16',
      TagSpecifications: [{ ResourceType: 'vpc', Tags: nameTag(`${CLUSTER}-vpc`) }],
    }),
  );
  return made.Vpc!.VpcId!;
};

const ensureSubnets = async (vpcId: string): Promise<string[]> => {
  const ids: string[] = [];
  for (const [i, zone] of ZONES.entries()) {
    const name = `${CLUSTER}-${zone}`;
    const found = await ec2c.send(
      new ec2.DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'tag:Name', Values: [name] }] }),
    );
    let id = found.Subnets?.[0]?.SubnetId;
    if (!id) {
      const made = await ec2c.send(
        new ec2.CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `10.0.${i + 1}.0/24`,
          AvailabilityZone: zone,
          TagSpecifications: [
            {
              ResourceType: 'subnet',
              Tags: [...nameTag(name), { Key: `kubernetes.io/cluster/${CLUSTER}`, Value: 'owned' }],
            },
          ],
        }),
      );
      id = made.Subnet!.SubnetId!;
    }
    ids.push(id);
  }
  return ids;
};

const ensureEfs = async (subnetIds: string[]): Promise<string> => {
  const token = `${CLUSTER}-efs`;
  const found = await efsc.send(new efs.DescribeFileSystemsCommand({ CreationToken: token }));
  let id = found.FileSystems?.[0]?.FileSystemId;
  if (!id) {
    const made = await efsc.send(
      new efs.CreateFileSystemCommand({
        CreationToken: token,
        PerformanceMode: 'generalPurpose',
        Encrypted: true,
        Tags: nameTag(token),
      }),
    );
    id = made.FileSystemId!;
  }
  const targets = await efsc.send(new efs.DescribeMountTargetsCommand({ FileSystemId: id }));
  const covered = new Set((targets.MountTargets ?? []).map((t) => t.SubnetId));
  for (const subnetId of subnetIds) {
    if (!covered.has(subnetId)) await efsc.send(new efs.CreateMountTargetCommand({ FileSystemId: id, SubnetId: subnetId }));
  }
  return id;
};

const ensureLaunchTemplate = async (group: GroupName): Promise<string> => {
  const name = `${CLUSTER}-${group}`;
  const found = await ec2c.send(new ec2.DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: [name] }] }));
  if (!found.LaunchTemplates?.length) {
    await ec2c.send(
      new ec2.CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        LaunchTemplateData: { ImageId: AMI, InstanceType: GROUPS[group].instanceType as ec2._InstanceType },
        TagSpecifications: [{ ResourceType: 'launch-template', Tags: nameTag(name) }],
      }),
    );
  }
  return name;
};

// EKS has no SDK client in this repo; moto does not check signatures, it only
// needs the credential scope to route the request to its EKS backend.
const eks = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> => {
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const res = await fetch(`http://127.0.0.1:${PORTS.moto}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/${date}/${REGION}/eks/aws4_request, SignedHeaders=host, Signature=0`,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
};

const ensureEksCluster = async (subnetIds: string[]): Promise<void> => {
  const found = await eks('GET', `/clusters/${CLUSTER}`);
  if (found.status === 200) return;
  const made = await eks('POST', '/clusters', {
    name: CLUSTER,
    version: '1.36',
    roleArn: `arn:aws:iam::123456789012:role/${CLUSTER}-cluster`,
    resourcesVpcConfig: { subnetIds },
  });
  if (made.status >= 300) throw new Error(`EKS CreateCluster failed: ${made.status} ${JSON.stringify(made.json)}`);
};

/** EKS nodegroup metadata; returns the nodegroup's uuid (from its ARN) to name the ASG after it. */
const ensureEksNodegroup = async (group: GroupName, subnetId: string): Promise<string> => {
  const g = GROUPS[group];
  let ng = await eks('GET', `/clusters/${CLUSTER}/node-groups/${group}`);
  if (ng.status !== 200) {
    ng = await eks('POST', `/clusters/${CLUSTER}/node-groups`, {
      nodegroupName: group,
      nodeRole: `arn:aws:iam::123456789012:role/${CLUSTER}-node`,
      subnets: [subnetId],
      instanceTypes: [g.instanceType],
      scalingConfig: { minSize: g.min, maxSize: g.max, desiredSize: g.desired },
    });
    if (ng.status >= 300) throw new Error(`EKS CreateNodegroup ${group} failed: ${ng.status} ${JSON.stringify(ng.json)}`);
  }
  const arn = String(ng.json['nodegroup']?.['nodegroupArn'] ?? '');
  return arn.split('/').pop() || randomUUID();
};

const asgTags = (group: GroupName) =>
  Object.entries({
    'eks:cluster-name': CLUSTER,
    'eks:nodegroup-name': group,
    [`kubernetes.io/cluster/${CLUSTER}`]: 'owned',
    'k8s.io/cluster-autoscaler/enabled': 'true',
    [`k8s.io/cluster-autoscaler/${CLUSTER}`]: 'owned',
  }).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true }));

const ensureAsg = async (group: GroupName, launchTemplateName: string, subnetId: string, uuid: string): Promise<string> => {
  const found = await asc.send(
    new autoscaling.DescribeAutoScalingGroupsCommand({
      Filters: [
        { Name: 'tag:eks:cluster-name', Values: [CLUSTER] },
        { Name: 'tag:eks:nodegroup-name', Values: [group] },
      ],
    }),
  );
  const existing = found.AutoScalingGroups?.[0]?.AutoScalingGroupName;
  if (existing) return existing;
  const g = GROUPS[group];
  // EKS names managed node group ASGs eks-<nodegroup>-<uuid>.
  const name = `eks-${group}-${uuid}`;
  await asc.send(
    new autoscaling.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: launchTemplateName, Version: '$Latest' },
      MinSize: g.min,
      MaxSize: g.max,
      DesiredCapacity: g.desired,
      // One subnet per group: moto launches every instance into the first
      // subnet of VPCZoneIdentifier anyway, and one zone keeps AZ rebalancing
      // from ever choosing a victim on the RDB group.
      VPCZoneIdentifier: subnetId,
      Tags: asgTags(group),
    }),
  );
  return name;
};

const main = async (): Promise<void> => {
  const started = Date.now();
  const vpcId = await ensureVpc();
  const subnetIds = await ensureSubnets(vpcId);
  const efsFileSystemId = await ensureEfs(subnetIds);
  await ensureEksCluster(subnetIds);
  const nodeGroups = {} as Record<GroupName, NodeGroupInfo>;
  const subnetId = subnetIds[0]!;
  for (const group of Object.keys(GROUPS) as GroupName[]) {
    const launchTemplateName = await ensureLaunchTemplate(group);
    const uuid = await ensureEksNodegroup(group, subnetId);
    const asgName = await ensureAsg(group, launchTemplateName, subnetId, uuid);
    nodeGroups[group] = { asgName, instanceType: GROUPS[group].instanceType, launchTemplateName };
  }
  const out: StackAws = { region: REGION, clusterName: CLUSTER, vpcId, subnetIds, efsFileSystemId, nodeGroups };
  writeFileSync(join(stackDir(), 'aws.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`seeded AWS in ${Date.now() - started} ms: ${Object.values(nodeGroups).map((g) => g.asgName).join(', ')}`);
};

main().catch((err: Error) => {
  console.error(`seed-aws: ${err.name}: ${err.message} (is moto up on 127.0.0.1:${PORTS.moto}? see .stack/logs/moto.log)`);
  process.exit(1);
});
