import { Phase, RdbPhase, type KdbCluster, type KdbClusterStatus, type PoolStatus, type RdbPoolSpec } from '../../api/kdbcluster.ts';
import { isActive } from '../../planner/rdbs.ts';
import type { Action, Observed, ObservedRdbPod } from '../../planner/types.ts';
import type { OperatorMetrics, ScaleDirection } from '../../runtime/metrics.ts';

/**
 * The per-cluster and per-pool gauges, set from the status the planner
 * computed (its UpdateStatus action; the stored status when it plans none)
 * after each reconcile, so a dashboard shows what `kubectl get kdbcluster -o
 * yaml` would. A series this pass does not write (a pool removed, no live RDB
 * any more) is removed, and a deleted cluster loses all of its series: no
 * stale line lingers on a dashboard.
 *
 * Queue cushion, for predictive pools (the only ones that measure a fill
 * rate and a lead time, status.pools[].fill and .leadTime):
 *   seconds to roll = (roll threshold - percent at the last sample) / rate,
 *                     less the time since that sample (never below 0);
 *   time to ready   = 0 with an RDB queued; else the lead time less the age
 *                     of the youngest pod still on its way (waiting for a
 *                     node or starting), never below 0; else the lead time;
 *   cushion         = seconds to roll - time to ready.
 * Above 0: the next RDB is (or will be) queued before the live one rolls.
 * Below 0: at the measured rate the live RDB rolls that many seconds before
 * a successor can take over. Threshold pools measure neither: no series.
 */

type GaugeName =
  | 'clusterPhase'
  | 'clusterCondition'
  | 'poolRdbs'
  | 'poolDesiredCapacity'
  | 'poolLiveMemoryPercent'
  | 'poolRows'
  | 'poolSecondsToRoll'
  | 'poolLeadTimeSeconds'
  | 'poolQueueCushionSeconds';

export interface Series {
  gauge: GaugeName;
  labels: Record<string, string>;
  value: number;
}

const WAITING_FOR_READY = new Set<string>(['waitingForNode', 'starting']);

const ms = (iso: string | undefined): number => (iso === undefined ? NaN : Date.parse(iso));

export interface Cushion {
  secondsToRoll: number;
  leadTimeSeconds: number;
  cushionSeconds: number;
}

/** The queue cushion of a predictive pool (see the module comment); undefined without a rate or a lead time. */
export const queueCushion = (i: {
  pool: PoolStatus;
  roll: number;
  pods: readonly ObservedRdbPod[];
  now: Date;
}): Cushion | undefined => {
  const fill = i.pool.fill;
  const lead = i.pool.leadTime?.seconds;
  const rate = fill?.percentPerMinute;
  if (fill === undefined || lead === undefined || rate === undefined || !(rate > 0)) return undefined;
  if (fill.rdb !== i.pool.live) return undefined;
  const sinceSampleS = Math.max(0, (i.now.getTime() - ms(fill.at)) / 1000);
  const secondsToRoll = Math.max(0, (Math.max(0, i.roll - fill.percent) / rate) * 60 - (Number.isFinite(sinceSampleS) ? sinceSampleS : 0));
  const states = new Map(i.pool.rdbs.map((r) => [r.name, r.state]));
  const queued = i.pool.rdbs.some((r) => r.state === 'queued');
  const onTheWay = i.pods.filter((p) => isActive(p) && WAITING_FOR_READY.has(states.get(p.name) ?? '') && Number.isFinite(ms(p.createdAt)));
  const youngestAgeS = onTheWay.length === 0 ? undefined : Math.min(...onTheWay.map((p) => (i.now.getTime() - ms(p.createdAt)) / 1000));
  const toReady = queued ? 0 : youngestAgeS !== undefined ? Math.max(0, lead - youngestAgeS) : lead;
  return { secondsToRoll, leadTimeSeconds: lead, cushionSeconds: secondsToRoll - toReady };
};

const rollThresholdOf = (spec: RdbPoolSpec | undefined, live: ObservedRdbPod | undefined): number | undefined =>
  live?.thresholds?.roll ?? spec?.rollThreshold;

/** Every series the status says, for one cluster. Pure. */
export const clusterSeries = (cluster: KdbCluster, status: KdbClusterStatus | undefined, o: { now: Date; pods?: Record<string, readonly ObservedRdbPod[]> }): Series[] => {
  const base = { namespace: cluster.metadata.namespace ?? 'default', cluster: cluster.metadata.name };
  const out: Series[] = [];
  if (status === undefined) return out;
  if (status.phase !== undefined) for (const phase of Phase.options) out.push({ gauge: 'clusterPhase', labels: { ...base, phase }, value: phase === status.phase ? 1 : 0 });
  for (const c of status.conditions) out.push({ gauge: 'clusterCondition', labels: { ...base, type: c.type }, value: c.status === 'True' ? 1 : 0 });
  for (const p of status.pools) {
    const labels = { ...base, pool: p.name };
    const pods = o.pods?.[p.name] ?? [];
    for (const state of RdbPhase.options) out.push({ gauge: 'poolRdbs', labels: { ...labels, state }, value: p.rdbs.filter((r) => r.state === state).length });
    if (p.desiredCapacity !== undefined) out.push({ gauge: 'poolDesiredCapacity', labels, value: p.desiredCapacity });
    const live = p.live === undefined ? undefined : p.rdbs.find((r) => r.name === p.live);
    if (live?.memoryPercent !== undefined) out.push({ gauge: 'poolLiveMemoryPercent', labels, value: live.memoryPercent });
    const reported = pods.filter((x) => x.deletionTimestamp === undefined && x.rdb?.rows !== undefined);
    if (o.pods?.[p.name] !== undefined) out.push({ gauge: 'poolRows', labels, value: reported.reduce((a, x) => a + (x.rdb?.rows ?? 0), 0) });
    const roll = rollThresholdOf(
      cluster.spec.rdbPools.find((s) => s.name === p.name),
      pods.find((x) => x.name === p.live),
    );
    const cushion = roll === undefined ? undefined : queueCushion({ pool: p, roll, pods, now: o.now });
    if (p.leadTime !== undefined) out.push({ gauge: 'poolLeadTimeSeconds', labels, value: p.leadTime.seconds });
    if (cushion) {
      out.push({ gauge: 'poolSecondsToRoll', labels, value: cushion.secondsToRoll });
      out.push({ gauge: 'poolQueueCushionSeconds', labels, value: cushion.cushionSeconds });
    }
  }
  return out;
};

// ---- applying series to the registry, with memory of what was written

interface Book {
  /** Per gauge, the label sets written last pass (by their key). */
  written: Map<GaugeName, Map<string, Record<string, string>>>;
  /** Pool names per ASG name, from the last status: scale events arrive with the group only. */
  poolsOfGroup: Map<string, string[]>;
  lastScale: Map<string, Record<string, string>>;
}

/** The gauges by name, with their label types widened (each series carries the labels its gauge declares). */
interface AnyGauge {
  set(labels: Record<string, string>, value: number): void;
  remove(labels: Record<string, string>): void;
}
const gaugeOf = (m: OperatorMetrics, name: GaugeName): AnyGauge => m[name] as unknown as AnyGauge;

const books = new WeakMap<OperatorMetrics, Map<string, Book>>();
const bookOf = (m: OperatorMetrics, key: string): Book => {
  let all = books.get(m);
  if (!all) books.set(m, (all = new Map()));
  let b = all.get(key);
  if (!b) all.set(key, (b = { written: new Map(), poolsOfGroup: new Map(), lastScale: new Map() }));
  return b;
};
const keyOf = (c: Pick<KdbCluster, 'metadata'>): string => `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;
const labelKey = (l: Record<string, string>): string => JSON.stringify(Object.entries(l).sort(([a], [b]) => a.localeCompare(b)));

/** Sets the series of `cluster` in `metrics` and removes the ones this status no longer has. */
export const applyClusterSeries = (metrics: OperatorMetrics, cluster: KdbCluster, status: KdbClusterStatus | undefined, series: readonly Series[]): void => {
  const book = bookOf(metrics, keyOf(cluster));
  const next = new Map<GaugeName, Map<string, Record<string, string>>>();
  for (const s of series) {
    gaugeOf(metrics, s.gauge).set(s.labels, s.value);
    let m = next.get(s.gauge);
    if (!m) next.set(s.gauge, (m = new Map()));
    m.set(labelKey(s.labels), s.labels);
  }
  for (const [gauge, old] of book.written) for (const [k, labels] of old) if (!next.get(gauge)?.has(k)) gaugeOf(metrics, gauge).remove(labels);
  book.written = next;
  if (status === undefined) return;
  book.poolsOfGroup = new Map();
  for (const p of status.pools) {
    const g = p.autoScalingGroupName ?? cluster.spec.rdbPools.find((s) => s.name === p.name)?.autoScalingGroupName;
    if (g !== undefined) book.poolsOfGroup.set(g, [...(book.poolsOfGroup.get(g) ?? []), p.name]);
  }
  const pools = new Set(status.pools.map((p) => p.name));
  for (const [k, labels] of book.lastScale) {
    if (pools.has(labels.pool ?? '')) continue;
    (metrics.poolLastScaleEvent as unknown as AnyGauge).remove(labels);
    book.lastScale.delete(k);
  }
};

/**
 * After each reconcile's plan: the gauges from the status it computed. One
 * call in the reconciler; a missing metrics sink (tests) is a no-op, and a
 * broken one never fails a reconcile.
 */
export const recordClusterStatus = (metrics: OperatorMetrics | undefined, observed: Observed, actions: readonly Action[]): void => {
  if (!metrics) return;
  const planned = actions.find((a): a is Extract<Action, { kind: 'UpdateStatus' }> => a.kind === 'UpdateStatus')?.status;
  const status = planned ?? observed.cluster.status;
  const pods = Object.fromEntries(Object.entries(observed.pools).map(([name, p]) => [name, p.pods]));
  try {
    applyClusterSeries(metrics, observed.cluster, status, clusterSeries(observed.cluster, status, { now: observed.now, pods }));
  } catch {
    // Metrics are a view; the reconcile goes on without them.
  }
};

/** A KdbCluster that is gone: every series it had goes with it. `key` is namespace/name. */
export const forgetClusterStatus = (metrics: OperatorMetrics | undefined, key: string): void => {
  if (!metrics) return;
  const all = books.get(metrics);
  const book = all?.get(key);
  if (!book) return;
  for (const [gauge, old] of book.written) for (const labels of old.values()) gaugeOf(metrics, gauge).remove(labels);
  for (const labels of book.lastScale.values()) (metrics.poolLastScaleEvent as unknown as AnyGauge).remove(labels);
  all!.delete(key);
};

/**
 * A scale action the effector carried out (desired capacity raised, instance
 * terminated): counted per group, and timed per pool of that group.
 */
export const recordScaleEvent = (
  metrics: OperatorMetrics | undefined,
  cluster: KdbCluster,
  group: string,
  direction: ScaleDirection,
  atMs: number,
): void => {
  if (!metrics) return;
  metrics.scaleEventsTotal.inc({ pool: group, direction });
  const book = bookOf(metrics, keyOf(cluster));
  const fromStatus = (cluster.status?.pools ?? []).filter((p) => p.autoScalingGroupName === group).map((p) => p.name);
  const fromSpec = cluster.spec.rdbPools.filter((p) => p.autoScalingGroupName === group).map((p) => p.name);
  const pools = book.poolsOfGroup.get(group) ?? (fromStatus.length > 0 ? fromStatus : fromSpec);
  for (const pool of pools) {
    const labels = { namespace: cluster.metadata.namespace ?? 'default', cluster: cluster.metadata.name, pool, direction };
    metrics.poolLastScaleEvent.set(labels, atMs / 1000);
    book.lastScale.set(labelKey(labels), labels);
  }
};
