// The AWS side as code (deploy/): cfn-lint passes on the CloudFormation
// template, and the safety-rule checkers refuse the template or the eksctl
// ClusterConfig when a setting the operator's safety rules forbid comes back.
// Each crafted bad input below must be reported under its rule, so the checks
// can fail.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkTemplate } from '../../deploy/aws/check-template.ts';
import { CLUSTER_PLACEHOLDER, readmePolicy } from '../../deploy/aws/policy.ts';
import type { PolicyDocument } from '../../deploy/aws/policy.ts';
import { checkEksctlConfig } from '../../deploy/eksctl/check-config.ts';
import { RULES, describeViolation } from '../../deploy/rules.ts';
import type { RuleId, Violation } from '../../deploy/rules.ts';

const root = join(import.meta.dirname, '..', '..');
const TEMPLATE_FILE = join(root, 'deploy/aws/kdb-operator.yaml');
const EKSCTL_FILE = join(root, 'deploy/eksctl/cluster.yaml');
const CFN_LINT = join(root, '.venv/bin/cfn-lint');

const templateText = readFileSync(TEMPLATE_FILE, 'utf8');
const template = parse(templateText) as Record<string, any>;
const eksctl = parse(readFileSync(EKSCTL_FILE, 'utf8')) as Record<string, any>;
const policy = readmePolicy(readFileSync(join(root, 'README.md'), 'utf8'));

const copy = <T>(v: T): T => structuredClone(v);
const rulesOf = (vs: Violation[]): RuleId[] => [...new Set(vs.map((v) => v.rule))].sort();
const shown = (vs: Violation[]): string => vs.map(describeViolation).join('\n');

const cfnLint = (file: string): { status: number | null; output: string } => {
  if (!existsSync(CFN_LINT)) {
    throw new Error(`${CFN_LINT} is missing: run \`make deps\` (it installs test/stack/requirements.txt, where cfn-lint is pinned, into .venv)`);
  }
  const r = spawnSync(CFN_LINT, ['--', file], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

describe('cfn-lint (pinned in test/stack/requirements.txt)', () => {
  test('is pinned to an exact version', () => {
    expect(readFileSync(join(root, 'test/stack/requirements.txt'), 'utf8')).toMatch(/^cfn-lint==\d+\.\d+\.\d+$/m);
  });

  test('passes on deploy/aws/kdb-operator.yaml', () => {
    expect(cfnLint(TEMPLATE_FILE)).toEqual({ status: 0, output: '' });
  }, 60_000);

  test('fails a template with a mistyped property and a wrong value type', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
    try {
      const bad = templateText
        .replace('NewInstancesProtectedFromScaleIn: true', 'NewInstancesProtectedFromScaleIn: [true]')
        .replace('PerformanceMode: generalPurpose', 'PerformanceMod: generalPurpose');
      expect(bad).not.toBe(templateText);
      const file = join(dir, 't.yaml');
      writeFileSync(file, bad);
      const r = cfnLint(file);
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(/E3002 .*'PerformanceMod' was unexpected/);
      expect(r.output).toMatch(/E3012 \[True\] is not of type 'boolean'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the README policy the template is held to', () => {
  test('is read from the README, with the tag condition on the cluster name', () => {
    const scale = policy.Statement.find((s) => s.Sid === 'ScaleRdbGroupsOfThisCluster');
    expect(scale?.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/eks:cluster-name': CLUSTER_PLACEHOLDER } });
    expect(policy.Statement.flatMap((s) => s.Action as string[])).toContain('autoscaling:TerminateInstanceInAutoScalingGroup');
  });

  test('a README without the policy block is an error naming it', () => {
    expect(() => readmePolicy('# kdb-operator\n### 2. IAM policy for the operator\nnone here\n')).toThrow(/no ```json block/);
  });
});

type Mutation = (t: Record<string, any>) => void;
const rdb = (t: Record<string, any>) => t['Resources']['RdbGroup'];
const tags = (r: Record<string, any>) => r['Properties']['Tags'] as { Key: unknown; Value: unknown }[];
const dropTag = (r: Record<string, any>, key: string): void => {
  r['Properties']['Tags'] = tags(r).filter((t) => t.Key !== key);
};
const scaleStatement = (t: Record<string, any>) =>
  t['Resources']['OperatorRole']['Properties']['Policies'][0]['PolicyDocument']['Statement'].find((s: any) => s.Sid === 'ScaleRdbGroupsOfThisCluster');

describe('checkTemplate: deploy/aws/kdb-operator.yaml and the safety rules', () => {
  test('the template breaks none', () => {
    const vs = checkTemplate(template, { readmePolicy: policy });
    expect(shown(vs)).toBe('');
  });

  const cases: [string, Mutation, RuleId[], string][] = [
    ['the cluster-autoscaler discovery tag on the RDB group', (t) => tags(rdb(t)).push({ Key: 'k8s.io/cluster-autoscaler/enabled', Value: 'true' }), ['no-cluster-autoscaler'], 'Resources.RdbGroup.Properties.Tags'],
    ['the cluster-autoscaler cluster tag (computed key) on the RDB group', (t) => tags(rdb(t)).push({ Key: { 'Fn::Sub': 'k8s.io/cluster-autoscaler/${ClusterName}' }, Value: 'owned' }), ['no-cluster-autoscaler'], 'Resources.RdbGroup.Properties.Tags'],
    ['RDB MinSize 2', (t) => (rdb(t)['Properties']['MinSize'] = 2), ['min-size'], 'Resources.RdbGroup.Properties.MinSize'],
    ['RDB MinSize "2" (a string)', (t) => (rdb(t)['Properties']['MinSize'] = '2'), ['min-size'], 'Resources.RdbGroup.Properties.MinSize'],
    ['RDB MinSize parameter allowing 2', (t) => t['Parameters']['RdbMinSize']['AllowedValues'].push(2), ['min-size'], 'Resources.RdbGroup.Properties.MinSize'],
    ['RDB MinSize parameter without bounds', (t) => delete t['Parameters']['RdbMinSize']['AllowedValues'], ['min-size'], 'Resources.RdbGroup.Properties.MinSize'],
    ['RDB MinSize missing', (t) => delete rdb(t)['Properties']['MinSize'], ['min-size'], 'Resources.RdbGroup.Properties.MinSize'],
    ['NewInstancesProtectedFromScaleIn false', (t) => (rdb(t)['Properties']['NewInstancesProtectedFromScaleIn'] = false), ['protect-new-instances'], 'Resources.RdbGroup.Properties.NewInstancesProtectedFromScaleIn'],
    ['NewInstancesProtectedFromScaleIn missing', (t) => delete rdb(t)['Properties']['NewInstancesProtectedFromScaleIn'], ['protect-new-instances'], 'Resources.RdbGroup.Properties.NewInstancesProtectedFromScaleIn'],
    ['a DesiredCapacity on the RDB group', (t) => (rdb(t)['Properties']['DesiredCapacity'] = 1), ['no-desired-capacity'], 'Resources.RdbGroup.Properties.DesiredCapacity'],
    ['the RDB group in two subnets', (t) => rdb(t)['Properties']['VPCZoneIdentifier'].push({ Ref: 'ExtraEfsSubnetId' }), ['az-rebalance'], 'Resources.RdbGroup.Properties.VPCZoneIdentifier'],
    ['the RDB group on a subnet list parameter', (t) => (rdb(t)['Properties']['VPCZoneIdentifier'] = { Ref: 'Subnets' }), ['az-rebalance'], 'Resources.RdbGroup.Properties.VPCZoneIdentifier'],
    ['a rolling update policy on the RDB group', (t) => (rdb(t)['UpdatePolicy'] = { AutoScalingRollingUpdate: { MaxBatchSize: 1 } }), ['no-instance-replacement'], 'Resources.RdbGroup.UpdatePolicy.AutoScalingRollingUpdate'],
    ['a replacing update policy on the RDB group', (t) => (rdb(t)['UpdatePolicy'] = { AutoScalingReplacingUpdate: { WillReplace: true } }), ['no-instance-replacement'], 'Resources.RdbGroup.UpdatePolicy.AutoScalingReplacingUpdate'],
    ['a MaxInstanceLifetime on the RDB group', (t) => (rdb(t)['Properties']['MaxInstanceLifetime'] = 604800), ['no-instance-replacement'], 'Resources.RdbGroup.Properties.MaxInstanceLifetime'],
    ['CapacityRebalance on the RDB group', (t) => (rdb(t)['Properties']['CapacityRebalance'] = true), ['no-instance-replacement'], 'Resources.RdbGroup.Properties.CapacityRebalance'],
    ['the RDB group deleted on replacement', (t) => delete rdb(t)['UpdateReplacePolicy'], ['no-instance-replacement'], 'Resources.RdbGroup.UpdateReplacePolicy'],
    ['eks:cluster-name missing on the tickerplant group', (t) => dropTag(t['Resources']['TickerplantGroup'], 'eks:cluster-name'), ['eks-tags'], 'Resources.TickerplantGroup.Properties.Tags'],
    ['eks:cluster-name a literal, not the cluster parameter', (t) => (tags(rdb(t)).find((x) => x.Key === 'eks:cluster-name')!.Value = 'prod'), ['eks-tags'], 'Resources.RdbGroup.Properties.Tags'],
    ['eks:nodegroup-name missing on the RDB group', (t) => dropTag(rdb(t), 'eks:nodegroup-name'), ['eks-tags'], 'Resources'],
    ['the RDB nodes labelled with another node group', (t) => {
      const lt = t['Resources']['RdbLaunchTemplate']['Properties']['LaunchTemplateData'];
      lt['UserData']['Fn::Base64']['Fn::Sub'] = lt['UserData']['Fn::Base64']['Fn::Sub'].replace('${RdbNodeGroupName}', '${TickerplantNodeGroupName}');
    }, ['node-label'], 'Resources.RdbGroup.Properties.LaunchTemplate'],
    ['the RDB node label with a suffix', (t) => {
      const lt = t['Resources']['RdbLaunchTemplate']['Properties']['LaunchTemplateData'];
      lt['UserData']['Fn::Base64']['Fn::Sub'] = lt['UserData']['Fn::Base64']['Fn::Sub'].replace('${RdbNodeGroupName}', '${RdbNodeGroupName}-x');
    }, ['node-label'], 'Resources.RdbGroup.Properties.LaunchTemplate'],
    ['a preset owner tag', (t) => tags(rdb(t)).push({ Key: 'kdb-operator.dev/owner', Value: 'markets/markets' }), ['no-owner-tag'], 'Resources.RdbGroup'],
    ['the RDB group as an EKS managed node group', (t) => {
      t['Resources']['RdbManaged'] = { Type: 'AWS::EKS::Nodegroup', Properties: { NodegroupName: { Ref: 'RdbNodeGroupName' } } };
    }, ['self-managed'], 'Resources.RdbManaged'],
    ['an extra action in the operator policy', (t) => scaleStatement(t).Action.push('autoscaling:ResumeProcesses'), ['iam-policy'], 'Resources.OperatorRole.Properties.Policies[0]'],
    ['an action missing from the operator policy', (t) => scaleStatement(t).Action.pop(), ['iam-policy'], 'Resources.OperatorRole.Properties.Policies[0]'],
    ['the tag condition dropped', (t) => delete scaleStatement(t).Condition, ['iam-policy'], 'Resources.OperatorRole.Properties.Policies[0]'],
    ['the tag condition on another cluster', (t) => (scaleStatement(t).Condition.StringEquals['aws:ResourceTag/eks:cluster-name'] = 'other'), ['iam-policy'], 'Resources.OperatorRole.Properties.Policies[0]'],
    ['a statement the README lacks', (t) => t['Resources']['OperatorRole']['Properties']['Policies'][0]['PolicyDocument']['Statement'].push({ Sid: 'More', Effect: 'Allow', Action: 'ec2:*', Resource: '*' }), ['iam-policy'], 'Resources.OperatorRole.Properties.Policies[0]'],
    ['a managed policy on the operator role', (t) => (t['Resources']['OperatorRole']['Properties']['ManagedPolicyArns'] = ['arn:aws:iam::aws:policy/AdministratorAccess']), ['iam-policy'], 'Resources.OperatorRole.Properties.ManagedPolicyArns'],
    ['a separate policy attached to the operator role', (t) => {
      t['Resources']['MorePolicy'] = { Type: 'AWS::IAM::Policy', Properties: { PolicyName: 'x', Roles: [{ Ref: 'OperatorRole' }], PolicyDocument: {} } };
    }, ['iam-policy'], 'Resources.MorePolicy'],
    ['the EFS file system deleted with the stack', (t) => (t['Resources']['FileSystem']['DeletionPolicy'] = 'Delete'), ['efs-retain'], 'Resources.FileSystem.DeletionPolicy'],
  ];

  test.each(cases)('refuses %s', (_name, mutate, rules, where) => {
    const t = copy(template);
    mutate(t);
    const vs = checkTemplate(t, { readmePolicy: policy });
    expect(rulesOf(vs)).toEqual(rules);
    expect(vs.map((v) => v.where)).toContain(where);
    for (const v of vs) expect(v.message.length).toBeGreaterThan(10);
  });

  test('refuses the template when the README gains an action it lacks', () => {
    const more = copy(policy) as PolicyDocument;
    (more.Statement.find((s) => s.Sid === 'Efs')!.Action as string[]).push('elasticfilesystem:DescribeMountTargets');
    const vs = checkTemplate(template, { readmePolicy: more });
    expect(rulesOf(vs)).toEqual(['iam-policy']);
    expect(shown(vs)).toMatch(/statement Efs lacks elasticfilesystem:DescribeMountTargets/);
  });

  test('every violation names a known rule with its reason', () => {
    const t = copy(template);
    rdb(t)['Properties']['MinSize'] = 3;
    const [v] = checkTemplate(t, { readmePolicy: policy });
    expect(describeViolation(v!)).toContain(RULES['min-size']);
  });
});

describe('checkEksctlConfig: deploy/eksctl/cluster.yaml and the same rules', () => {
  const rdbGroup = (c: Record<string, any>) => c['nodeGroups'].find((g: any) => g.name === 'rdb');

  test('the example breaks none', () => {
    expect(shown(checkEksctlConfig(eksctl))).toBe('');
  });

  const cases: [string, Mutation, RuleId[], string][] = [
    ['the RDB group as a managed node group', (c) => {
      c['managedNodeGroups'].push(rdbGroup(c));
      c['nodeGroups'] = c['nodeGroups'].filter((g: any) => g.name !== 'rdb');
    }, ['self-managed'], 'managedNodeGroups[1]'],
    ['the cluster-autoscaler tag', (c) => (rdbGroup(c).tags['k8s.io/cluster-autoscaler/enabled'] = 'true'), ['no-cluster-autoscaler'], 'nodeGroups[1].tags'],
    ['the autoScaler addon policy (eksctl then tags the group)', (c) => (rdbGroup(c).iam.withAddonPolicies.autoScaler = true), ['no-cluster-autoscaler'], 'nodeGroups[1].iam.withAddonPolicies.autoScaler'],
    ['propagateASGTags', (c) => (rdbGroup(c).propagateASGTags = true), ['no-cluster-autoscaler'], 'nodeGroups[1].propagateASGTags'],
    ['minSize 2', (c) => (rdbGroup(c).minSize = 2), ['min-size', 'protect-new-instances'], 'nodeGroups[1].minSize'],
    ['minSize left to eksctl', (c) => delete rdbGroup(c).minSize, ['min-size', 'protect-new-instances'], 'nodeGroups[1].minSize'],
    ['a desired capacity above minSize', (c) => (rdbGroup(c).desiredCapacity = 3), ['protect-new-instances'], 'nodeGroups[1].desiredCapacity'],
    ['two zones and AZRebalance running', (c) => {
      delete rdbGroup(c).asgSuspendProcesses;
      rdbGroup(c).availabilityZones = ['eu-west-1a', 'eu-west-1b'];
    }, ['az-rebalance'], 'nodeGroups[1].asgSuspendProcesses'],
    ['a maximum instance lifetime', (c) => (rdbGroup(c).maxInstanceLifetime = 604800), ['no-instance-replacement'], 'nodeGroups[1].maxInstanceLifetime'],
    ['capacity rebalancing', (c) => (rdbGroup(c).instancesDistribution = { capacityRebalance: true }), ['no-instance-replacement'], 'nodeGroups[1].instancesDistribution.capacityRebalance'],
    ['eks:nodegroup-name missing', (c) => delete rdbGroup(c).tags['eks:nodegroup-name'], ['eks-tags'], 'nodeGroups[1].tags'],
    ['eks:cluster-name of another cluster', (c) => (c['nodeGroups'][0].tags['eks:cluster-name'] = 'other'), ['eks-tags'], 'nodeGroups[0].tags'],
    ['the node label of another group', (c) => (rdbGroup(c).labels['eks.amazonaws.com/nodegroup'] = 'tickerplant'), ['node-label'], 'nodeGroups[1].labels'],
    ['a preset owner tag', (c) => (rdbGroup(c).tags['kdb-operator.dev/owner'] = 'markets/markets'), ['no-owner-tag'], 'nodeGroups[1].tags'],
    ['no tickerplant group', (c) => (c['nodeGroups'] = c['nodeGroups'].filter((g: any) => g.name !== 'tickerplant')), ['eks-tags'], 'nodeGroups'],
  ];

  test.each(cases)('refuses %s', (_name, mutate, rules, where) => {
    const c = copy(eksctl);
    mutate(c);
    const vs = checkEksctlConfig(c);
    expect(rulesOf(vs)).toEqual(rules);
    expect(vs.map((v) => v.where)).toContain(where);
  });

  test('one zone is enough without AZRebalance suspended', () => {
    const c = copy(eksctl);
    delete rdbGroup(c).asgSuspendProcesses;
    expect(shown(checkEksctlConfig(c))).toBe('');
  });
});

describe('the template, the eksctl example and the example KdbCluster agree', () => {
  const param = (name: string): unknown => template['Parameters'][name]['Default'];
  const ng = (name: string) => eksctl['nodeGroups'].find((g: any) => g.name === name);
  const example = parse(readFileSync(join(root, 'examples/kdbcluster.yaml'), 'utf8')) as Record<string, any>;

  test('node group names', () => {
    expect([param('TickerplantNodeGroupName'), param('RdbNodeGroupName')]).toEqual(['tickerplant', 'rdb']);
    expect([ng('tickerplant')?.name, ng('rdb')?.name]).toEqual(['tickerplant', 'rdb']);
    expect(example['spec']['tickerplant']['nodeGroup']).toBe('tickerplant');
    expect(example['spec']['rdbPools'].map((p: any) => p.nodeGroup)).toEqual(['rdb']);
  });

  test('instance types, RDB sizes and the Kubernetes version', () => {
    expect(ng('tickerplant').instanceType).toBe(param('TickerplantInstanceType'));
    expect(ng('rdb').instanceType).toBe(param('RdbInstanceType'));
    expect([ng('rdb').minSize, ng('rdb').maxSize]).toEqual([param('RdbMinSize'), param('RdbMaxSize')]);
    expect(eksctl['metadata']['version']).toBe(param('KubernetesVersion'));
  });
});
