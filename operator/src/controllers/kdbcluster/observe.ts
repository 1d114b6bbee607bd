import type { KdbCluster, RdbPoolSpec } from '../../api/kdbcluster.ts';
import type { Aws, Group } from '../../aws/index.ts';
import { AwsUnavailableError, GroupNotFoundError } from '../../aws/index.ts';
import type { Store, V1Job, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Service, V1StatefulSet } from '../../kube/index.ts';
import { parseProviderId } from '../../planner/provider-id.ts';
import type { EfsObservation, Observed, ObservedAsg, ObservedMergeJob, ObservedNode, ObservedPool } from '../../planner/types.ts';
import { LABEL, pvName, pvcName, tickerplantName } from '../../specs/names.ts';
import { observeRdbPod } from './rdb-report.ts';

export interface Caches {
  pods: Store<V1Pod>;
  nodes: Store<V1Node>;
  statefulSets: Store<V1StatefulSet>;
  services: Store<V1Service>;
  pvcs: Store<V1PersistentVolumeClaim>;
  pvs: Store<V1PersistentVolume>;
  jobs: Store<V1Job>;
}

export interface ObserveDeps {
  caches: Caches;
  aws: Aws;
  /** EFS state changes rarely: remembered per file system for this long. */
  efsCacheMs?: number;
}

const key = (ns: string | undefined, name: string): string => `${ns ?? 'default'}/${name}`;

const toObservedAsg = (g: Group): ObservedAsg => ({
  name: g.name,
  desired: g.desired,
  min: g.min,
  max: g.max,
  instances: g.instances.map((i) => ({
    instanceId: i.instanceId,
    lifecycleState: i.lifecycleState,
    protectedFromScaleIn: i.protectedFromScaleIn,
    zone: i.zone,
  })),
  suspendedProcesses: g.suspendedProcesses,
  newInstancesProtectedFromScaleIn: g.newInstancesProtectedFromScaleIn,
});

const observeMergeJob = (j: V1Job): ObservedMergeJob => {
  const failed = j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True') ?? false;
  return {
    name: j.metadata?.name ?? '',
    phase: (j.status?.succeeded ?? 0) > 0 ? 'Succeeded' : failed ? 'Failed' : 'Running',
  };
};

const observeNode = (n: V1Node): ObservedNode => {
  const instanceId = n.spec?.providerID ? parseProviderId(n.spec.providerID)?.instanceId : undefined;
  return {
    name: n.metadata?.name ?? '',
    ...(instanceId ? { instanceId } : {}),
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    unschedulable: n.spec?.unschedulable === true,
    annotations: { ...(n.metadata?.annotations ?? {}) },
  };
};

/**
 * Everything the planner needs, from informer caches and AWS. AWS reads go
 * through the cached describe except while a scale-in is in flight: that
 * chain must see the instance as AWS sees it now, or a stale read after a
 * restart could repeat a terminate.
 */
export class Observer {
  readonly #deps: ObserveDeps;
  readonly #efs = new Map<string, { at: number; value: EfsObservation }>();

  constructor(deps: ObserveDeps) {
    this.#deps = deps;
  }

  async observe(cluster: KdbCluster, now: Date): Promise<Observed> {
    const ns = cluster.metadata.namespace ?? 'default';
    const { caches } = this.#deps;
    const sts = caches.statefulSets.get(key(ns, tickerplantName(cluster)));
    const pvc = caches.pvcs.get(key(ns, pvcName(cluster)));
    const pv = caches.pvs.get(key(undefined, pvName(cluster))) ?? caches.pvs.list().find((p) => p.metadata?.name === pvName(cluster));
    // A claim that is not Bound (e.g. its PV still points at the claim of an
    // earlier cluster of the same name) needs the volumes step again.
    const volumes = pv !== undefined && pvc !== undefined && pvc.status?.phase === 'Bound';
    const pools: Record<string, ObservedPool> = {};
    const clusterPods = caches.pods
      .list()
      .filter((p) => p.metadata?.namespace === ns && p.metadata?.labels?.[LABEL.cluster] === cluster.metadata.name);
    for (const pool of cluster.spec.rdbPools) {
      pools[pool.name] = await this.#observePool(cluster, pool, clusterPods);
    }
    return {
      cluster,
      now,
      tickerplant: {
        statefulSet: sts ? { ready: (sts.status?.readyReplicas ?? 0) >= 1 } : 'missing',
        service: caches.services.get(key(ns, tickerplantName(cluster))) !== undefined,
      },
      storage: { efs: await this.#observeEfs(cluster, now), logVolume: volumes, hdbVolume: volumes },
      pools,
      mergeJobs: caches.jobs
        .list()
        .filter((j) => j.metadata?.namespace === ns && j.metadata?.labels?.[LABEL.cluster] === cluster.metadata.name && j.metadata?.labels?.[LABEL.role] === 'merge')
        .map(observeMergeJob),
    };
  }

  async #observePool(cluster: KdbCluster, pool: RdbPoolSpec, clusterPods: V1Pod[]): Promise<ObservedPool> {
    const pods = clusterPods.filter((p) => p.metadata?.labels?.[LABEL.pool] === pool.name).map(observeRdbPod);
    const nodes = this.#deps.caches.nodes
      .list()
      .filter((n) => n.metadata?.labels?.[LABEL.nodeGroup] === pool.nodeGroup)
      .map(observeNode);
    const inFlight = cluster.status?.pools.find((p) => p.name === pool.name)?.scaleIn !== undefined;
    return { asg: await this.#observeAsg(pool, inFlight), nodes, pods };
  }

  async #observeAsg(pool: RdbPoolSpec, fresh: boolean): Promise<ObservedPool['asg']> {
    const as = this.#deps.aws.autoScaling;
    try {
      const group = pool.autoScalingGroupName
        ? await as.describeGroup(pool.autoScalingGroupName, { fresh })
        : await as.findGroupByTags({ 'eks:nodegroup-name': pool.nodeGroup }, { fresh });
      return group ? toObservedAsg(group) : 'missing';
    } catch (e) {
      if (e instanceof AwsUnavailableError) return 'unknown';
      if (e instanceof GroupNotFoundError) return 'missing';
      throw e;
    }
  }

  async #observeEfs(cluster: KdbCluster, now: Date): Promise<EfsObservation> {
    const efs = cluster.spec.storage.efs;
    const cacheKey = `${efs.fileSystemId}/${cluster.metadata.namespace}/${cluster.metadata.name}/${efs.accessPoint.create}`;
    const hit = this.#efs.get(cacheKey);
    if (hit && now.getTime() - hit.at < (this.#deps.efsCacheMs ?? 60_000)) return hit.value;
    let value: EfsObservation;
    try {
      const fs = await this.#deps.aws.efs.describeFileSystem(efs.fileSystemId);
      if (!fs.found) value = 'missing';
      else {
        let accessPointId: string | undefined;
        if (efs.accessPoint.create) {
          const aps = await this.#deps.aws.efs.listAccessPoints(efs.fileSystemId, clusterKeyOf(cluster));
          accessPointId = aps.find((a) => a.lifeCycleState === 'available' || a.lifeCycleState === 'creating')?.id;
        }
        value = { lifeCycleState: fs.lifeCycleState, ...(accessPointId ? { accessPointId } : {}) };
      }
    } catch (e) {
      if (e instanceof AwsUnavailableError) return 'unknown';
      throw e;
    }
    this.#efs.set(cacheKey, { at: now.getTime(), value });
    return value;
  }

  /** After the operator changed EFS state itself. */
  forgetEfs(): void {
    this.#efs.clear();
  }
}

export const clusterKeyOf = (c: Pick<KdbCluster, 'metadata'>): string => `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;
