import type { Aws } from '../../aws/index.ts';
import type { EventRecorder, KubeClient, KubeObject, V1Deployment, V1Job, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Service, V1StatefulSet, Informer } from '../../kube/index.ts';
import { Resources, stripNodeForCache } from '../../kube/index.ts';
import { Controller } from '../../runtime/controller.ts';
import type { Logger } from '../../runtime/log.ts';
import type { OperatorMetrics } from '../../runtime/metrics.ts';
import { LABEL, MANAGED_BY } from '../../specs/names.ts';
import type { PriorityClasses } from '../../specs/priority.ts';
import { listPodsOnNode, Observer } from './observe.ts';
import { kdbClusterReconciler } from './reconciler.ts';

export interface KdbClusterControllerOptions {
  kube: KubeClient;
  aws: Aws;
  log: Logger;
  metrics?: OperatorMetrics;
  agentServiceAccount: string;
  /** PriorityClass names for the pods it makes (KDB_*_PRIORITY_CLASS); none where empty. */
  priorityClasses?: PriorityClasses;
  /** The EKS cluster whose node groups the operator scales (KDB_EKS_CLUSTER_NAME). */
  eksClusterName?: string;
  /** Reconcile only the KdbClusters of this namespace (default: all); pods and nodes are still watched everywhere. */
  clusterNamespace?: string;
  /** Reconciles running at once, each of a different KdbCluster (default DEFAULT_WORKERS). */
  workers?: number;
}

/**
 * A firm runs hundreds of KdbClusters; a reconcile mostly waits on the API
 * server and AWS, so a few run side by side. The queue never hands one
 * cluster to two workers, so each cluster's plans stay strictly in order.
 */
export const DEFAULT_WORKERS = 4;

/** KDB_WORKERS as a worker count: a whole number from 1 to 64, else the default. */
export const workersFrom = (value: string | undefined): number => {
  const n = value === undefined || value.trim() === '' ? Number.NaN : Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : DEFAULT_WORKERS;
};

export interface KdbClusterController {
  controller: Controller;
  informers: Informer<KubeObject>[];
  events: EventRecorder;
}

const ownerKey = (o: Readonly<KubeObject>): string | undefined => {
  const name = o.metadata?.labels?.[LABEL.cluster];
  if (!name) return undefined;
  const ns = o.metadata?.namespace ?? o.metadata?.labels?.['kdb-operator.dev/namespace'];
  return ns ? `${ns}/${name}` : undefined;
};

/**
 * Informers feed one work queue keyed by KdbCluster: owned objects map to
 * their cluster by label (PVs are cluster-scoped, so by claimRef), nodes to
 * every cluster (a joining node may be what a pool waits for).
 */
/**
 * What each informer caches. Pods: only the project's (managed-by), so a
 * firm's other workloads are not held in memory. That hides a foreign pod
 * landing on an RDB node from the cache, which is why every chain past
 * DeletePod, and the effector right before each Terminate, list the node's
 * pods in every namespace fresh from the API server (observe.ts, effect.ts).
 * Nodes: only those of an EKS node group (the label the planner matches
 * pools by), the others the planner never looks at; stripped of their image lists.
 */
export const INFORMER_SELECTORS = {
  managed: `${LABEL.managedBy}=${MANAGED_BY}`,
  nodes: LABEL.nodeGroup,
} as const;

export const kdbClusterController = (o: KdbClusterControllerOptions): KdbClusterController => {
  const managed = INFORMER_SELECTORS.managed;
  const informer = <T extends KubeObject>(resource: (typeof Resources)[keyof typeof Resources], labelSelector?: string, transform?: (obj: KubeObject) => KubeObject) =>
    o.kube.informer<T>({ resource, ...(labelSelector ? { labelSelector } : {}), ...(transform ? { transform } : {}) });
  const clusters = o.kube.informer<KubeObject>({ resource: Resources.KdbCluster, ...(o.clusterNamespace ? { namespace: o.clusterNamespace } : {}) });
  const pods = informer<V1Pod>(Resources.Pod, managed);
  const nodes = informer<V1Node>(Resources.Node, INFORMER_SELECTORS.nodes, stripNodeForCache);
  const statefulSets = informer<V1StatefulSet>(Resources.StatefulSet, managed);
  const deployments = informer<V1Deployment>(Resources.Deployment, managed);
  const services = informer<V1Service>(Resources.Service, managed);
  const pvcs = informer<V1PersistentVolumeClaim>(Resources.PersistentVolumeClaim, managed);
  const pvs = informer<V1PersistentVolume>(Resources.PersistentVolume, managed);
  const jobs = informer<V1Job>(Resources.Job, `${managed},${LABEL.role}=merge`);
  const events = o.kube.eventRecorder({ component: 'kdb-operator' });

  const observer = new Observer({
    caches: { pods, nodes, statefulSets, deployments, services, pvcs, pvs, jobs },
    aws: o.aws,
    ...(o.eksClusterName ? { eksClusterName: o.eksClusterName } : {}),
    podsOnNode: (node) => listPodsOnNode(o.kube.api, node),
    podBuild: { agentServiceAccount: o.agentServiceAccount, ...(o.priorityClasses ? { priorityClasses: o.priorityClasses } : {}) },
  });
  const controller = new Controller({
    name: 'kdbcluster',
    workers: o.workers ?? DEFAULT_WORKERS,
    logger: o.log,
    ...(o.metrics ? { metrics: o.metrics } : {}),
    reconcile: kdbClusterReconciler({
      api: o.kube.api,
      aws: o.aws,
      clusters,
      observer,
      events,
      ...(o.metrics ? { metrics: o.metrics } : {}),
      agentServiceAccount: o.agentServiceAccount,
      ...(o.priorityClasses ? { priorityClasses: o.priorityClasses } : {}),
      ...(o.eksClusterName ? { eksClusterName: o.eksClusterName } : {}),
    }),
  });

  const enqueueKey = (k: string | undefined): void => {
    if (k) controller.enqueue(k);
  };
  clusters.onChange((c) => enqueueKey(`${c.metadata?.namespace ?? 'default'}/${c.metadata?.name ?? ''}`));
  for (const inf of [pods, statefulSets, deployments, services, pvcs, jobs] as Informer<KubeObject>[]) inf.onChange((obj) => enqueueKey(ownerKey(obj)));
  pvs.onChange((pv) => {
    const ref = (pv as V1PersistentVolume).spec?.claimRef;
    const name = pv.metadata?.labels?.[LABEL.cluster];
    if (ref?.namespace && name) enqueueKey(`${ref.namespace}/${name}`);
  });
  const enqueueAll = (): void => {
    for (const c of clusters.list()) enqueueKey(`${c.metadata?.namespace ?? 'default'}/${c.metadata?.name ?? ''}`);
  };
  nodes.onAdd(enqueueAll).onDelete(enqueueAll).onUpdate((n, old) => {
    // Heartbeats change nodes every few seconds; only readiness, cordoning and annotations matter here.
    const ready = (x: Readonly<V1Node>) => x.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    if (ready(n) !== ready(old) || n.spec?.unschedulable !== old.spec?.unschedulable) enqueueAll();
  });

  return {
    controller,
    informers: [clusters, pods, nodes, statefulSets, deployments, services, pvcs, pvs, jobs] as Informer<KubeObject>[],
    events,
  };
};
