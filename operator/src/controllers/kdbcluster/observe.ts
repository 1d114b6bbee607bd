import { scaleInsOf } from '../../api/kdbcluster.ts';
import type { KdbCluster, RdbPoolSpec } from '../../api/kdbcluster.ts';
import type { Aws, Group } from '../../aws/index.ts';
import { AwsUnavailableError, GroupNotFoundError, nodeGroupTags, OWNER_TAG } from '../../aws/index.ts';
import type { KubeApi, Store, V1Deployment, V1Job, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Service, V1StatefulSet } from '../../kube/index.ts';
import { Resources } from '../../kube/index.ts';
import { blocksTermination, podsBlockingTermination } from '../../planner/occupancy.ts';
import type { PodOnNode } from '../../planner/occupancy.ts';
import { parseProviderId } from '../../planner/provider-id.ts';
import type { AsgLookup, EfsObservation, Observed, ObservedAsg, ObservedMergeJob, ObservedNode, ObservedPool, ObservedTickerplant } from '../../planner/types.ts';
import type { PriorityClasses } from '../../specs/priority.ts';
import { rdbPoolTemplateHash } from '../../specs/rdb.ts';
import { tickerplantTemplateHash } from '../../specs/tickerplant.ts';
import { ANNOTATION, LABEL, gatewayName, hdbName, pvName, pvcName, rdbServiceName, tickerplantName } from '../../specs/names.ts';
import { observeRdbPod } from './rdb-report.ts';
import { removedPools } from './removed-pools.ts';

export interface Caches {
  pods: Store<V1Pod>;
  nodes: Store<V1Node>;
  statefulSets: Store<V1StatefulSet>;
  /** The gateway's and the HDB's (spec.gateway). */
  deployments: Store<V1Deployment>;
  services: Store<V1Service>;
  pvcs: Store<V1PersistentVolumeClaim>;
  pvs: Store<V1PersistentVolume>;
  jobs: Store<V1Job>;
}

export interface ObserveDeps {
  caches: Caches;
  aws: Aws;
  /** The EKS cluster whose node groups the operator scales (KDB_EKS_CLUSTER_NAME): ASGs are found by it and the node group together. */
  eksClusterName?: string;
  /** A fresh read of every pod bound to a node, all namespaces (listPodsOnNode). */
  podsOnNode?: (node: string) => Promise<V1Pod[]>;
  /** EFS state changes rarely: remembered per file system for this long. */
  efsCacheMs?: number;
  /**
   * What the effector builds pods with (the chart's settings): the hashes of
   * the templates the spec asks for are computed with them, so the planner
   * can tell which running pods are built from an older spec. Absent: no
   * hashes, and changes apply as they did before spec.updates.
   */
  podBuild?: { agentServiceAccount: string; priorityClasses?: PriorityClasses };
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
  ...(g.tags[OWNER_TAG] !== undefined ? { owner: g.tags[OWNER_TAG] } : {}),
});

export const podOnNode = (p: V1Pod): PodOnNode => {
  const controller = p.metadata?.ownerReferences?.find((r) => r.controller === true)?.kind;
  return {
    namespace: p.metadata?.namespace ?? 'default',
    name: p.metadata?.name ?? '',
    ...(p.status?.phase !== undefined ? { phase: p.status.phase } : {}),
    ...(controller !== undefined ? { controllerKind: controller } : {}),
    ...(p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined ? { mirror: true } : {}),
  };
};

/** Every pod bound to the node, in every namespace, read from the API server now (not a cache). */
export const listPodsOnNode = async (api: Pick<KubeApi, 'list'>, node: string): Promise<V1Pod[]> =>
  (await api.list<V1Pod>(Resources.Pod, { fieldSelector: `spec.nodeName=${node}` })).items;

/**
 * The pool's ASG: the one named in the spec, or the one group tagged with
 * both the operator's EKS cluster name and the pool's node group. Anything
 * but exactly one match is reported, never guessed.
 */
export const findPoolGroup = async (
  aws: Aws,
  pool: Pick<RdbPoolSpec, 'nodeGroup' | 'autoScalingGroupName'>,
  eksClusterName: string | undefined,
  fresh: boolean,
): Promise<{ group?: Group; lookup: AsgLookup }> => {
  const as = aws.autoScaling;
  if (pool.autoScalingGroupName !== undefined) {
    const query = `name ${pool.autoScalingGroupName}`;
    const group = await as.describeGroup(pool.autoScalingGroupName, { fresh });
    return group ? { group, lookup: { query, matches: [group.name] } } : { lookup: { query, matches: [] } };
  }
  if (eksClusterName === undefined || eksClusterName === '') {
    return {
      lookup: {
        query: `node group ${pool.nodeGroup}`,
        matches: [],
        problem: `the operator has no EKS cluster name to find node group ${pool.nodeGroup}'s ASG by: set the chart value eksClusterName (KDB_EKS_CLUSTER_NAME), or name the ASG in rdbPools[].autoScalingGroupName`,
      },
    };
  }
  const tags = nodeGroupTags(eksClusterName, pool.nodeGroup);
  const query = `tags ${Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(', ')}`;
  const groups = await as.findGroupsByTags(tags, { fresh });
  const lookup = { query, matches: groups.map((g) => g.name) };
  return groups.length === 1 ? { group: groups[0]!, lookup } : { lookup };
};
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
 * through the cached describe except while a scale-in is in flight: its
 * chains must see their instances as AWS sees them now, or a stale read after a
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
    const allPods = caches.pods.list();
    const clusterPods = allPods.filter((p) => p.metadata?.namespace === ns && p.metadata?.labels?.[LABEL.cluster] === cluster.metadata.name);
    // What else the informer sees on each node: other clusters' pods, our own tickerplant and merge pods.
    const others = new Map<string, string[]>();
    for (const p of allPods) {
      const node = p.spec?.nodeName;
      if (node === undefined || (clusterPods.includes(p) && p.metadata?.labels?.[LABEL.role] === 'rdb')) continue;
      const on = podOnNode(p);
      if (blocksTermination(on)) others.set(node, [...(others.get(node) ?? []), `${on.namespace}/${on.name}`]);
    }
    for (const pool of cluster.spec.rdbPools) {
      pools[pool.name] = { ...(await this.#observePool(cluster, pool, clusterPods, others)), ...poolHash(cluster, pool, this.#deps.podBuild) };
    }
    // Pools removed from the spec drain: observed as their pods were built.
    for (const removed of removedPools(cluster, clusterPods)) {
      const observed = await this.#observePool(cluster, removed.spec, clusterPods, others);
      pools[removed.spec.name] = removed.fromPod ? { ...observed, removedPoolSpec: removed.spec } : observed;
    }
    return {
      cluster,
      now,
      tickerplant: {
        statefulSet: sts
          ? { ready: (sts.status?.readyReplicas ?? 0) >= 1, ...(sts.spec?.replicas !== undefined ? { replicas: sts.spec.replicas } : {}) }
          : 'missing',
        service: caches.services.get(key(ns, tickerplantName(cluster))) !== undefined,
        ...tickerplantHashes(cluster, sts, this.#deps.podBuild),
      },
      storage: { efs: await this.#observeEfs(cluster, now), logVolume: volumes, hdbVolume: volumes },
      pools,
      mergeJobs: caches.jobs
        .list()
        .filter((j) => j.metadata?.namespace === ns && j.metadata?.labels?.[LABEL.cluster] === cluster.metadata.name && j.metadata?.labels?.[LABEL.role] === 'merge')
        .map(observeMergeJob),
      gateway: {
        deployment: caches.deployments.get(key(ns, gatewayName(cluster))) !== undefined,
        service: caches.services.get(key(ns, gatewayName(cluster))) !== undefined,
        hdbDeployment: caches.deployments.get(key(ns, hdbName(cluster))) !== undefined,
        hdbService: caches.services.get(key(ns, hdbName(cluster))) !== undefined,
        rdbService: caches.services.get(key(ns, rdbServiceName(cluster))) !== undefined,
      },
    };
  }

  async #observePool(cluster: KdbCluster, pool: RdbPoolSpec, clusterPods: V1Pod[], others: ReadonlyMap<string, string[]>): Promise<ObservedPool> {
    const pods = clusterPods.filter((p) => p.metadata?.labels?.[LABEL.pool] === pool.name).map(observeRdbPod);
    const nodes = this.#deps.caches.nodes
      .list()
      .filter((n) => n.metadata?.labels?.[LABEL.nodeGroup] === pool.nodeGroup)
      .map((n): ObservedNode => {
        const o = observeNode(n);
        const other = others.get(o.name);
        return other ? { ...o, otherPods: other } : o;
      });
    const chains = scaleInsOf(cluster.status?.pools.find((p) => p.name === pool.name));
    // Past DeletePod a chain heads for a terminate: what runs on its node is
    // read fresh, in every namespace, not from the managed-pods cache. One
    // read per chain, side by side, so many chains cost no more wall time than one.
    const podsOnNode = this.#deps.podsOnNode;
    const heading = chains.filter((r) => r.node !== undefined && r.step !== 'DeletePod');
    const fresh = podsOnNode
      ? await Promise.all(
          heading.map(async (r) => ({
            node: r.node!,
            blocking: podsBlockingTermination((await podsOnNode(r.node!)).map(podOnNode), { namespace: cluster.metadata.namespace ?? 'default', name: r.rdb ?? '' }),
          })),
        )
      : [];
    for (const { node, blocking } of fresh) {
      const i = nodes.findIndex((n) => n.name === node);
      if (i >= 0 && blocking.length > 0) nodes[i] = { ...nodes[i]!, otherPods: [...new Set([...(nodes[i]!.otherPods ?? []), ...blocking])].sort() };
    }
    return { ...(await this.#observeAsg(pool, chains.length > 0)), nodes, pods };
  }

  async #observeAsg(pool: RdbPoolSpec, fresh: boolean): Promise<Pick<ObservedPool, 'asg' | 'asgLookup'>> {
    try {
      const { group, lookup } = await findPoolGroup(this.#deps.aws, pool, this.#deps.eksClusterName, fresh);
      return group ? { asg: toObservedAsg(group) } : { asg: 'missing', asgLookup: lookup };
    } catch (e) {
      if (e instanceof AwsUnavailableError) return { asg: 'unknown' };
      if (e instanceof GroupNotFoundError) return { asg: 'missing' };
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
    this.#deps.aws.efs.forgetFileSystems();
  }
}

/** The tickerplant template the StatefulSet runs (its annotation) and the one the spec asks for. */
export const tickerplantHashes = (
  cluster: KdbCluster,
  sts: V1StatefulSet | undefined,
  build: ObserveDeps['podBuild'],
): Pick<ObservedTickerplant, 'templateHash' | 'desiredTemplateHash'> => {
  const running = sts?.metadata?.annotations?.[ANNOTATION.specHash];
  return {
    ...(running !== undefined ? { templateHash: running } : {}),
    ...(build ? { desiredTemplateHash: tickerplantTemplateHash(cluster, build.priorityClasses) } : {}),
  };
};

const poolHash = (cluster: KdbCluster, pool: RdbPoolSpec, build: ObserveDeps['podBuild']): Pick<ObservedPool, 'desiredPodHash'> =>
  build
    ? {
        desiredPodHash: rdbPoolTemplateHash({
          cluster,
          pool,
          agentServiceAccount: build.agentServiceAccount,
          ...(build.priorityClasses?.rdb ? { priorityClassName: build.priorityClasses.rdb } : {}),
        }),
      }
    : {};

export const clusterKeyOf = (c: Pick<KdbCluster, 'metadata'>): string => `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;
