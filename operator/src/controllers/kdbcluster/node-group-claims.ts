import type { KdbCluster } from '../../api/kdbcluster.ts';
import type { Aws } from '../../aws/index.ts';
import { AwsUnavailableError, OWNER_TAG } from '../../aws/index.ts';
import type { EventRecorder, KubeObject } from '../../kube/index.ts';
import { nodeGroupOwner } from '../../planner/ownership.ts';
import { errorMessage } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/log.ts';
import { findPoolGroup } from './observe.ts';

export interface ReleaseDeps {
  aws: Aws;
  events: EventRecorder;
  eksClusterName?: string | undefined;
  log: Logger;
}

/**
 * On deletion: hand the node groups this cluster claimed back, so another
 * cluster may use them. The groups are the ones status recorded and the ones
 * the spec finds now; only a tag naming this cluster is removed. AWS being
 * unreachable retries the deletion (as the access point does); any other
 * refusal (permissions, a group gone) is said in a Warning and does not hold
 * the deletion up: a claim left behind only keeps other clusters off.
 */
export const releaseNodeGroups = async (d: ReleaseDeps, cluster: KdbCluster, obj: KubeObject): Promise<void> => {
  const owner = nodeGroupOwner(cluster);
  const names = new Set<string>();
  for (const p of cluster.status?.pools ?? []) if (p.autoScalingGroupName !== undefined) names.add(p.autoScalingGroupName);
  for (const pool of cluster.spec.rdbPools) {
    try {
      const { group } = await findPoolGroup(d.aws, pool, d.eksClusterName, true);
      if (group !== undefined) names.add(group.name);
    } catch (e) {
      if (e instanceof AwsUnavailableError) throw e;
    }
  }
  for (const name of [...names].sort()) {
    try {
      const r = await d.aws.autoScaling.releaseGroup(name, owner);
      if (r.released) d.log.info('released node group', { group: name, owner });
    } catch (e) {
      if (e instanceof AwsUnavailableError) throw e;
      await d.events.warning(
        obj,
        'NodeGroupNotReleased',
        `could not remove tag ${OWNER_TAG}=${owner} from ASG ${name} (${errorMessage(e)}): remove it by hand before another KdbCluster uses that node group`,
      );
    }
  }
};
