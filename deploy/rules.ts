/**
 * The settings of the AWS side that the operator's safety rules need, one id
 * each, shared by the CloudFormation and the eksctl checkers. Each text says
 * what breaks without it (README, "Running on Amazon EKS").
 */
export const RULES = {
  'eks-tags':
    'the operator finds a node group by its ASG tags eks:cluster-name (this cluster) and eks:nodegroup-name together; without them the pool says NodeGroupUnresolved and does not scale',
  'node-label':
    'the operator places pods and maps nodes to node groups by the node label eks.amazonaws.com/nodegroup, which must name the same node group as the ASG tag',
  'self-managed':
    'an EKS managed node group tags its ASG for cluster-autoscaler and owns its desired size, so the RDB group must be a self-managed ASG the operator alone scales',
  'no-cluster-autoscaler':
    'the operator is the only writer of the RDB group\'s DesiredCapacity (AWS has no atomic increment); cluster-autoscaler discovers groups by k8s.io/cluster-autoscaler/* tags',
  'min-size':
    'the RDB group\'s MinSize must be 0 or 1: scale-in terminates with decrement and AWS refuses to go below MinSize, so servers above it could never be handed back',
  'no-desired-capacity':
    'the template must not set the RDB group\'s DesiredCapacity: every stack update would set it back under the operator (safety rule 1)',
  'protect-new-instances':
    'every RDB instance is protected from scale-in from its first second (safety rule 2): NewInstancesProtectedFromScaleIn true',
  'az-rebalance':
    'AZRebalance must never pick an RDB server to terminate (safety rule 2): one zone for the RDB group, or AZRebalance suspended',
  'no-instance-replacement':
    'nothing but the scale-in chain terminates RDB servers: no rolling or replacing UpdatePolicy, a replaced group keeps its instances (UpdateReplacePolicy Retain), no MaxInstanceLifetime or CapacityRebalance',
  'no-owner-tag':
    'the operator writes kdb-operator.dev/owner itself when it claims a group and removes it on delete; a preset or re-applied tag would claim the group for a cluster that does not hold it',
  'iam-policy':
    'the operator\'s role has exactly the README\'s IAM policy: the same statements and actions, the mutating ones only on this cluster\'s groups (aws:ResourceTag/eks:cluster-name)',
  'efs-retain':
    'data on EFS is never deleted: the file system survives deleting or replacing the stack (DeletionPolicy and UpdateReplacePolicy Retain)',
} as const;

export type RuleId = keyof typeof RULES;

export interface Violation {
  rule: RuleId;
  /** Resource logical id (CloudFormation) or path (eksctl) of the setting. */
  where: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** A violation, printed with its rule's reason, for test and CLI output. */
export const describeViolation = (v: Violation): string => `${v.where}: ${v.message} [${v.rule}: ${RULES[v.rule]}]`;
