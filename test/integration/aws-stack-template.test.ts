// The local stack's AWS side is the user's template: the tickerplant and RDB
// node groups of .stack/aws.json are resources of a CloudFormation stack in
// moto created from deploy/aws/kdb-operator.yaml (byte for byte), and they
// carry the template's safety settings, not hand-seeded ones. Stack only
// (skipped with KDB_AWS_DEV_ENDPOINT: a private moto has no such stack).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkTemplate } from '../../deploy/aws/check-template.ts';
import { readmePolicy } from '../../deploy/aws/policy.ts';
import { describeViolation } from '../../deploy/rules.ts';
import { autoscaling, cloudformation as cfn, motoClientConfig } from '../lib/aws.ts';
import { readStackAws, repoRoot, type StackAws } from '../lib/stack.ts';

const onStack = !process.env['KDB_AWS_DEV_ENDPOINT'];
const TEMPLATE = readFileSync(join(repoRoot, 'deploy/aws/kdb-operator.yaml'), 'utf8');

let stack: StackAws;
let cfc: cfn.CloudFormationClient;
let asc: autoscaling.AutoScalingClient;
let cfnStack: cfn.Stack;
let resources: cfn.StackResource[];
let groups: Map<string, autoscaling.AutoScalingGroup>;

const physical = (logicalId: string) => resources.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId;
const param = (key: string) => cfnStack.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue;
const output = (key: string) => cfnStack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
const tagsOf = (g: autoscaling.AutoScalingGroup) => Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

beforeAll(async () => {
  if (!onStack) return;
  stack = readStackAws();
  const config = { ...motoClientConfig(), region: stack.region, maxAttempts: 3 };
  cfc = new cfn.CloudFormationClient(config);
  asc = new autoscaling.AutoScalingClient(config);
  // moto's DescribeStackResources takes no PhysicalResourceId: look in every stack.
  const all = (await cfc.send(new cfn.DescribeStacksCommand({}))).Stacks ?? [];
  for (const s of all) {
    const rs = (await cfc.send(new cfn.DescribeStackResourcesCommand({ StackName: s.StackName }))).StackResources ?? [];
    if (rs.some((r) => r.PhysicalResourceId === stack.nodeGroups.rdb.asgName)) {
      cfnStack = s;
      resources = rs;
    }
  }
  const names = [stack.nodeGroups.tickerplant.asgName, stack.nodeGroups.rdb.asgName];
  const found = (await asc.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names }))).AutoScalingGroups ?? [];
  groups = new Map(found.map((g) => [g.AutoScalingGroupName!, g]));
}, 30_000);

afterAll(() => {
  cfc?.destroy();
  asc?.destroy();
});

(onStack ? describe : describe.skip)('the local stack deploys deploy/aws/kdb-operator.yaml to moto', () => {
  it('a CREATE_COMPLETE stack made from the template holds the stack file\'s groups, launch templates and file system', async () => {
    expect(cfnStack).toBeDefined();
    expect(cfnStack.StackStatus).toBe('CREATE_COMPLETE');
    const body = (await cfc.send(new cfn.GetTemplateCommand({ StackName: cfnStack.StackName }))).TemplateBody;
    expect(body).toBe(TEMPLATE);
    expect(physical('TickerplantGroup')).toBe(stack.nodeGroups.tickerplant.asgName);
    expect(physical('RdbGroup')).toBe(stack.nodeGroups.rdb.asgName);
    expect(groups.get(stack.nodeGroups.tickerplant.asgName)?.LaunchTemplate).toMatchObject({
      LaunchTemplateId: physical('TickerplantLaunchTemplate'),
      LaunchTemplateName: stack.nodeGroups.tickerplant.launchTemplateName,
    });
    expect(groups.get(stack.nodeGroups.rdb.asgName)?.LaunchTemplate).toMatchObject({
      LaunchTemplateId: physical('RdbLaunchTemplate'),
      LaunchTemplateName: stack.nodeGroups.rdb.launchTemplateName,
    });
    expect(physical('FileSystem')).toBe(stack.efsFileSystemId);
    expect(output('FileSystemId')).toBe(stack.efsFileSystemId);
    expect(output('RdbAutoScalingGroupName')).toBe(stack.nodeGroups.rdb.asgName);
    expect(output('TickerplantAutoScalingGroupName')).toBe(stack.nodeGroups.tickerplant.asgName);
    expect(param('ClusterName')).toBe(stack.clusterName);
    // The system group stands for the EKS cluster's own node group: not the template's.
    expect(resources.map((r) => r.PhysicalResourceId)).not.toContain(stack.nodeGroups.system.asgName);
  });

  it('the template it was made from breaks none of the safety rules', () => {
    const vs = checkTemplate(parse(TEMPLATE), { readmePolicy: readmePolicy(readFileSync(join(repoRoot, 'README.md'), 'utf8')) });
    expect(vs.map(describeViolation).join('\n')).toBe('');
  });

  it("the RDB group has the template's safety settings", () => {
    const g = groups.get(stack.nodeGroups.rdb.asgName)!;
    expect(Number(param('RdbMinSize'))).toBeLessThanOrEqual(1);
    expect(g.MinSize).toBe(Number(param('RdbMinSize')));
    expect(g.MaxSize).toBe(Number(param('RdbMaxSize')));
    expect(g.NewInstancesProtectedFromScaleIn).toBe(true);
    expect(g.CapacityRebalance).toBe(false);
    expect(g.MaxInstanceLifetime ?? 0).toBe(0);
    // AZRebalance never has a zone to balance: one subnet, one zone (the
    // template's way); the operator also suspends it once it owns the group.
    expect(g.VPCZoneIdentifier).toBe(param('NodeSubnetId'));
    expect(g.AvailabilityZones).toHaveLength(1);
  });

  it('both groups carry the EKS tags the operator and the node simulator look for, and no cluster-autoscaler tag', () => {
    for (const [group, info] of [['tickerplant', stack.nodeGroups.tickerplant], ['rdb', stack.nodeGroups.rdb]] as const) {
      const tags = tagsOf(groups.get(info.asgName)!);
      expect(tags).toMatchObject({ 'eks:cluster-name': stack.clusterName, 'eks:nodegroup-name': group, [`kubernetes.io/cluster/${stack.clusterName}`]: 'owned' });
      expect(Object.keys(tags).filter((k) => k.startsWith('k8s.io/cluster-autoscaler'))).toEqual([]);
    }
  });
});
