// Seeds moto with the AWS side of an EKS cluster. What a user deploys comes
// from deploying the user's own template, deploy/aws/kdb-operator.yaml, to
// moto's CloudFormation: the EFS file system with its security group and
// mount targets, the node IAM role and instance profile, the tickerplant and
// RDB launch templates and Auto Scaling groups, and the operator's IRSA role.
// What the template takes as "existing" is made here by SDK calls, as the
// user's EKS cluster would already have it: the VPC and two subnets, the
// cluster security group (NodeSecurityGroupId), the EKS cluster metadata
// (whose endpoint, CA and service CIDR become the template's parameters) and
// the cluster's own `system` node group (an EKS managed node group: launch
// template, nodegroup metadata and its eks-system-<uuid> ASG, tagged as EKS
// tags one). Talks to moto directly (never through the fault injector).
// Idempotent: finds what is already there by name or tag, and reuses a
// CREATE_COMPLETE stack, so it is safe on every `make up`.
// Writes <stack>/aws.json (shape: StackAws in test/lib/stack.ts).
//
// The template goes to moto verbatim: moto 5.2.5 creates every resource the
// local parameters select (measured: IAM Role and InstanceProfile, EFS with
// ThroughputMode elastic, launch templates with IamInstanceProfile,
// MetadataOptions, BlockDeviceMappings and UserData), so nothing is stripped.
// Not deployed, by parameter: AWS::EKS::AccessEntry (CreateNodeAccessEntry
// false) and AWS::EKS::Addon (InstallEfsCsiDriver false, the default).
// Accepted but without effect in moto (nothing local depends on them):
// instances launched from the launch templates get neither the instance
// profile nor the IMDSv2 MetadataOptions, and the node role's
// ManagedPolicyArns are not attached.
//
//   node test/stack/seed-aws.ts
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoscaling, cloudformation as cfn, ec2, motoClientConfig } from '../lib/aws.ts';
import { repoRoot, stackDir } from '../lib/stack.ts';
import type { NodeGroupInfo, StackAws } from '../lib/stack.ts';

const CLUSTER = 'kdb-local';
const REGION = 'us-east-1';
const ZONES = ['us-east-1a', 'us-east-1b'];
const ACCOUNT = '123456789012';
// moto's stock EKS-optimised Linux image: the template's ImageId, so it
// never resolves the SSM parameter of the EKS AMI.
const AMI = 'ami-ekslinux';
const TEMPLATE = join(repoRoot, 'deploy/aws/kdb-operator.yaml');
const STACK_NAME = `${CLUSTER}-kdb-operator`;

type GroupName = keyof StackAws['nodeGroups'];
const INSTANCE_TYPES: Record<GroupName, string> = { system: 't3a.large', tickerplant: 't3a.large', rdb: 't3a.medium' };
// The EKS cluster's own node group (not the template's): EKS sizes and tags it.
const SYSTEM = { min: 1, max: 3, desired: 1 };

const cfg = { ...motoClientConfig(), region: REGION };
const ec2c = new ec2.EC2Client(cfg);
const asc = new autoscaling.AutoScalingClient(cfg);
const cfc = new cfn.CloudFormationClient(cfg);

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

/** The EKS cluster security group nodes get (the template's NodeSecurityGroupId). */
const ensureClusterSecurityGroup = async (vpcId: string): Promise<string> => {
  const name = `eks-cluster-sg-${CLUSTER}`;
  const found = await ec2c.send(
    new ec2.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: [name] }] }),
  );
  const existing = found.SecurityGroups?.[0]?.GroupId;
  if (existing) return existing;
  const made = await ec2c.send(
    new ec2.CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: name,
      Description: 'EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.',
      TagSpecifications: [{ ResourceType: 'security-group', Tags: nameTag(name) }],
    }),
  );
  return made.GroupId!;
};

const ensureLaunchTemplate = async (group: GroupName): Promise<string> => {
  const name = `${CLUSTER}-${group}`;
  const found = await ec2c.send(new ec2.DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: [name] }] }));
  if (!found.LaunchTemplates?.length) {
    await ec2c.send(
      new ec2.CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        LaunchTemplateData: { ImageId: AMI, InstanceType: INSTANCE_TYPES[group] as ec2._InstanceType },
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
  const res = await fetch(`${cfg.endpoint}${path}`, {
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

interface EksCluster {
  version: string;
  endpoint: string;
  certificateAuthority: string;
  serviceCidr: string;
  oidcIssuer: string;
}

/** The EKS cluster metadata; returns what `aws eks describe-cluster` gives the template's parameters. */
const ensureEksCluster = async (subnetIds: string[], securityGroupId: string): Promise<EksCluster> => {
  let found = await eks('GET', `/clusters/${CLUSTER}`);
  if (found.status !== 200) {
    found = await eks('POST', '/clusters', {
      name: CLUSTER,
      version: '1.36',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${CLUSTER}-cluster`,
      resourcesVpcConfig: { subnetIds, securityGroupIds: [securityGroupId] },
    });
    if (found.status >= 300) throw new Error(`EKS CreateCluster failed: ${found.status} ${JSON.stringify(found.json)}`);
  }
  const c = found.json['cluster'] ?? {};
  return {
    version: String(c['version'] ?? '1.36'),
    endpoint: String(c['endpoint'] ?? 'https://127.0.0.1:16443'),
    certificateAuthority: String(c['certificateAuthority']?.['data'] ?? ''),
    serviceCidr: String(c['kubernetesNetworkConfig']?.['serviceIpv4Cidr'] ?? '172.20.0.0/16'),
    oidcIssuer: String(c['identity']?.['oidc']?.['issuer'] ?? `https://oidc.eks.${REGION}.amazonaws.com/id/KDBLOCAL`),
  };
};

/** EKS nodegroup metadata of the system group; returns its uuid (from its ARN) to name the ASG after it. */
const ensureSystemNodegroup = async (subnetId: string): Promise<string> => {
  let ng = await eks('GET', `/clusters/${CLUSTER}/node-groups/system`);
  if (ng.status !== 200) {
    ng = await eks('POST', `/clusters/${CLUSTER}/node-groups`, {
      nodegroupName: 'system',
      nodeRole: `arn:aws:iam::${ACCOUNT}:role/${CLUSTER}-node`,
      subnets: [subnetId],
      instanceTypes: [INSTANCE_TYPES.system],
      scalingConfig: { minSize: SYSTEM.min, maxSize: SYSTEM.max, desiredSize: SYSTEM.desired },
    });
    if (ng.status >= 300) throw new Error(`EKS CreateNodegroup system failed: ${ng.status} ${JSON.stringify(ng.json)}`);
  }
  const arn = String(ng.json['nodegroup']?.['nodegroupArn'] ?? '');
  return arn.split('/').pop() || randomUUID();
};

// The tags EKS puts on a managed node group's ASG (cluster-autoscaler's
// discovery tags included: the system group is not the operator's).
const systemAsgTags = () =>
  Object.entries({
    'eks:cluster-name': CLUSTER,
    'eks:nodegroup-name': 'system',
    [`kubernetes.io/cluster/${CLUSTER}`]: 'owned',
    'k8s.io/cluster-autoscaler/enabled': 'true',
    [`k8s.io/cluster-autoscaler/${CLUSTER}`]: 'owned',
  }).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true }));

const ensureSystemAsg = async (launchTemplateName: string, subnetId: string, uuid: string): Promise<string> => {
  const found = await asc.send(
    new autoscaling.DescribeAutoScalingGroupsCommand({
      Filters: [
        { Name: 'tag:eks:cluster-name', Values: [CLUSTER] },
        { Name: 'tag:eks:nodegroup-name', Values: ['system'] },
      ],
    }),
  );
  const existing = found.AutoScalingGroups?.[0]?.AutoScalingGroupName;
  if (existing) return existing;
  // EKS names managed node group ASGs eks-<nodegroup>-<uuid>.
  const name = `eks-system-${uuid}`;
  await asc.send(
    new autoscaling.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: launchTemplateName, Version: '$Latest' },
      MinSize: SYSTEM.min,
      MaxSize: SYSTEM.max,
      DesiredCapacity: SYSTEM.desired,
      // One subnet per group: moto launches every instance into the first
      // subnet of VPCZoneIdentifier anyway (the template does the same).
      VPCZoneIdentifier: subnetId,
      Tags: systemAsgTags(),
    }),
  );
  return name;
};

/** The template's parameters, filled from the "existing" cluster above as the README's steps do. */
const stackParameters = (vpcId: string, subnetIds: string[], nodeSecurityGroupId: string, cluster: EksCluster): Record<string, string> => ({
  ClusterName: CLUSTER,
  KubernetesVersion: cluster.version,
  ClusterEndpoint: cluster.endpoint.replace(/\/$/, ''),
  ClusterCertificateAuthority: cluster.certificateAuthority,
  ServiceCidr: cluster.serviceCidr,
  // A well-formed ARN of the cluster's issuer; no IAM OIDC provider is made
  // (nothing local assumes the role by web identity).
  OidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${cluster.oidcIssuer.replace(/^https:\/\//, '')}`,
  NodeSecurityGroupId: nodeSecurityGroupId,
  VpcId: vpcId,
  NodeSubnetId: subnetIds[0]!,
  ExtraEfsSubnetId: subnetIds[1] ?? '',
  ImageId: AMI,
  // AWS::EKS::AccessEntry: moto's EKS has no access entries to make.
  CreateNodeAccessEntry: 'false',
  TickerplantInstanceType: INSTANCE_TYPES.tickerplant,
  RdbInstanceType: INSTANCE_TYPES.rdb,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const describeStack = async (): Promise<cfn.Stack | undefined> => {
  try {
    return (await cfc.send(new cfn.DescribeStacksCommand({ StackName: STACK_NAME }))).Stacks?.[0];
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
};

const failedEvents = async (): Promise<string> =>
  ((await cfc.send(new cfn.DescribeStackEventsCommand({ StackName: STACK_NAME }))).StackEvents ?? [])
    .filter((e) => e.ResourceStatus?.endsWith('FAILED'))
    .map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}: ${e.ResourceStatusReason}`)
    .join('; ');

/** CreateStack (unless it is there), then waits for CREATE_COMPLETE. */
const deployTemplate = async (parameters: Record<string, string>): Promise<cfn.Stack> => {
  if ((await describeStack()) === undefined) {
    await cfc.send(
      new cfn.CreateStackCommand({
        StackName: STACK_NAME,
        TemplateBody: readFileSync(TEMPLATE, 'utf8'),
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: ['CAPABILITY_IAM'],
        OnFailure: 'DO_NOTHING',
      }),
    );
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stack = await describeStack();
    const status = stack?.StackStatus ?? 'missing';
    if (status === 'CREATE_COMPLETE') return stack!;
    if (!status.endsWith('_IN_PROGRESS')) {
      throw new Error(
        `stack ${STACK_NAME} from ${TEMPLATE} is ${status} (${stack?.StackStatusReason ?? ''}; ${await failedEvents()}); ` +
          'moto keeps it until it restarts: make down && make up',
      );
    }
    if (Date.now() > deadline) throw new Error(`stack ${STACK_NAME} still ${status} after 60 s`);
    await sleep(100);
  }
};

/** The stack's node groups by its resources: ASG name, and the launch template's (CloudFormation-generated) name. */
const stackNodeGroups = async (): Promise<Record<'tickerplant' | 'rdb', NodeGroupInfo>> => {
  const resources = (await cfc.send(new cfn.DescribeStackResourcesCommand({ StackName: STACK_NAME }))).StackResources ?? [];
  const physical = (logicalId: string): string => {
    const id = resources.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId;
    if (!id) throw new Error(`stack ${STACK_NAME} has no resource ${logicalId}`);
    return id;
  };
  const launchTemplateName = async (logicalId: string): Promise<string> => {
    const id = physical(logicalId);
    const found = await ec2c.send(new ec2.DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
    const name = found.LaunchTemplates?.[0]?.LaunchTemplateName;
    if (!name) throw new Error(`launch template ${id} (${logicalId}) not found`);
    return name;
  };
  return {
    tickerplant: {
      asgName: physical('TickerplantGroup'),
      instanceType: INSTANCE_TYPES.tickerplant,
      launchTemplateName: await launchTemplateName('TickerplantLaunchTemplate'),
    },
    rdb: { asgName: physical('RdbGroup'), instanceType: INSTANCE_TYPES.rdb, launchTemplateName: await launchTemplateName('RdbLaunchTemplate') },
  };
};

const output = (stack: cfn.Stack, key: string): string => {
  const v = stack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (!v) throw new Error(`stack ${STACK_NAME} has no output ${key}`);
  return v;
};

const main = async (): Promise<void> => {
  const started = Date.now();
  const vpcId = await ensureVpc();
  const subnetIds = await ensureSubnets(vpcId);
  const securityGroupId = await ensureClusterSecurityGroup(vpcId);
  const cluster = await ensureEksCluster(subnetIds, securityGroupId);
  const subnetId = subnetIds[0]!;
  const systemLaunchTemplate = await ensureLaunchTemplate('system');
  const systemAsg = await ensureSystemAsg(systemLaunchTemplate, subnetId, await ensureSystemNodegroup(subnetId));
  const stack = await deployTemplate(stackParameters(vpcId, subnetIds, securityGroupId, cluster));
  const nodeGroups: Record<GroupName, NodeGroupInfo> = {
    system: { asgName: systemAsg, instanceType: INSTANCE_TYPES.system, launchTemplateName: systemLaunchTemplate },
    ...(await stackNodeGroups()),
  };
  const out: StackAws = { region: REGION, clusterName: CLUSTER, vpcId, subnetIds, efsFileSystemId: output(stack, 'FileSystemId'), nodeGroups };
  writeFileSync(join(stackDir(), 'aws.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    `seeded AWS in ${Date.now() - started} ms (stack ${STACK_NAME} from deploy/aws/kdb-operator.yaml): ` +
      Object.values(nodeGroups).map((g) => g.asgName).join(', '),
  );
};

main().catch((err: Error) => {
  console.error(`seed-aws: ${err.name}: ${err.message} (is moto up on ${cfg.endpoint}? see .stack/logs/moto.log)`);
  process.exit(1);
});
