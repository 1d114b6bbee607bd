import { KdbClusterStatus } from '../api/kdbcluster.ts';
import type { Phase, PoolStatus, RdbStatusEntry, RolledRdb } from '../api/kdbcluster.ts';
import { flippedOff, flippedOn, mergeConditions } from './conditions.ts';
import type { ConditionValue } from './conditions.ts';
import { observedGroupName } from './context.ts';
import { ev } from './events.ts';
import { isPredictive, nextFill, nextLeadTime } from './predict.ts';
import type { MergePlan } from './plan-merge.ts';
import { pendingCondition } from './plan-updates.ts';
import type { PoolOutcome, PoolsPlan } from './plan-pools.ts';
import type { StoragePlan } from './plan-storage.ts';
import type { TickerplantPlan } from './plan-tickerplant.ts';
import type { WindDownPlan } from './plan-wind-down.ts';
import { CLUSTER_ANNOTATION } from '../api/kdbcluster.ts';
import { byOrdinal, isActive, isFailed, isLive, isTakingOver, isWaiting, podHeldData, rdbPhaseOf } from './rdbs.ts';
import type { ClusterEvent, Observed } from './types.ts';

/**
 * Status, phase and conditions are computed from what was observed and what
 * this plan does, never accumulated: the same state gives the same status.
 * Condition Events go out on a flip only, so a long outage is one Warning,
 * not one per reconcile.
 */
export interface StatusPlan {
  status: KdbClusterStatus;
  changed: boolean;
  events: ClusterEvent[];
}

const poolStatus = (o: PoolOutcome, capacity: PoolsPlan['capacity']): PoolStatus => {
  const { ctx } = o;
  const pods = [...ctx.obs.pods].sort(byOrdinal(ctx.cluster, ctx.spec.name));
  const active = pods.filter(isActive);
  // A lost pod still observed is 'lost' (replacing the window it owes) until
  // its window is replayed, then 'deleting' (owes nothing): once it is gone,
  // status must not make it a loss again.
  const lostByName = new Map(o.lost.map((l) => [l.name, l]));
  const replayed = new Set(o.replayed);
  const rdbs: RdbStatusEntry[] = pods.map((p) => {
    const node = p.node !== undefined ? ctx.nodes.get(p.node) : undefined;
    const lost = lostByName.get(p.name);
    const replaces = lost ? (lost.replaces !== lost.name ? lost.replaces : undefined) : replayed.has(p.name) ? undefined : p.replaces;
    // The node may be gone: the instance status knew stays, so the pod's instance is not taken for idle.
    const instanceId = node?.instanceId ?? (p.node !== undefined ? ctx.prev?.rdbs.find((e) => e.name === p.name)?.instanceId : undefined);
    return {
      name: p.name,
      ...(p.node !== undefined ? { node: p.node } : {}),
      ...(instanceId !== undefined ? { instanceId } : {}),
      // A failed pod that held nothing is on its way out: remembered so, it is never taken for one that may have gone live unseen.
      state: lost ? 'lost' : replayed.has(p.name) || (isFailed(p) && !podHeldData(p)) ? 'deleting' : rdbPhaseOf(p),
      ...(p.rdb?.memoryPercent !== undefined ? { memoryPercent: p.rdb.memoryPercent } : {}),
      ...(replaces !== undefined ? { replaces } : {}),
      ...(p.rdb?.window ? { firstI: p.rdb.window.firstI } : {}),
      ...(p.rdb?.window?.lastI != null ? { lastI: p.rdb.window.lastI } : {}),
      ...(p.rdb?.day !== undefined ? { day: p.rdb.day } : {}),
    };
  });
  // Lost RDBs stay in status until a replacement is seen: status is the memory of what vanished.
  const observed = new Set(pods.map((p) => p.name));
  for (const l of o.lost) {
    if (observed.has(l.name)) continue;
    rdbs.push({
      name: l.name,
      state: 'lost',
      ...(l.replaces !== l.name ? { replaces: l.replaces } : {}),
      ...(l.firstI !== undefined ? { firstI: l.firstI } : {}),
      ...(l.lastI !== undefined ? { lastI: l.lastI } : {}),
      ...(l.day !== undefined ? { day: l.day } : {}),
    });
  }
  const rolled: RolledRdb[] = pods.flatMap((p) =>
    p.rdb?.rolled && p.rdb.window && p.rdb.window.lastI !== null
      ? [{ name: p.name, firstI: p.rdb.window.firstI, lastI: p.rdb.window.lastI }]
      : [],
  );
  const live = active.find(isLive);
  // Predictive pools remember the live RDB's last sample and the lead times measured (the next plan's inputs).
  const fill = isPredictive(ctx) ? nextFill(live, ctx.prev?.fill) : undefined;
  // Scheduled pools measure it too: the RDB before the open is asked for that long ahead.
  const leadTime = isPredictive(ctx) || ctx.spec.schedule ? nextLeadTime(ctx) : undefined;
  const asgName = observedGroupName(ctx) ?? ctx.prev?.autoScalingGroupName ?? ctx.spec.autoScalingGroupName;
  const desired = ctx.asg ? capacity.desired.get(ctx.asg.name) : ctx.prev?.desiredCapacity;
  return {
    name: ctx.spec.name,
    ...(asgName !== undefined ? { autoScalingGroupName: asgName } : {}),
    ...(desired !== undefined ? { desiredCapacity: desired } : {}),
    ...(live ? { live: live.name } : {}),
    queued: active.filter(isWaiting).map((p) => p.name),
    rolled,
    rdbs,
    // Written as scaleIns only: an older operator's scaleIn, continued, is dropped here.
    ...(o.scaleIns.length > 0 ? { scaleIns: o.scaleIns } : {}),
    ...(o.idle.length > 0 ? { idleInstances: o.idle } : {}),
    nextOrdinal: o.nextOrdinal,
    ...(fill ? { fill } : {}),
    ...(leadTime ? { leadTime } : {}),
    ...(ctx.offHours ? { offHours: ctx.offHours } : {}),
    ...(o.rotation ? { rotation: o.rotation } : {}),
    ...(ctx.draining
      ? { draining: { since: ctx.draining.since, ...(ctx.draining.day !== undefined ? { day: ctx.draining.day } : {}), ...(ctx.draining.done ? { done: true } : {}) } }
      : {}),
  };
};

const cond = (type: ConditionValue['type'], on: boolean, reasonOn: string, reasonOff: string, message: string): ConditionValue => ({
  type,
  status: on ? 'True' : 'False',
  reason: on ? reasonOn : reasonOff,
  message,
});

const RUNNING_PHASES: ReadonlySet<Phase | undefined> = new Set<Phase | undefined>(['Running', 'ScalingOut', 'ScalingIn', 'Degraded']);

export type WindDownStatus = Pick<WindDownPlan, 'record' | 'waitingFor' | 'hibernation' | 'endOfDayRequest'>;
const RUNNING: WindDownStatus = { record: undefined, waitingFor: undefined, hibernation: { kind: 'off' }, endOfDayRequest: undefined };

export const planStatus = (
  o: Observed,
  storage: StoragePlan,
  tp: TickerplantPlan,
  pools: PoolsPlan,
  merge: Pick<MergePlan, 'record' | 'mergedDay' | 'pending'>,
  windDown: WindDownStatus = RUNNING,
): StatusPlan => {
  const prev = o.cluster.status;
  const winding = windDown.record;
  const prevConditions = prev?.conditions ?? [];
  const wasRunning = RUNNING_PHASES.has(prev?.phase);
  const outcomes = pools.outcomes;

  const awsDown = outcomes.some((p) => p.ctx.awsUnknown) || o.storage.efs === 'unknown';
  const limited = outcomes.filter((p) => p.capacityLimit !== undefined);
  const waitingForNode = outcomes.flatMap((p) => p.ctx.obs.pods.filter((x) => isActive(x) && x.node === undefined).map((x) => x.name));
  const created = outcomes.flatMap((p) => p.created);
  const scalingIn = outcomes.filter((p) => p.scaleIns.length > 0);
  const serving = (p: PoolOutcome) => p.ctx.obs.pods.some((x) => isActive(x) && (isLive(x) || isTakingOver(x)));
  // A draining pool (removed from the spec) serves no queue of its own any more.
  // Winding down, no pool is meant to serve.
  const notServing = winding ? [] : outcomes.filter((p) => !p.ctx.draining && !p.ctx.offHours && !serving(p)).map((p) => p.pool.name);

  const unresolved = outcomes.filter((p) => p.ctx.access.kind === 'unresolved');
  const foreign = outcomes.filter((p) => p.ctx.access.kind === 'ownedByAnother');

  const pendingChanges = [...(tp.pending ? [tp.pending] : []), ...outcomes.flatMap((p) => (p.pending ? [p.pending] : []))];

  const problems: string[] = [];
  if (storage.problem) problems.push(storage.problem);
  for (const p of outcomes) {
    if (p.ctx.access.kind === 'unresolved') problems.push(`pool ${p.pool.name}: ${p.ctx.access.message}`);
    if (p.ctx.access.kind === 'ownedByAnother') {
      problems.push(`pool ${p.pool.name}: ASG ${p.ctx.access.asg.name} of node group ${p.pool.nodeGroup} belongs to KdbCluster ${p.ctx.access.owner}`);
    }
    if (p.lost.length > 0) problems.push(`pool ${p.pool.name}: lost ${p.lost.map((l) => l.name).join(', ')}`);
    // Refused loudly: a window past the log or a reused number means rows the data plane cannot place.
    for (const pod of p.ctx.obs.pods) {
      const e = pod.rdb?.error;
      if (e && isActive(pod)) problems.push(`pool ${p.pool.name}: RDB ${pod.name} ${e.reason}: ${e.message}`);
    }
  }
  if (wasRunning && tp.exists && !tp.ready && winding?.reason !== 'Hibernation') problems.push('tickerplant is not ready');
  if (wasRunning && notServing.length > 0) problems.push(`no live RDB in pool ${notServing.join(', ')}`);

  const ready = storage.ready && tp.ready && notServing.length === 0;
  const readyMessage = ready
    ? 'tickerplant ready and every pool has a live RDB'
    : [
        !storage.ready ? 'storage not ready' : '',
        !tp.ready ? 'tickerplant not ready' : '',
        notServing.length > 0 ? `no live RDB in pool ${notServing.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');

  const conditions: ConditionValue[] = [
    cond('Ready', ready, 'Ready', tp.ready ? (storage.ready ? 'NoLiveRdb' : 'StorageNotReady') : 'TickerplantNotReady', readyMessage),
    cond(
      'ScalingOut',
      waitingForNode.length > 0 || created.length > 0,
      'RdbWaitingForNode',
      'Steady',
      waitingForNode.length + created.length > 0 ? `waiting for a node: ${[...waitingForNode, ...created].join(', ')}` : 'no RDB waits for a node',
    ),
    cond(
      'ScalingIn',
      scalingIn.length > 0,
      'RemovingFlushedRdb',
      'Steady',
      scalingIn.length > 0
        ? scalingIn
            .map((p) => `pool ${p.pool.name}: ${p.scaleIns.map((r) => `${r.rdb ?? 'idle instance'} (${r.instanceId}) at ${r.step}`).join(', ')}`)
            .join('; ')
        : 'no scale-in in flight',
    ),
    cond('Degraded', problems.length > 0, 'Degraded', 'AsExpected', problems.length > 0 ? problems.join('; ') : 'nothing lost or missing'),
    cond(
      'CapacityLimited',
      limited.length > 0,
      limited[0]?.capacityLimit === 'AsgMaxSize' ? 'AsgMaxSizeReached' : 'MaxRdbsReached',
      'WithinLimits',
      limited.length > 0 ? limited.map((p) => p.capacityMessage).join('; ') : 'every pool can grow',
    ),
    cond(
      'AwsUnavailable',
      awsDown,
      'AwsUnreachable',
      'AwsReachable',
      awsDown ? 'AWS did not answer: ASG and EFS changes wait, Kubernetes changes go on' : 'AWS answers',
    ),
    storage.condition,
    hibernatedCondition(windDown),
    cond(
      'NodeGroupUnresolved',
      unresolved.length > 0,
      'Unresolved',
      'Resolved',
      unresolved.length > 0
        ? unresolved.map((p) => `pool ${p.pool.name}: ${p.ctx.access.kind === 'unresolved' ? p.ctx.access.message : ''}`).join('; ')
        : 'every pool found exactly one ASG',
    ),
    cond(
      'NodeGroupOwnedByAnother',
      foreign.length > 0,
      'OwnedByAnother',
      'Claimed',
      foreign.length > 0
        ? foreign.map((p) => `pool ${p.pool.name}: ASG ${observedGroupName(p.ctx)} belongs to ${p.ctx.access.kind === 'ownedByAnother' ? p.ctx.access.owner : ''}`).join('; ')
        : 'every ASG found is claimed by this cluster or being claimed',
    ),
    pendingCondition(pendingChanges),
  ];

  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  const noPods = outcomes.every((p) => p.ctx.obs.pods.length === 0);
  const phase: Phase = deleting
    ? 'Deleting'
    : winding?.reason === 'Hibernation'
      ? winding.step === 'Done'
        ? 'Hibernated'
        : 'Hibernating'
      : !tp.exists && noPods
      ? 'Pending'
      : problems.length > 0
        ? 'Degraded'
        : !ready
          ? 'Provisioning'
          : scalingIn.length > 0
            ? 'ScalingIn'
            : waitingForNode.length > 0 || created.length > 0
              ? 'ScalingOut'
              : 'Running';

  const poolStatuses = outcomes.map((p) => poolStatus(p, pools.capacity));
  const lives = poolStatuses.filter((p) => p.live !== undefined);
  const liveRdb = outcomes.length === 1 ? lives[0]?.live : lives.map((p) => `${p.name}=${p.live}`).join(',') || undefined;
  const desiredNodes = [...pools.capacity.desired.values()].reduce((a, b) => a + b, 0);

  const status = KdbClusterStatus.parse({
    phase,
    ...(o.cluster.metadata.generation !== undefined ? { observedGeneration: o.cluster.metadata.generation } : {}),
    conditions: mergeConditions(prevConditions, conditions, o.now, o.cluster.metadata.generation),
    pools: poolStatuses,
    ...(liveRdb !== undefined ? { liveRdb } : {}),
    rdbCount: outcomes.reduce((n, p) => n + p.ctx.obs.pods.filter(isActive).length, 0),
    ...(pools.capacity.desired.size > 0 ? { desiredNodes } : prev?.desiredNodes !== undefined ? { desiredNodes: prev.desiredNodes } : {}),
    ...(merge.record ? { merge: merge.record } : {}),
    ...(merge.mergedDay !== undefined ? { mergedDay: merge.mergedDay } : {}),
    ...(merge.pending !== undefined ? { mergePending: merge.pending } : {}),
    ...(winding ? { windDown: winding } : {}),
    ...(windDown.endOfDayRequest !== undefined ? { endOfDayRequest: windDown.endOfDayRequest } : {}),
    ...(pendingChanges.length > 0 ? { pendingChanges } : {}),
  });

  const events: ClusterEvent[] = [];
  if (flippedOn(prevConditions, conditions, 'AwsUnavailable')) events.push(ev.awsUnavailable());
  if (flippedOff(prevConditions, conditions, 'AwsUnavailable')) events.push(ev.awsAvailable());
  if (flippedOn(prevConditions, conditions, 'CapacityLimited')) {
    for (const p of limited) events.push(ev.capacityLimited(p.pool.name, p.capacityMessage ?? ''));
  }
  if (flippedOff(prevConditions, conditions, 'CapacityLimited')) events.push(ev.capacityAvailable());
  if (flippedOn(prevConditions, conditions, 'NodeGroupUnresolved')) {
    for (const p of unresolved) if (p.ctx.access.kind === 'unresolved') events.push(ev.nodeGroupUnresolved(p.pool.name, p.ctx.access.message));
  }
  if (flippedOn(prevConditions, conditions, 'NodeGroupOwnedByAnother')) {
    for (const p of foreign) {
      if (p.ctx.access.kind === 'ownedByAnother') events.push(ev.nodeGroupOwnedByAnother(p.pool.name, p.pool.nodeGroup, p.ctx.access.asg.name, p.ctx.access.owner));
    }
  }
  if (flippedOn(prevConditions, conditions, 'ChangesPending')) events.push(ev.changesPending(pendingChanges.map((p) => p.component).join(', ')));
  if (flippedOff(prevConditions, conditions, 'ChangesPending')) events.push(ev.changesApplied());
  if (flippedOn(prevConditions, conditions, 'Degraded')) events.push(ev.degraded(problems.join('; ')));
  for (const p of outcomes) {
    const was = prev?.pools.find((x) => x.name === p.pool.name)?.offHours;
    if (p.ctx.offHours && !was) events.push(ev.poolOffHours(p.pool.name, p.ctx.offHours.until));
    if (!p.ctx.offHours && was) events.push(ev.poolOpening(p.pool.name));
  }
  const wasRefused = prevConditions.find((c) => c.type === 'Hibernated')?.reason === 'InvalidAnnotation';
  if (windDown.hibernation.kind === 'invalid' && !wasRefused) {
    events.push(ev.invalidAnnotation(CLUSTER_ANNOTATION.hibernation, windDown.hibernation.value, '"on" or "off"'));
  }
  if (flippedOff(prevConditions, conditions, 'Degraded')) events.push(ev.recovered());

  return { status, changed: stableJson(status) !== stableJson(prev), events };
};

/** JSON with sorted keys: two statuses that say the same thing compare equal whatever their key order. */
export const stableJson = (v: unknown): string =>
  JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : val,
  );

/** Hibernated: True once the wind-down is done; its reason otherwise says where it is, or why the annotation was refused. */
const hibernatedCondition = (w: WindDownStatus): ConditionValue => {
  const r = w.record;
  if (r?.reason === 'Hibernation' && r.step === 'Done') {
    return { type: 'Hibernated', status: 'True', reason: 'Hibernated', message: 'no RDB server and no tickerplant run; the log and the HDB stay' };
  }
  if (r?.reason === 'Hibernation') {
    return { type: 'Hibernated', status: 'False', reason: 'Hibernating', message: `${r.step}${w.waitingFor !== undefined ? `: waiting for ${w.waitingFor}` : ''}` };
  }
  if (w.hibernation.kind === 'invalid') {
    return {
      type: 'Hibernated',
      status: 'False',
      reason: 'InvalidAnnotation',
      message: `${CLUSTER_ANNOTATION.hibernation}=${JSON.stringify(w.hibernation.value.slice(0, 64))} is neither "on" nor "off": the cluster runs; set "on" to hibernate`,
    };
  }
  return { type: 'Hibernated', status: 'False', reason: 'Running', message: `set ${CLUSTER_ANNOTATION.hibernation}=on to hibernate` };
};
