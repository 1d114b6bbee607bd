/**
 * Refuses a CloudFormation template (deploy/aws/kdb-operator.yaml, parsed
 * from YAML into plain data, long-form intrinsics) that would break one of
 * the operator's safety rules. Pure: data in, violations out.
 */
import { sameData } from '../data.ts';
import type { Violation } from '../rules.ts';
import { comparePolicy } from './policy.ts';
import type { PolicyDocument } from './policy.ts';

export interface TemplateCheckOptions {
  /** The README's "IAM policy for the operator" (readmePolicy()). */
  readmePolicy: PolicyDocument;
  /** The parameter naming the RDB node group: the RDB ASG is the one whose eks:nodegroup-name tag is a Ref to it. */
  rdbNodeGroupParameter?: string;
  /** The parameter naming the EKS cluster. */
  clusterNameParameter?: string;
  /** Logical id of the operator's IRSA role. */
  operatorRole?: string;
}

interface Resource {
  Type?: unknown;
  Condition?: unknown;
  Properties?: Record<string, unknown>;
  UpdatePolicy?: Record<string, unknown>;
  UpdateReplacePolicy?: unknown;
  DeletionPolicy?: unknown;
}

interface Parameter {
  Type?: unknown;
  Default?: unknown;
  AllowedValues?: unknown;
  MinValue?: unknown;
  MaxValue?: unknown;
}

interface Tag {
  /** The key as text; a computed key (Fn::Sub) as its JSON. */
  key: string;
  value: unknown;
}

const ASG = 'AWS::AutoScaling::AutoScalingGroup';
const NODE_LABEL = 'eks.amazonaws.com/nodegroup';
const OWNER_TAG = 'kdb-operator.dev/owner';
const CLUSTER_AUTOSCALER = 'k8s.io/cluster-autoscaler';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const refName = (v: unknown): string | undefined => (isRecord(v) && typeof v['Ref'] === 'string' ? v['Ref'] : undefined);

const tagsOf = (props: Record<string, unknown> | undefined): Tag[] =>
  (Array.isArray(props?.['Tags']) ? (props['Tags'] as unknown[]) : []).filter(isRecord).map((t) => ({
    key: typeof t['Key'] === 'string' ? t['Key'] : JSON.stringify(t['Key']),
    value: t['Value'],
  }));

const tagValue = (tags: Tag[], key: string): unknown => tags.find((t) => t.key === key)?.value;

/** Every value a MinSize can take, or undefined when a parameter leaves it unbounded. */
const possibleValues = (v: unknown, params: Record<string, Parameter>): number[] | undefined => {
  if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '')) return [Number(v)];
  const name = refName(v);
  const p = name === undefined ? undefined : params[name];
  if (!p) return undefined;
  if (Array.isArray(p.AllowedValues)) return p.AllowedValues.map(Number);
  if (p.MaxValue !== undefined) return [Number(p.MaxValue), Number(p.MinValue ?? 0)];
  return undefined;
};

const show = (v: unknown): string => JSON.stringify(v);

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export const checkTemplate = (template: unknown, options: TemplateCheckOptions): Violation[] => {
  if (!isRecord(template) || !isRecord(template['Resources'])) throw new TypeError('checkTemplate: not a CloudFormation template (no Resources map)');
  const resources = template['Resources'] as Record<string, Resource>;
  const params = (isRecord(template['Parameters']) ? template['Parameters'] : {}) as Record<string, Parameter>;
  const rdbParam = options.rdbNodeGroupParameter ?? 'RdbNodeGroupName';
  const clusterRef = { Ref: options.clusterNameParameter ?? 'ClusterName' };
  const roleId = options.operatorRole ?? 'OperatorRole';
  const out: Violation[] = [];
  const add = (rule: Violation['rule'], where: string, message: string): void => {
    out.push({ rule, where, message });
  };

  const groups = Object.entries(resources).filter(([, r]) => r?.Type === ASG);
  for (const [id, r] of groups) {
    const where = `Resources.${id}`;
    const tags = tagsOf(r.Properties);
    if (!sameData(tagValue(tags, 'eks:cluster-name'), clusterRef)) {
      add('eks-tags', `${where}.Properties.Tags`, `tag eks:cluster-name must be ${show(clusterRef)}, is ${show(tagValue(tags, 'eks:cluster-name'))}`);
    }
    const nodeGroup = tagValue(tags, 'eks:nodegroup-name');
    if (nodeGroup === undefined) {
      add('eks-tags', `${where}.Properties.Tags`, 'tag eks:nodegroup-name is missing; add it with the node group name (a Ref to its parameter)');
      continue;
    }
    // In the Fn::Sub of the user data, a parameter's value is written ${Name}.
    const group = refName(nodeGroup);
    const label = `${NODE_LABEL}=${group === undefined ? String(nodeGroup) : `\${${group}}`}`;
    const spec = r.Properties?.['LaunchTemplate'];
    const lt = isRecord(spec) ? refName(spec['LaunchTemplateId']) : undefined;
    const userData = lt === undefined ? undefined : resources[lt]?.Properties?.['LaunchTemplateData'];
    const userDataText = isRecord(userData) ? JSON.stringify(userData['UserData'] ?? '') : '';
    if (!new RegExp(`${escapeRegExp(label)}(?![\\w.-])`).test(userDataText)) {
      add(
        'node-label',
        `${where}.Properties.LaunchTemplate`,
        `the launch template (in this template, by LaunchTemplateId) must have kubelet label nodes ${label} in its UserData`,
      );
    }
  }

  const rdb = groups.filter(([, r]) => refName(tagValue(tagsOf(r.Properties), 'eks:nodegroup-name')) === rdbParam);
  if (rdb.length === 0) {
    add('eks-tags', 'Resources', `no Auto Scaling group is tagged eks:nodegroup-name ${show({ Ref: rdbParam })}: the RDB group is missing or untagged`);
  }
  for (const [id, r] of Object.entries(resources)) {
    if (r?.Type === 'AWS::EKS::Nodegroup' && refName(r.Properties?.['NodegroupName']) === rdbParam) {
      add('self-managed', `Resources.${id}`, 'the RDB node group is an AWS::EKS::Nodegroup; make it an AWS::AutoScaling::AutoScalingGroup with a launch template');
    }
  }
  for (const [id, r] of rdb) {
    const where = `Resources.${id}`;
    const props = r.Properties ?? {};
    for (const t of tagsOf(props)) {
      if (t.key.includes(CLUSTER_AUTOSCALER)) {
        add('no-cluster-autoscaler', `${where}.Properties.Tags`, `remove tag ${t.key} from the RDB group (cluster-autoscaler would scale it)`);
      }
    }
    const mins = possibleValues(props['MinSize'], params);
    if (mins === undefined || mins.some((n) => !(n === 0 || n === 1))) {
      add('min-size', `${where}.Properties.MinSize`, `MinSize ${show(props['MinSize'])} can be ${mins === undefined ? 'anything' : mins.join(' or ')}; it must be 0 or 1 (a parameter with AllowedValues [0, 1])`);
    }
    if (props['DesiredCapacity'] !== undefined) {
      add('no-desired-capacity', `${where}.Properties.DesiredCapacity`, 'remove DesiredCapacity from the RDB group; it starts at MinSize and the operator raises it');
    }
    if (props['NewInstancesProtectedFromScaleIn'] !== true && props['NewInstancesProtectedFromScaleIn'] !== 'true') {
      add('protect-new-instances', `${where}.Properties.NewInstancesProtectedFromScaleIn`, `is ${show(props['NewInstancesProtectedFromScaleIn'])}; set it to true`);
    }
    const subnets = props['VPCZoneIdentifier'];
    const zones = props['AvailabilityZones'];
    const oneZone = subnets !== undefined ? Array.isArray(subnets) && subnets.length === 1 : Array.isArray(zones) && zones.length === 1;
    if (!oneZone) {
      add('az-rebalance', `${where}.Properties.VPCZoneIdentifier`, `the RDB group spans ${show(subnets ?? zones)}; give it one subnet (CloudFormation cannot suspend AZRebalance)`);
    }
    for (const policy of ['AutoScalingRollingUpdate', 'AutoScalingReplacingUpdate']) {
      if (r.UpdatePolicy?.[policy] !== undefined) {
        add('no-instance-replacement', `${where}.UpdatePolicy.${policy}`, `remove ${policy}: it terminates RDB servers CloudFormation picks`);
      }
    }
    if (props['MaxInstanceLifetime'] !== undefined) {
      add('no-instance-replacement', `${where}.Properties.MaxInstanceLifetime`, 'remove MaxInstanceLifetime: AWS would replace RDB servers that hold data');
    }
    if (props['CapacityRebalance'] === true || props['CapacityRebalance'] === 'true') {
      add('no-instance-replacement', `${where}.Properties.CapacityRebalance`, 'set CapacityRebalance false: AWS would replace RDB servers on a rebalance recommendation');
    }
    if (r.UpdateReplacePolicy !== 'Retain') {
      add('no-instance-replacement', `${where}.UpdateReplacePolicy`, `is ${show(r.UpdateReplacePolicy)}; set Retain so a replaced group keeps its servers`);
    }
  }

  for (const [id, r] of Object.entries(resources)) {
    if (JSON.stringify(r ?? {}).includes(`"${OWNER_TAG}"`)) {
      add('no-owner-tag', `Resources.${id}`, `remove the ${OWNER_TAG} tag; the operator claims the group itself`);
    }
    if (r?.Type === 'AWS::EFS::FileSystem') {
      for (const field of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
        if (r[field] !== 'Retain') add('efs-retain', `Resources.${id}.${field}`, `is ${show(r[field])}; set Retain`);
      }
    }
    const attached = r?.Properties?.['Roles'];
    if ((r?.Type === 'AWS::IAM::Policy' || r?.Type === 'AWS::IAM::ManagedPolicy') && Array.isArray(attached) && attached.some((x) => refName(x) === roleId)) {
      add('iam-policy', `Resources.${id}`, `a policy attached to ${roleId} outside its inline policy; the role's permissions are the README's policy only`);
    }
  }

  const role = resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') {
    add('iam-policy', `Resources.${roleId}`, `no AWS::IAM::Role ${roleId} for the operator`);
  } else {
    const props = role.Properties ?? {};
    if (props['ManagedPolicyArns'] !== undefined) {
      add('iam-policy', `Resources.${roleId}.Properties.ManagedPolicyArns`, 'remove ManagedPolicyArns; the role has only the README\'s policy');
    }
    const policies = Array.isArray(props['Policies']) ? (props['Policies'] as unknown[]).filter(isRecord) : [];
    if (policies.length !== 1) {
      add('iam-policy', `Resources.${roleId}.Properties.Policies`, `has ${policies.length} inline policies; it must have one, the README's`);
    }
    for (const [i, p] of policies.entries()) {
      out.push(...comparePolicy(options.readmePolicy, p['PolicyDocument'], `Resources.${roleId}.Properties.Policies[${i}]`, clusterRef));
    }
  }
  return out;
};
