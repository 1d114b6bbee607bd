import { applyScaleInRecord, scaleInsOf } from '../../api/kdbcluster.ts';
import type { KdbCluster, KdbClusterStatus, PoolStatus, ScaleInRecord } from '../../api/kdbcluster.ts';
import type { Aws } from '../../aws/index.ts';
import type { EventRecorder, KubeApi, KubeObject, V1PersistentVolume, V1PersistentVolumeClaim } from '../../kube/index.ts';
import { Resources, isAlreadyExists, isConflict, mergePatchFrom, prunedFields } from '../../kube/index.ts';
import type { Action, ActionOf, PodPrecondition } from '../../planner/types.ts';
import { errorMessage } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/log.ts';
import type { OperatorMetrics } from '../../runtime/metrics.ts';
import { gatewayDeployment, gatewayService, hdbDeployment, hdbService, rdbHeadlessService } from '../../specs/gateway.ts';
import { mergeJob } from '../../specs/merge-job.ts';
import { rdbPod, rdbPodDisruptionBudget } from '../../specs/rdb.ts';
import { gatewayName, hdbName, pvcName, rdbServiceName, tickerplantHost } from '../../specs/names.ts';
import { TickerplantRequestError, requestEndOfDay, requestRollLive } from '../../tickerplant/control.ts';
import { clusterFolder, efsPersistentVolume, efsPersistentVolumeClaim } from '../../specs/storage.ts';
import type { PriorityClasses } from '../../specs/priority.ts';
import { tickerplantPodDisruptionBudget, tickerplantService, tickerplantStatefulSet } from '../../specs/tickerplant.ts';
import { ev } from '../../planner/events.ts';
import { podsBlockingTermination } from '../../planner/occupancy.ts';
import { nodeGroupOwner } from '../../planner/ownership.ts';
import { clusterKeyOf, listPodsOnNode, podOnNode } from './observe.ts';
import { scaleInLanes } from './scale-in-lanes.ts';
import { recordScaleEvent } from './status-metrics.ts';

export interface EffectDeps {
  api: KubeApi;
  aws: Aws;
  events: EventRecorder;
  log: Logger;
  metrics?: OperatorMetrics;
  agentServiceAccount: string;
  /** PriorityClass names of the tickerplant, RDB and merge pods (the chart's); none where empty. */
  priorityClasses?: PriorityClasses;
  /** Clock for the reaction-time metric (ms since the epoch). */
  now?: () => number;
  /** Called after an EFS change so the next observe reads it fresh. */
  onEfsChanged?: () => void;
  /** Aborted once leadership is lost or shutdown began: no irreversible step may start after that. */
  signal?: AbortSignal;
  /** Tests point EndTradingDay at a tickerplant of their own. */
  requestEndOfDay?: typeof requestEndOfDay;
  /** Tests point RollLiveRdb at a tickerplant of their own. */
  requestRollLive?: typeof requestRollLive;
}

/**
 * Steps a standby that took over could not undo or would repeat on a stale
 * plan: each is skipped, with the rest of the plan, once the stop signal is up.
 */
export const isIrreversible = (a: Action): boolean =>
  a.kind === 'TerminateInstanceInGroup' ||
  a.kind === 'DeleteRdbPod' ||
  a.kind === 'SetDesiredCapacity' ||
  a.kind === 'EndTradingDay' ||
  a.kind === 'RollLiveRdb' ||
  (a.kind === 'SetInstanceProtection' && !a.protect);

/**
 * A scale-in victim's pod is no longer the one the plan saw (the API server
 * refused the delete's uid/resourceVersion precondition with 409): nothing
 * was deleted, and the reconcile fails so the next pass plans from what is there.
 */
/**
 * A status write found the object changed since it was read (409): the
 * informer's copy was a step behind. Nothing after it ran; the next pass,
 * from a fresh copy, starts over. Not a failure worth a backoff.
 */
export class StatusConflictError extends Error {
  override readonly name = 'StatusConflictError';
}

/** The stored status lacks fields the operator wrote (see #writeStatus). */
export class StatusPrunedError extends Error {
  override readonly name = 'StatusPrunedError';
}

export class PodChangedError extends Error {
  override readonly name = 'PodChangedError';
  constructor(pod: string, seen: PodPrecondition) {
    super(`RDB pod ${pod} changed since the plan (saw uid ${seen.uid}, resourceVersion ${seen.resourceVersion}): not deleted; re-planning`);
  }
}

/**
 * Thin effectors: each action is one idempotent call. The list runs in plan
 * order and stops at the first failure (the reconcile is retried with
 * backoff), because later actions may rely on earlier ones — above all, a
 * scale-in step runs only after its record is persisted. The steps of
 * separate scale-in chains rely on none of each other's: after their records
 * they run side by side, one lane per chain (scale-in-lanes.ts), and the
 * plan goes on only if every lane finished.
 */
export class Effector {
  readonly #d: EffectDeps;
  #cluster: KdbCluster;
  #lastAnswer: KubeObject | undefined;
  readonly #versions: string[] = [];

  /** What the API server answered this effector's last status write with (the whole object), if it wrote any. */
  get lastWritten(): KubeObject | undefined {
    return this.#lastAnswer;
  }

  /** The resourceVersion of every status write's answer, in order. */
  get writtenVersions(): readonly string[] {
    return this.#versions;
  }

  constructor(deps: EffectDeps, cluster: KdbCluster) {
    this.#d = deps;
    this.#cluster = cluster;
  }

  async run(actions: Action[]): Promise<{ requeueAfterMs?: number }> {
    let requeueAfterMs: number | undefined;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      if (a.kind === 'RecordScaleInStep') {
        // The planner puts every chain's record before the steps: one status write for all of them.
        const batch: ActionOf<'RecordScaleInStep'>[] = [a];
        while (actions[i + 1]?.kind === 'RecordScaleInStep') batch.push(actions[++i] as ActionOf<'RecordScaleInStep'>);
        this.#d.log.debug('action', { action: a.kind, records: batch.map(summary) });
        await this.#recordScaleIns(batch);
        // Then the chains' steps, each chain in its own lane beside the others.
        const { lanes, taken } = scaleInLanes(batch, actions.slice(i + 1));
        if (taken > 0) {
          const results = await Promise.allSettled(lanes.map((lane) => this.#runLane(lane)));
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          if (results.some((r) => r.status === 'fulfilled' && r.value === 'stopped')) return {};
          i += taken;
        }
        continue;
      }
      if (a.kind === 'RequeueAfter') {
        requeueAfterMs = a.ms;
        continue;
      }
      if ((await this.#step(a)) === 'stopped') return {};
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /** One chain's steps in plan order, stopping at its first failure (the other lanes go on). */
  async #runLane(lane: readonly Action[]): Promise<'done' | 'stopped'> {
    for (const a of lane) if ((await this.#step(a)) === 'stopped') return 'stopped';
    return 'done';
  }

  async #step(a: Action): Promise<'done' | 'stopped'> {
    if (this.#d.signal?.aborted && isIrreversible(a)) {
      // The next leader plans afresh; a recorded scale-in step resumes there.
      this.#d.log.info('stop signal: skipping an irreversible step and the rest of the plan', {
        action: a.kind,
        ...summary(a),
        reason: errorMessage(this.#d.signal.reason),
      });
      return 'stopped';
    }
    this.#d.log.debug('action', { action: a.kind, ...summary(a) });
    await this.#apply(a);
    return 'done';
  }

  get #ns(): string {
    return this.#cluster.metadata.namespace ?? 'default';
  }

  async #apply(a: Action): Promise<void> {
    const { api, aws } = this.#d;
    const c = this.#cluster;
    switch (a.kind) {
      case 'EnsureEfsAccessPoint': {
        await aws.efs.ensureAccessPoint({
          fileSystemId: a.fileSystemId,
          clusterKey: clusterKeyOf(c),
          rootPath: clusterFolder(c),
          posixUser: { uid: 10001, gid: 10001 },
          ...(c.metadata.uid ? { incarnation: c.metadata.uid } : {}),
        });
        this.#d.onEfsChanged?.();
        return;
      }
      case 'EnsureStorageVolumes': {
        const pv = await api.createIfAbsent<V1PersistentVolume>(efsPersistentVolume(c, a.accessPointId));
        const claim = await api.createIfAbsent<V1PersistentVolumeClaim>(efsPersistentVolumeClaim(c));
        // An earlier cluster's claim on its way out: make ours once it is gone.
        if (claim.object.metadata?.deletionTimestamp) throw new Error(`claim ${pvcName(c)} is being deleted; retrying`);
        // A Retain PV outlives its claim: after a cluster of the same name is
        // re-created it still points at the old claim's uid and stays Released.
        // Re-pointing it at the new claim is the standard re-bind.
        const ref = pv.object.spec?.claimRef;
        if (!pv.created && ref?.uid && ref.uid !== claim.object.metadata?.uid) {
          await api.jsonPatch({ ...Resources.PersistentVolume, name: pv.object.metadata?.name ?? '' }, [
            { op: 'test', path: '/spec/claimRef/uid', value: ref.uid },
            { op: 'remove', path: '/spec/claimRef/uid' },
            ...(ref.resourceVersion ? [{ op: 'remove' as const, path: '/spec/claimRef/resourceVersion' }] : []),
          ]);
        }
        return;
      }
      case 'EnsureTickerplant':
        // Server-side apply keeps the objects in step with the spec on every change.
        await api.apply(tickerplantService(c) as KubeObject);
        await api.apply(tickerplantPodDisruptionBudget(c) as KubeObject);
        // A template change the spec says waits for a safe moment (plan-updates.ts): the StatefulSet is left as it runs.
        if (!a.keepStatefulSet) await api.apply(tickerplantStatefulSet(c, this.#d.priorityClasses, a.replicas ?? 1) as KubeObject);
        return;
      case 'EndTradingDay': {
        const answer = await (this.#d.requestEndOfDay ?? requestEndOfDay)(tickerplantHost(c), c.spec.tickerplant.port, a.day);
        this.#d.log.info(answer.ended ? 'tickerplant ended the trading day' : 'trading day was already over', {
          day: a.day,
          nextDay: answer.nextDay,
          reason: a.reason,
        });
        return;
      }
      case 'RollLiveRdb': {
        const answer = await (this.#d.requestRollLive ?? requestRollLive)(tickerplantHost(c), c.spec.tickerplant.port, { pool: a.pool, rdb: a.rdb, next: a.next });
        if (answer.rolled) {
          this.#d.log.info('tickerplant rolled the live RDB onto a queued RDB of the new spec', { pool: a.pool, rdb: a.rdb, lastI: answer.lastI, next: answer.next });
          return;
        }
        // A repeat of a roll already made (a lost answer, a stale view): the RDB rolled before, nothing to do.
        if (answer.lastI !== null && answer.next !== a.rdb) {
          this.#d.log.info('live RDB had already rolled', { pool: a.pool, rdb: a.rdb, lastI: answer.lastI, live: answer.next });
          return;
        }
        // The tickerplant saw the pool otherwise than the plan did (the queued RDB not connected, say):
        // nothing changed; the reconcile fails with the reason and the next pass plans from fresh reports.
        throw new TickerplantRequestError(`tickerplant did not roll live RDB ${a.rdb} of pool ${a.pool} onto ${a.next}: ${answer.reason ?? 'no reason given'}`);
      }
      case 'ReleaseCluster':
        // The reconciler releases what the cluster held once everything before it ran.
        return;
      case 'EnsureGateway':
        // What the gateway asks first, so its first query finds them.
        await api.apply(rdbHeadlessService(c) as KubeObject);
        await api.apply(hdbService(c) as KubeObject);
        await api.apply(hdbDeployment(c, this.#d.priorityClasses) as KubeObject);
        await api.apply(gatewayService(c) as KubeObject);
        await api.apply(gatewayDeployment(c, this.#d.priorityClasses) as KubeObject);
        return;
      case 'DeleteGateway':
        // By name: the builders' names are the only ones these objects ever had; a missing one is fine (delete answers false).
        await api.delete({ ...Resources.Deployment, namespace: this.#ns, name: gatewayName(c) });
        await api.delete({ ...Resources.Service, namespace: this.#ns, name: gatewayName(c) });
        await api.delete({ ...Resources.Deployment, namespace: this.#ns, name: hdbName(c) });
        await api.delete({ ...Resources.Service, namespace: this.#ns, name: hdbName(c) });
        await api.delete({ ...Resources.Service, namespace: this.#ns, name: rdbServiceName(c) });
        return;
      case 'EnsureRdbPod': {
        // A draining pool is no longer in the spec: the plan carries it (a replacement of its lost RDB).
        const pool = c.spec.rdbPools.find((p) => p.name === a.pool) ?? a.poolSpec;
        if (!pool) return;
        await api.apply(rdbPodDisruptionBudget(c, pool) as KubeObject);
        try {
          await api.create(
            rdbPod({
              cluster: c,
              pool,
              ordinal: a.ordinal,
              ...(a.replaces ? { replaces: a.replaces } : {}),
              ...(a.replacesDay ? { replacesDay: a.replacesDay } : {}),
              agentServiceAccount: this.#d.agentServiceAccount,
              ...(this.#d.priorityClasses?.rdb ? { priorityClassName: this.#d.priorityClasses.rdb } : {}),
            }) as KubeObject,
          );
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
        return;
      }
      case 'DeleteRdbPod': {
        const ref = { ...Resources.Pod, namespace: this.#ns, name: a.pod };
        if (a.reason !== 'ScaleIn' && a.reason !== 'Outdated') {
          await api.delete(ref);
          return;
        }
        try {
          await api.delete(ref, { uid: a.precondition.uid, resourceVersion: a.precondition.resourceVersion });
        } catch (e) {
          if (isConflict(e)) throw new PodChangedError(a.pod, a.precondition);
          throw e;
        }
        return;
      }
      case 'CordonNode':
      case 'UncordonNode':
        await api.mergePatch({ ...Resources.Node, name: a.node }, { spec: { unschedulable: a.kind === 'CordonNode' } });
        return;
      case 'AnnotateNode':
        await api.mergePatch({ ...Resources.Node, name: a.node }, { metadata: { annotations: a.annotations } });
        return;
      case 'ClaimNodeGroup': {
        const r = await aws.autoScaling.claimGroup(a.group, a.owner);
        // Lost to another cluster between observe and now: the next pass sees its tag and keeps off.
        if (!r.claimed) this.#d.log.warn('node group claimed by another KdbCluster', { group: a.group, owner: r.owner });
        else if (r.changed) this.#d.log.info('claimed node group', { group: a.group, owner: a.owner });
        return;
      }
      // Every group write names the owner: the facade refuses it on a group whose claim is not ours.
      case 'SuspendAZRebalance':
        await aws.autoScaling.suspendAZRebalance(a.group, { owner: nodeGroupOwner(c) });
        return;
      case 'ProtectNewInstances':
        await aws.autoScaling.protectNewInstances(a.group, { owner: nodeGroupOwner(c) });
        return;
      case 'SetInstanceProtection':
        await aws.autoScaling.setInstanceProtection(a.group, a.instanceIds, a.protect, { owner: nodeGroupOwner(c) });
        return;
      case 'SetDesiredCapacity': {
        // The facade re-reads the group and never writes below it: a stale plan cannot lower desired.
        const r = await aws.autoScaling.setDesiredCapacity(a.group, a.value, { owner: nodeGroupOwner(c) });
        if (r.wrote) {
          recordScaleEvent(this.#d.metrics, c, a.group, 'out', this.#d.now?.() ?? Date.now());
          this.#observeReaction('out', a.since);
          this.#d.log.info('raised desired capacity', { group: a.group, from: r.previous, to: r.desired, reason: a.reason });
        }
        return;
      }
      case 'TerminateInstanceInGroup': {
        // The last look before the one step that cannot be undone: every pod on
        // the node, all namespaces, read now. Anything but the node's own
        // agents stops it; the next pass reads the same and aborts the scale-in.
        if (a.node !== undefined) {
          const blocking = podsBlockingTermination((await listPodsOnNode(api, a.node)).map(podOnNode), {
            namespace: this.#ns,
            name: a.pod ?? '',
          });
          if (blocking.length > 0) {
            this.#d.log.warn('refusing to terminate: node not empty', { group: a.group, instanceId: a.instanceId, node: a.node, pods: blocking });
            const e = ev.terminateRefused(a.group, a.instanceId, a.node, blocking);
            await this.#d.events.record(c as KubeObject, e.type, e.reason, e.message);
            return;
          }
        }
        const r = await aws.autoScaling.terminateInstanceInGroup(a.instanceId, { expectedGroup: a.group, owner: nodeGroupOwner(c) });
        recordScaleEvent(this.#d.metrics, c, a.group, 'in', this.#d.now?.() ?? Date.now());
        if (r.outcome === 'terminated') this.#observeReaction('in', a.since);
        this.#d.log.info('terminated RDB instance', { group: a.group, instanceId: a.instanceId, outcome: r.outcome });
        return;
      }
      case 'EnsureMergeJob':
        await api.createIfAbsent(mergeJob(c, a.day, a.job, this.#d.priorityClasses?.merge) as KubeObject);
        return;
      case 'RecordScaleInStep':
        await this.#recordScaleIns([a]);
        return;
      case 'UpdateStatus':
        await this.#writeStatus(a.status);
        return;
      case 'EmitEvent':
        await this.#d.events.record(c as KubeObject, a.event.type, a.event.reason, a.event.message);
        return;
    }
  }

  /** From the RDB's report to the AWS call it caused: how fast the pool follows the data. */
  #observeReaction(direction: 'out' | 'in', since: string | undefined): void {
    const at = since === undefined ? Number.NaN : Date.parse(since);
    if (!Number.isFinite(at)) return;
    this.#d.metrics?.observeReaction(direction, Math.max(0, (this.#d.now?.() ?? Date.now()) - at) / 1000);
  }

  /**
   * The records are written with the resourceVersion we planned from: if
   * anything else changed the status meanwhile, the write fails (409) and the
   * reconcile starts over from what is really there. A legacy single scaleIn
   * (an older operator's) moves into scaleIns here.
   */
  async #recordScaleIns(batch: readonly ActionOf<'RecordScaleInStep'>[]): Promise<void> {
    const pools: PoolStatus[] = structuredClone(this.#cluster.status?.pools ?? []);
    const touched = new Set<string>();
    for (const a of batch) {
      let entry = pools.find((p) => p.name === a.pool);
      if (!entry) {
        entry = { name: a.pool, queued: [], rolled: [], rdbs: [] };
        pools.push(entry);
      }
      touched.add(a.pool);
      entry.scaleIns = applyScaleInRecord(scaleInsOf(entry), a.instanceId, a.record as ScaleInRecord | null);
      delete entry.scaleIn;
      if (entry.scaleIns.length === 0) delete entry.scaleIns;
    }
    const updated = await this.#patchStatus({ pools });
    // A CRD older than this operator prunes scaleIns without a word: the chain would forget its step.
    // (An answer without any status is no API server's: nothing to compare with.)
    const answer = (updated as { status?: { pools?: { name?: string; scaleIns?: unknown[] }[] } }).status;
    const stored = answer?.pools ?? [];
    const lost =
      answer === undefined
        ? []
        : pools.filter((p) => touched.has(p.name) && (p.scaleIns?.length ?? 0) > 0 && !stored.some((x) => x.name === p.name && Array.isArray(x.scaleIns)));
    if (lost.length > 0) {
      const message = `the API server dropped status.pools[].scaleIns (pool ${lost.map((p) => p.name).join(', ')}): the installed KdbCluster CRD is older than this operator; apply crds/kdbclusters.kdb-operator.dev.yaml (helm does not upgrade CRDs)`;
      await this.#d.events.record(this.#cluster as KubeObject, 'Warning', 'CrdOutdated', message);
      throw new StatusPrunedError(message);
    }
    this.#cluster = { ...this.#cluster, metadata: { ...this.#cluster.metadata, resourceVersion: updated.metadata?.resourceVersion } as KdbCluster['metadata'], status: { ...(this.#cluster.status ?? { conditions: [], pools: [] }), pools } };
  }

  /** A status patch conditional on the resourceVersion planned from. */
  async #patchStatus(status: object): Promise<KdbCluster & KubeObject> {
    try {
      const answer = (this.#lastAnswer = await this.#d.api.mergePatch<KdbCluster & KubeObject>(
        { ...Resources.KdbCluster, namespace: this.#ns, name: this.#cluster.metadata.name },
        { metadata: { resourceVersion: this.#cluster.metadata.resourceVersion }, status },
        { subresource: 'status' },
      ));
      if (answer.metadata?.resourceVersion !== undefined) this.#versions.push(answer.metadata.resourceVersion);
      return answer;
    } catch (e) {
      if (isConflict(e)) throw new StatusConflictError(`KdbCluster ${this.#ns}/${this.#cluster.metadata.name} changed since it was read; planning again`);
      throw e;
    }
  }

  async #writeStatus(status: KdbClusterStatus): Promise<void> {
    const updated = await this.#patchStatus(mergePatchFrom(this.#cluster.status, status as Record<string, unknown>));
    // Status is the operator's memory (the scale-in chain, the wind-down, requests acted on): a field the
    // API server dropped is a step that would be taken again. Said loudly, and the reconcile fails.
    const pruned = prunedFields(status as Record<string, unknown>, (updated as { status?: unknown }).status);
    if (pruned.length > 0) {
      const message = `the API server dropped status.${pruned.join(', status.')}: the installed KdbCluster CRD is older than this operator; apply crds/kdbclusters.kdb-operator.dev.yaml (helm does not upgrade CRDs)`;
      await this.#d.events.record(this.#cluster as KubeObject, 'Warning', 'CrdOutdated', message);
      throw new StatusPrunedError(message);
    }
    this.#cluster = { ...this.#cluster, metadata: { ...this.#cluster.metadata, resourceVersion: updated.metadata?.resourceVersion } as KdbCluster['metadata'], status };
  }
}

const summary = (a: Action): Record<string, unknown> => {
  const { kind: _k, ...rest } = a as Action & Record<string, unknown>;
  return 'status' in rest ? {} : rest;
};

