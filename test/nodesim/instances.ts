// What EC2 looks like to the simulator: the running instances of every
// EKS-style node group ASG in moto. Asks moto directly (not the fault
// injector), so injected faults and the call log concern the operator only.
import { autoscaling, ec2 } from '../lib/aws.ts';

export interface SimInstance {
  instanceId: string;
  asgName: string;
  nodeGroup: string;
  instanceType: string;
  zone: string;
  privateDnsName: string;
  launchTime: number;
}

export class InstanceSource {
  private readonly asg: autoscaling.AutoScalingClient;
  private readonly ec2: ec2.EC2Client;

  constructor(motoUrl: string, region: string) {
    const config = {
      region,
      endpoint: motoUrl,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 2,
    };
    this.asg = new autoscaling.AutoScalingClient(config);
    this.ec2 = new ec2.EC2Client(config);
  }

  /** Instances that exist as far as a kubelet would care: in a node group ASG and running. */
  async list(): Promise<SimInstance[]> {
    const members = new Map<string, { asgName: string; nodeGroup: string }>();
    let token: string | undefined;
    do {
      const page = await this.asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ NextToken: token, MaxRecords: 100 }));
      for (const g of page.AutoScalingGroups ?? []) {
        const nodeGroup = g.Tags?.find((t) => t.Key === 'eks:nodegroup-name')?.Value;
        if (!nodeGroup || !g.AutoScalingGroupName) continue;
        for (const i of g.Instances ?? []) {
          if (!i.InstanceId) continue;
          if (i.LifecycleState?.startsWith('Terminat') || i.LifecycleState === 'Detached') continue;
          members.set(i.InstanceId, { asgName: g.AutoScalingGroupName, nodeGroup });
        }
      }
      token = page.NextToken;
    } while (token);
    if (members.size === 0) return [];

    const out: SimInstance[] = [];
    let next: string | undefined;
    do {
      const page = await this.ec2.send(
        new ec2.DescribeInstancesCommand({
          Filters: [{ Name: 'instance-state-name', Values: ['running'] }],
          NextToken: next,
        }),
      );
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          const m = i.InstanceId ? members.get(i.InstanceId) : undefined;
          if (!m || !i.InstanceId || !i.PrivateDnsName) continue;
          out.push({
            instanceId: i.InstanceId,
            asgName: m.asgName,
            nodeGroup: m.nodeGroup,
            instanceType: i.InstanceType ?? 'unknown',
            zone: i.Placement?.AvailabilityZone ?? 'us-east-1a',
            privateDnsName: i.PrivateDnsName,
            launchTime: i.LaunchTime ? new Date(i.LaunchTime).getTime() : Date.now(),
          });
        }
      }
      next = page.NextToken;
    } while (next);
    return out;
  }

  destroy(): void {
    this.asg.destroy();
    this.ec2.destroy();
  }
}
