import type { KdbCluster } from '../../api/kdbcluster.ts';
import { formatFieldErrors, parseKdbCluster, type FieldError } from '../../api/validate.ts';
import type { Aws } from '../../aws/index.ts';
import { AwsUnavailableError } from '../../aws/index.ts';
import type { EventRecorder, KubeApi, KubeObject, Store } from '../../kube/index.ts';
import { Resources } from '../../kube/index.ts';
import { plan } from '../../planner/plan.ts';
import type { Action } from '../../planner/types.ts';
import type { ReconcileContext, ReconcileOutcome } from '../../runtime/controller.ts';
import { TerminalError } from '../../runtime/errors.ts';
import type { OperatorMetrics } from '../../runtime/metrics.ts';
import { FINALIZER } from '../../specs/names.ts';
import type { PriorityClasses } from '../../specs/priority.ts';
import { Effector, StatusConflictError } from './effect.ts';
import { releaseNodeGroups } from './node-group-claims.ts';
import { Observer, clusterKeyOf } from './observe.ts';
import { OwnWrites } from './own-writes.ts';
import { InvalidReportWarnings } from './report-warnings.ts';
import { forgetClusterStatus, recordClusterStatus } from './status-metrics.ts';
import { INVALID_STATUS, mayRunWhileStatusUnreadable, readStoredStatus, unreadableStatusWrite } from './stored-status.ts';

export interface ReconcilerDeps {
  api: KubeApi;
  aws: Aws;
  clusters: Store<KubeObject>;
  observer: Observer;
  events: EventRecorder;
  metrics?: OperatorMetrics;
  agentServiceAccount: string;
  priorityClasses?: PriorityClasses;
  /** The EKS cluster whose node groups are scaled (finds the groups to release on deletion). */
  eksClusterName?: string;
  now?: () => Date;
}

const AWS_ACTIONS = new Set<Action['kind']>([
  'ClaimNodeGroup',
  'SuspendAZRebalance',
  'ProtectNewInstances',
  'SetInstanceProtection',
  'SetDesiredCapacity',
  'TerminateInstanceInGroup',
  'EnsureEfsAccessPoint',
]);

/**
 * While AWS is down the operator keeps reconciling Kubernetes: after the first
 * AWS action that finds AWS unreachable, the remaining AWS actions and the
 * whole scale-in chain (whose steps need AWS to finish) wait for the next
 * reconcile; everything else still runs.
 */
export const withoutAwsWork = (actions: Action[]): Action[] =>
  actions.filter(
    (a) =>
      !AWS_ACTIONS.has(a.kind) &&
      a.kind !== 'RecordScaleInStep' &&
      !(a.kind === 'DeleteRdbPod' && a.reason === 'ScaleIn') &&
      // Events that announce the skipped AWS work would say what did not happen.
      !(a.kind === 'EmitEvent' && AWS_EVENT_REASONS.has(a.event.reason)),
  );

const AWS_EVENT_REASONS = new Set(['DesiredCapacityRaised', 'ScaleInStarted', 'ScaleInStep', 'ScaledIn', 'NodeGroupClaimed']);

/** How soon a pass whose status write met a newer object plans again: about one informer delivery. */
export const STATUS_CONFLICT_REQUEUE_MS = 200;

/** observe -> plan -> effect, for one KdbCluster key. */
export const kdbClusterReconciler =
  (d: ReconcilerDeps) =>
  async (key: string, ctx: ReconcileContext): Promise<ReconcileOutcome | void> => {
    const obj = ownWritesOf(d).freshest(key, d.clusters.get(key));
    if (!obj) {
      ownWritesOf(d).forget(key);
      reportWarningsOf(d).forget(key);
      forgetClusterStatus(d.metrics, key);
      return;
    }
    // The spec is the user's and is refused whole; the status is the
    // operator's memory and is read on its own: one that does not parse
    // degrades the cluster instead of stopping its reconcile.
    const { status: rawStatus, ...object } = structuredClone(obj) as KubeObject & { status?: unknown };
    const parsed = parseKdbCluster(object);
    if (!parsed.ok) {
      const message = `invalid KdbCluster: ${formatFieldErrors(parsed.errors)}`;
      await d.events.warning(obj, 'InvalidSpec', message);
      throw new TerminalError(message);
    }
    const stored = readStoredStatus(rawStatus);
    let cluster: KdbCluster = { ...parsed.value, ...(stored.status ? { status: stored.status } : {}) };
    const ref = { ...Resources.KdbCluster, namespace: cluster.metadata.namespace ?? 'default', name: cluster.metadata.name };

    // A deleted cluster winds down through the same plan (plan-wind-down.ts)
    // until it says ReleaseCluster; one without our finalizer is not ours to hold.
    const deleting = cluster.metadata.deletionTimestamp !== undefined;
    if (deleting && !cluster.metadata.finalizers?.includes(FINALIZER)) return;
    if (!deleting && !cluster.metadata.finalizers?.includes(FINALIZER)) {
      const updated = await d.api.addFinalizer<KubeObject>(ref, FINALIZER);
      if (!updated) return;
      cluster = { ...cluster, metadata: { ...cluster.metadata, ...(updated.metadata as object) } };
    }

    const observed = await d.observer.observe(cluster, (d.now ?? (() => new Date()))());
    for (const w of reportWarningsOf(d).next(key, observed)) await d.events.warning(obj, w.reason, w.message);
    const planned = plan(observed);
    recordClusterStatus(d.metrics, observed, planned);
    const actions = stored.errors.length === 0 ? planned : planned.filter(mayRunWhileStatusUnreadable);
    if (stored.errors.length > 0) await degradeForUnreadableStatus(d, obj, cluster, rawStatus, stored.errors, planned, observed.now, ctx);
    const effector = new Effector(
      {
        api: d.api,
        aws: d.aws,
        events: d.events,
        log: ctx.log,
        ...(d.metrics ? { metrics: d.metrics } : {}),
        agentServiceAccount: d.agentServiceAccount,
        ...(d.priorityClasses ? { priorityClasses: d.priorityClasses } : {}),
        onEfsChanged: () => d.observer.forgetEfs(),
        signal: ctx.signal,
      },
      cluster,
    );
    const readAt = obj.metadata?.resourceVersion;
    try {
      const outcome = await effector.run(actions);
      if (actions.some((a) => a.kind === 'ReleaseCluster')) {
        await finalize(d, cluster, ctx);
        await d.api.removeFinalizer(ref, FINALIZER);
        return;
      }
      return outcome;
    } catch (e) {
      // A stale copy, not a fault: plan again shortly from a fresh one (no backoff, which would delay the next scale-out).
      if (e instanceof StatusConflictError) {
        ctx.log.debug('status changed since it was read; planning again', { error: e.message });
        return { requeueAfterMs: STATUS_CONFLICT_REQUEUE_MS };
      }
      if (!(e instanceof AwsUnavailableError)) throw e;
      ctx.log.warn('AWS unreachable; reconciling Kubernetes only', { error: e.message });
      await d.events.warning(obj, 'AwsUnavailable', `AWS is unreachable (${e.message}); scaling waits, Kubernetes state is still reconciled`);
      // Re-plan from a fresh observation: AWS reads now say 'unknown' or succeed.
      d.aws.autoScaling.invalidate();
      const retry = await new Effector(
        {
          api: d.api,
          aws: d.aws,
          events: d.events,
          log: ctx.log,
          agentServiceAccount: d.agentServiceAccount,
          ...(d.priorityClasses ? { priorityClasses: d.priorityClasses } : {}),
          signal: ctx.signal,
        },
        cluster,
      ).run(withoutAwsWork(actions.filter((a) => a.kind !== 'UpdateStatus')));
      return { requeueAfterMs: Math.min(retry.requeueAfterMs ?? 15_000, 15_000) };
    } finally {
      ownWritesOf(d).note(key, [readAt, ...effector.writtenVersions], effector.lastWritten);
    }
  };

/** Each reconciler's last status write per cluster (own-writes.ts). */
const ownWrites = new WeakMap<ReconcilerDeps, OwnWrites>();
const ownWritesOf = (d: ReconcilerDeps): OwnWrites => {
  let w = ownWrites.get(d);
  if (!w) ownWrites.set(d, (w = new OwnWrites()));
  return w;
};

/** Invalid-report memory per reconciler: one Warning per bad report, kept across passes. */
const reportWarnings = new WeakMap<ReconcilerDeps, InvalidReportWarnings>();
const reportWarningsOf = (d: ReconcilerDeps): InvalidReportWarnings => {
  let w = reportWarnings.get(d);
  if (!w) reportWarnings.set(d, (w = new InvalidReportWarnings()));
  return w;
};

/** Degraded naming the unreadable field; written and announced once, not every pass. */
const degradeForUnreadableStatus = async (
  d: ReconcilerDeps,
  obj: KubeObject,
  cluster: KdbCluster,
  rawStatus: unknown,
  errors: FieldError[],
  planned: Action[],
  now: Date,
  ctx: ReconcileContext,
): Promise<void> => {
  const computed = planned.find((a) => a.kind === 'UpdateStatus')?.status.conditions;
  const w = unreadableStatusWrite({
    clusterName: cluster.metadata.name,
    errors,
    rawStatus,
    base: computed ?? cluster.status?.conditions ?? [],
    now,
    generation: cluster.metadata.generation,
  });
  if (w.changed) {
    await d.api.mergePatch(
      { ...Resources.KdbCluster, namespace: cluster.metadata.namespace ?? 'default', name: cluster.metadata.name },
      { metadata: { resourceVersion: cluster.metadata.resourceVersion }, status: w.status },
      { subresource: 'status' },
    );
  }
  if (w.announce) {
    const message = w.status.conditions.find((c) => c.type === 'Degraded')?.message ?? '';
    ctx.log.warn('KdbCluster status cannot be read; scale-in and merges wait', { errors: formatFieldErrors(errors) });
    await d.events.warning(obj, INVALID_STATUS, message);
  }
};

/**
 * Deletion, once the wind-down handed every server back: owned objects go
 * through garbage collection. An access point the operator created is deleted
 * only under reclaimPolicy Delete; the EFS data and the PV stay otherwise.
 */
const finalize = async (d: ReconcilerDeps, cluster: KdbCluster, ctx: ReconcileContext): Promise<void> => {
  await releaseNodeGroups({ aws: d.aws, events: d.events, eksClusterName: d.eksClusterName, log: ctx.log }, cluster, cluster as KubeObject);
  const efs = cluster.spec.storage.efs;
  if (efs.reclaimPolicy !== 'Delete' || !efs.accessPoint.create) return;
  const aps = await d.aws.efs.listAccessPoints(efs.fileSystemId, clusterKeyOf(cluster));
  for (const ap of aps) {
    await d.aws.efs.deleteAccessPoint(ap.id);
    ctx.log.info('deleted EFS access point', { accessPoint: ap.id });
  }
};

