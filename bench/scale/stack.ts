// The scale benchmark's stack: the local EKS stack with pods that run no
// process (the node simulator's KDB_SIM_PROCESSES=none), one ASG per
// cluster's pool and a tickerplant node group sized for every tickerplant.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoscaling, motoClientConfig } from '../../test/lib/aws.ts';
import { readStackAws, stackDir } from '../../test/lib/stack.ts';
import { REPO } from '../lib.ts';

/** What the nodes and pods of a benchmark cost the simulator: no processes, slower polls of moto. */
export const SIM_ENV = {
  KDB_SIM_PROCESSES: 'none',
  KDB_SIM_BOOT_DELAY_MS: '1000',
  KDB_SIM_POLL_MS: '2000',
  // A kubelet renews its Lease every 10 s but reports an unchanged node status
  // only every 5 minutes (nodeStatusReportFrequency); the simulator's default
  // 10 s full status of every node was most of the API server's load at 50
  // clusters (hundreds of nodes), not anything the operator asked for.
  KDB_SIM_NODE_STATUS_MS: '60000',
} as const;

/** A fresh stack (down, then up with SIM_ENV); its .stack/env is loaded into this process. */
export const freshStack = (): void => {
  execFileSync('bash', [join(REPO, 'test/stack/down.sh')], { cwd: REPO, stdio: 'ignore' });
  execFileSync('bash', [join(REPO, 'test/stack/up.sh')], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...SIM_ENV } });
  for (const line of readFileSync(join(stackDir(), 'env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=("?)(.*)\2$/.exec(line.trim());
    if (m) process.env[m[1]!] = m[3]!;
  }
};

export const TP_GROUP = 'scale-tp';
/** Tickerplant pods per tickerplant node (t3a.large: 35 pods, 8 GiB; the bench's tickerplants ask 64 Mi). */
const TICKERPLANTS_PER_NODE = 30;

export interface SeededGroups {
  /** ASG name of cluster i's pool. */
  rdbGroup: (i: number) => string;
  nodeGroup: (i: number) => string;
  clusterOfGroup: Map<string, number>;
}

/** One EKS-style ASG per cluster (desired 0, as the template deploys the RDB group), and the tickerplants' group. */
export const seedGroups = async (clusters: number, rdbsPerCluster: number): Promise<SeededGroups> => {
  const aws = readStackAws();
  const asc = new autoscaling.AutoScalingClient(motoClientConfig());
  const rdb = (await asc.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [aws.nodeGroups.rdb.asgName] }))).AutoScalingGroups?.[0];
  const subnet = rdb?.VPCZoneIdentifier?.split(',')[0] ?? aws.subnetIds[0]!;
  const create = async (name: string, nodeGroup: string, launchTemplateName: string, max: number, desired: number) =>
    asc.send(
      new autoscaling.CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        LaunchTemplate: { LaunchTemplateName: launchTemplateName, Version: '$Latest' },
        MinSize: 0,
        MaxSize: max,
        DesiredCapacity: desired,
        VPCZoneIdentifier: subnet,
        Tags: Object.entries({ 'eks:cluster-name': aws.clusterName, 'eks:nodegroup-name': nodeGroup }).map(([Key, Value]) => ({
          Key,
          Value,
          ResourceId: name,
          ResourceType: 'auto-scaling-group',
          PropagateAtLaunch: true,
        })),
      }),
    );
  const tpNodes = Math.ceil(clusters / TICKERPLANTS_PER_NODE);
  await create(`eks-${TP_GROUP}`, TP_GROUP, aws.nodeGroups.tickerplant.launchTemplateName, tpNodes, tpNodes);
  const nodeGroup = (i: number) => `scale-${i}`;
  const rdbGroup = (i: number) => `eks-scale-${i}`;
  const clusterOfGroup = new Map<string, number>();
  for (let i = 0; i < clusters; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, clusters - i) }, (_, k) => {
        clusterOfGroup.set(rdbGroup(i + k), i + k);
        return create(rdbGroup(i + k), nodeGroup(i + k), aws.nodeGroups.rdb.launchTemplateName, rdbsPerCluster + 2, 0);
      }),
    );
  }
  asc.destroy();
  return { rdbGroup, nodeGroup, clusterOfGroup };
};
