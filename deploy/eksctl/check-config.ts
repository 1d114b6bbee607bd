/**
 * Refuses an eksctl ClusterConfig (deploy/eksctl/cluster.yaml, parsed from
 * YAML) whose kdb+ node groups break one of the operator's safety rules: the
 * same rules as deploy/aws/check-template.ts, in eksctl's terms. Pure.
 */
import type { Violation } from '../rules.ts';

export interface EksctlCheckOptions {
  /** Node groups the operator's pods run on (tickerplant and RDB). */
  nodeGroups?: string[];
  /** Of those, the RDB groups the operator scales. */
  rdbNodeGroups?: string[];
}

const OWNER_TAG = 'kdb-operator.dev/owner';
const CLUSTER_AUTOSCALER = 'k8s.io/cluster-autoscaler/';
const NODE_LABEL = 'eks.amazonaws.com/nodegroup';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const records = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
const recordOf = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const show = (v: unknown): string => JSON.stringify(v);

export const checkEksctlConfig = (config: unknown, options: EksctlCheckOptions = {}): Violation[] => {
  if (!isRecord(config) || config['kind'] !== 'ClusterConfig') throw new TypeError('checkEksctlConfig: not an eksctl ClusterConfig (kind ClusterConfig)');
  const cluster = recordOf(config['metadata'])['name'];
  const rdbGroups = options.rdbNodeGroups ?? ['rdb'];
  const names = options.nodeGroups ?? ['tickerplant', ...rdbGroups];
  const unmanaged = records(config['nodeGroups']);
  const managed = records(config['managedNodeGroups']);
  const out: Violation[] = [];
  const add = (rule: Violation['rule'], where: string, message: string): void => {
    out.push({ rule, where, message });
  };

  for (const name of names) {
    const isRdb = rdbGroups.includes(name);
    const m = managed.findIndex((g) => g['name'] === name);
    if (m >= 0) {
      // EKS itself tags a managed group eks:cluster-name/eks:nodegroup-name and labels its nodes.
      if (isRdb) add('self-managed', `managedNodeGroups[${m}]`, `move node group ${name} to nodeGroups (self-managed)`);
      continue;
    }
    const i = unmanaged.findIndex((g) => g['name'] === name);
    if (i < 0) {
      add('eks-tags', 'nodeGroups', `no node group named ${name}; add it (or name it in the checker's options)`);
      continue;
    }
    const g = unmanaged[i]!;
    const where = `nodeGroups[${i}]`;
    const tags = recordOf(g['tags']);
    if (tags['eks:cluster-name'] !== cluster) {
      add('eks-tags', `${where}.tags`, `tag eks:cluster-name must be the cluster's name ${show(cluster)}, is ${show(tags['eks:cluster-name'])}`);
    }
    if (tags['eks:nodegroup-name'] !== name) {
      add('eks-tags', `${where}.tags`, `tag eks:nodegroup-name must be ${show(name)}, is ${show(tags['eks:nodegroup-name'])}`);
    }
    if (recordOf(g['labels'])[NODE_LABEL] !== name) {
      add('node-label', `${where}.labels`, `label ${NODE_LABEL} must be ${show(name)}, is ${show(recordOf(g['labels'])[NODE_LABEL])}`);
    }
    for (const key of Object.keys(tags)) {
      if (key === OWNER_TAG) add('no-owner-tag', `${where}.tags`, `remove the ${OWNER_TAG} tag; the operator claims the group itself`);
    }
    if (!isRdb) continue;

    for (const key of Object.keys(tags)) {
      if (key.startsWith(CLUSTER_AUTOSCALER)) add('no-cluster-autoscaler', `${where}.tags`, `remove tag ${key} from the RDB group`);
    }
    if (recordOf(recordOf(recordOf(g['iam'])['withAddonPolicies']))['autoScaler'] === true) {
      add('no-cluster-autoscaler', `${where}.iam.withAddonPolicies.autoScaler`, 'set it false: eksctl then tags the group for cluster-autoscaler discovery');
    }
    if (g['propagateASGTags'] === true) {
      add('no-cluster-autoscaler', `${where}.propagateASGTags`, 'set it false: it writes k8s.io/cluster-autoscaler/node-template/* tags for cluster-autoscaler');
    }
    const min = g['minSize'];
    if (min !== 0 && min !== 1) {
      add('min-size', `${where}.minSize`, `is ${show(min)}; set 0 or 1 (unset, eksctl makes it the desired capacity or 2)`);
    }
    const desired = g['desiredCapacity'];
    if (desired !== undefined && desired !== min) {
      add('protect-new-instances', `${where}.desiredCapacity`, `is ${show(desired)}; leave it out or equal to minSize: eksctl starts instances unprotected, only the operator's servers are`);
    }
    if (g['maxInstanceLifetime'] !== undefined) {
      add('no-instance-replacement', `${where}.maxInstanceLifetime`, 'remove it: AWS would replace RDB servers that hold data');
    }
    if (recordOf(g['instancesDistribution'])['capacityRebalance'] === true) {
      add('no-instance-replacement', `${where}.instancesDistribution.capacityRebalance`, 'set it false: AWS would replace RDB servers on a rebalance recommendation');
    }
    const suspended = Array.isArray(g['asgSuspendProcesses']) && g['asgSuspendProcesses'].includes('AZRebalance');
    const zones = Array.isArray(g['subnets']) ? g['subnets'] : g['availabilityZones'];
    const oneZone = Array.isArray(zones) && zones.length === 1;
    if (!suspended && !oneZone) {
      add('az-rebalance', `${where}.asgSuspendProcesses`, 'add AZRebalance (or give the group one zone)');
    }
  }
  return out;
};
