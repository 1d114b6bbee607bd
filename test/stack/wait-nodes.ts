// Waits until every node group of .stack/aws.json that asks for instances
// (DesiredCapacity above 0 in moto) has a Ready Node (label
// eks.amazonaws.com/nodegroup, as EKS sets it and the node simulator copies).
// The RDB group starts empty, as deploy/aws/kdb-operator.yaml makes it: its
// first server comes when a KdbCluster asks for one.
// Exits 1 naming the groups still missing when the timeout passes.
//
//   node test/stack/wait-nodes.ts [timeoutSeconds=120]
import { autoscaling, motoClientConfig } from '../lib/aws.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws } from '../lib/stack.ts';

const timeoutMs = Number(process.argv[2] ?? '120') * 1000;
const stack = readStackAws();
const asc = new autoscaling.AutoScalingClient({ ...motoClientConfig(), region: stack.region });
const described = await asc.send(
  new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: Object.values(stack.nodeGroups).map((g) => g.asgName) }),
);
asc.destroy();
const desired = new Map((described.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName, g.DesiredCapacity ?? 0]));
const groups = Object.entries(stack.nodeGroups)
  .filter(([, g]) => (desired.get(g.asgName) ?? 0) > 0)
  .map(([name]) => name);
const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);

const readyGroups = async (): Promise<Set<string>> => {
  const nodes = await core.listNode();
  const ready = new Set<string>();
  for (const n of nodes.items) {
    const group = n.metadata?.labels?.['eks.amazonaws.com/nodegroup'];
    const isReady = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (group && isReady) ready.add(group);
  }
  return ready;
};

const deadline = Date.now() + timeoutMs;
let missing = groups;
let lastError = '';
while (Date.now() < deadline) {
  try {
    const ready = await readyGroups();
    missing = groups.filter((g) => !ready.has(g));
    if (missing.length === 0) process.exit(0);
  } catch (err) {
    lastError = (err as Error).message;
  }
  await new Promise((r) => setTimeout(r, 250));
}
console.error(
  `no Ready node for node group(s) ${missing.join(', ')} after ${timeoutMs / 1000}s` +
    (lastError ? ` (last error: ${lastError})` : '') +
    '; see .stack/logs/nodesim.log',
);
process.exit(1);
