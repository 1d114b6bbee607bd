import { describe, expect, test } from '@jest/globals';
import type { PoolStatus } from '../../operator/src/api/kdbcluster.ts';
import { forgetClusterStatus, queueCushion, recordClusterStatus, recordScaleEvent } from '../../operator/src/controllers/kdbcluster/status-metrics.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Observed } from '../../operator/src/planner/types.ts';
import { createMetrics, type OperatorMetrics } from '../../operator/src/runtime/metrics.ts';
import { ASG, CLUSTER, POOL, T0, day, podName, statusOf, world } from '../fixtures/planner.ts';

/**
 * The per-cluster and per-pool gauges follow the status the planner
 * computes, pass after pass: counts by state agree with status, a series the
 * status no longer has is gone, a deleted cluster leaves nothing behind.
 */

type Sample = { labels: Record<string, string | number>; value: number };
const samples = async (m: OperatorMetrics, name: string): Promise<Sample[]> => {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  return (await metric.get()).values as Sample[];
};
const value = async (m: OperatorMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> =>
  (await samples(m, name)).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
const ofCluster = async (m: OperatorMetrics, cluster = CLUSTER): Promise<string[]> =>
  (await m.registry.metrics()).split('\n').filter((l) => !l.startsWith('#') && l.includes(`cluster="${cluster}"`));

const pool = { namespace: 'kdb', cluster: CLUSTER, pool: POOL };
const withRows = (o: Observed, rows: number[]): Observed => {
  o.pools[POOL]!.pods.forEach((p, i) => {
    if (p.rdb) p.rdb.rows = rows[i] ?? 0;
  });
  return o;
};
const pass = (m: OperatorMetrics, o: Observed) => {
  const actions = plan(o);
  recordClusterStatus(m, o, actions);
  return statusOf(actions)!;
};

describe('gauges from the planned status', () => {
  test('RDBs by state, desired capacity, live memory and rows agree with the status the planner computed', async () => {
    const m = createMetrics();
    const o = withRows(world([...day(2, 63), { ord: 3, state: 'queued' }]), [1000, 2000, 700, 0]);
    const status = pass(m, o);
    const p = status.pools.find((x) => x.name === POOL)!;
    for (const state of ['rolled', 'live', 'queued', 'flushed', 'lost', 'waitingForNode'])
      expect(await value(m, 'kdb_operator_pool_rdbs', { ...pool, state })).toBe(p.rdbs.filter((r) => r.state === state).length);
    expect(await value(m, 'kdb_operator_pool_rdbs', { ...pool, state: 'rolled' })).toBe(2);
    expect(await value(m, 'kdb_operator_pool_rdbs', { ...pool, state: 'live' })).toBe(1);
    expect(await value(m, 'kdb_operator_pool_desired_capacity', pool)).toBe(p.desiredCapacity);
    expect(await value(m, 'kdb_operator_pool_live_memory_percent', pool)).toBe(63);
    expect(await value(m, 'kdb_operator_pool_rows', pool)).toBe(3700);
    expect(await value(m, 'kdb_operator_cluster_phase', { namespace: 'kdb', cluster: CLUSTER, phase: status.phase! })).toBe(1);
    expect((await samples(m, 'kdb_operator_cluster_phase')).filter((s) => s.value === 1)).toHaveLength(1);
    const ready = status.conditions.find((c) => c.type === 'Ready')!;
    expect(await value(m, 'kdb_operator_cluster_condition', { namespace: 'kdb', cluster: CLUSTER, type: 'Ready' })).toBe(ready.status === 'True' ? 1 : 0);
  });

  test('a threshold pool has no cushion series (it measures no fill rate)', async () => {
    const m = createMetrics();
    pass(m, world(day(1, 40)));
    expect(await samples(m, 'kdb_operator_pool_queue_cushion_seconds')).toEqual([]);
    expect(await samples(m, 'kdb_operator_pool_seconds_to_roll')).toEqual([]);
  });

  test('a series the status no longer has is removed; the others follow the new status', async () => {
    const m = createMetrics();
    pass(m, world(day(1, 40)));
    expect(await value(m, 'kdb_operator_pool_live_memory_percent', pool)).toBe(40);
    // The live RDB is gone (its pod too): no live memory to show, not the old 40.
    pass(m, world([{ ord: 0, state: 'rolled' }]));
    expect(await value(m, 'kdb_operator_pool_live_memory_percent', pool)).toBeUndefined();
    expect(await value(m, 'kdb_operator_pool_rdbs', { ...pool, state: 'live' })).toBe(0);
  });

  test('a deleted cluster loses every series; another cluster keeps its own', async () => {
    const m = createMetrics();
    const other = world(day(1, 20));
    other.cluster.metadata.name = 'other';
    pass(m, withRows(world(day(1, 40)), [10, 20]));
    pass(m, other);
    recordScaleEvent(m, world(day(1, 40)).cluster, ASG, 'out', T0.getTime());
    expect((await ofCluster(m)).length).toBeGreaterThan(10);
    forgetClusterStatus(m, `kdb/${CLUSTER}`);
    expect(await ofCluster(m)).toEqual([]);
    expect((await ofCluster(m, 'other')).length).toBeGreaterThan(10);
  });

  test('no metrics sink: nothing happens, nothing throws', () => {
    const o = world(day(1, 40));
    expect(() => recordClusterStatus(undefined, o, plan(o))).not.toThrow();
    expect(() => forgetClusterStatus(undefined, 'kdb/demo')).not.toThrow();
  });
});

describe('last scale event', () => {
  test('stamped per pool of the group the effector scaled, at the injected time, counted per group', async () => {
    const m = createMetrics();
    const o = world(day(1, 40));
    pass(m, o);
    recordScaleEvent(m, o.cluster, ASG, 'out', T0.getTime());
    recordScaleEvent(m, o.cluster, ASG, 'in', T0.getTime() + 5_000);
    expect(await value(m, 'kdb_operator_pool_last_scale_event_timestamp_seconds', { ...pool, direction: 'out' })).toBe(T0.getTime() / 1000);
    expect(await value(m, 'kdb_operator_pool_last_scale_event_timestamp_seconds', { ...pool, direction: 'in' })).toBe(T0.getTime() / 1000 + 5);
    expect(await value(m, 'kdb_operator_scale_events_total', { pool: ASG, direction: 'out' })).toBe(1);
  });

  test('a group no pool of the status or spec names: counted, not stamped on a made-up pool', async () => {
    const m = createMetrics();
    const o = world(day(1, 40));
    recordScaleEvent(m, o.cluster, 'someone-elses-group', 'out', T0.getTime());
    expect(await samples(m, 'kdb_operator_pool_last_scale_event_timestamp_seconds')).toEqual([]);
    expect(await value(m, 'kdb_operator_scale_events_total', { pool: 'someone-elses-group', direction: 'out' })).toBe(1);
  });
});

describe('queue cushion (predictive pools)', () => {
  const now = new Date('2026-03-02T15:00:00.000Z');
  const live = podName(1);
  const status = (over: Partial<PoolStatus> = {}): PoolStatus => ({
    name: POOL,
    live,
    queued: [],
    rolled: [],
    rdbs: [{ name: live, state: 'live', memoryPercent: 50 }],
    // 1 %/min, 50 % one minute ago: 30 min to roll 80 % from the sample, 29 min from now.
    fill: { rdb: live, at: new Date(now.getTime() - 60_000).toISOString(), percent: 50, percentPerMinute: 1 },
    leadTime: { seconds: 300, samples: [{ rdb: podName(0), seconds: 300 }] },
    ...over,
  });

  test('nothing queued: seconds to roll less the whole lead time', () => {
    expect(queueCushion({ pool: status(), roll: 80, pods: [], now })).toEqual({ secondsToRoll: 1740, leadTimeSeconds: 300, cushionSeconds: 1440 });
  });

  test('an RDB queued: the cushion is all the time to roll', () => {
    const p = status({ rdbs: [{ name: live, state: 'live' }, { name: podName(2), state: 'queued' }] });
    expect(queueCushion({ pool: p, roll: 80, pods: [], now })?.cushionSeconds).toBe(1740);
  });

  test('a successor on its way for 100 s: only the rest of its lead time counts', () => {
    const p = status({ rdbs: [{ name: live, state: 'live' }, { name: podName(2), state: 'waitingForNode' }] });
    const onItsWay = { name: podName(2), phase: 'Pending' as const, createdAt: new Date(now.getTime() - 100_000).toISOString() };
    expect(queueCushion({ pool: p, roll: 80, pods: [onItsWay], now })?.cushionSeconds).toBe(1740 - 200);
  });

  test('a fast fill: below zero by the seconds the live RDB rolls before a successor can take over', () => {
    const p = status({ fill: { rdb: live, at: now.toISOString(), percent: 75, percentPerMinute: 2 } });
    // 5 % at 2 %/min: 150 s to roll against a 300 s lead time.
    expect(queueCushion({ pool: p, roll: 80, pods: [], now })).toEqual({ secondsToRoll: 150, leadTimeSeconds: 300, cushionSeconds: -150 });
  });

  test('no rate yet, no lead time yet, or a sample of another RDB: no cushion, never a made-up one', () => {
    expect(queueCushion({ pool: status({ fill: { rdb: live, at: now.toISOString(), percent: 50 } }), roll: 80, pods: [], now })).toBeUndefined();
    const { leadTime: _, ...noLead } = status();
    expect(queueCushion({ pool: noLead as PoolStatus, roll: 80, pods: [], now })).toBeUndefined();
    expect(queueCushion({ pool: status({ live: podName(3) }), roll: 80, pods: [], now })).toBeUndefined();
  });

  test('a predictive pool in the reconcile gets lead time, seconds to roll and cushion series', async () => {
    const m = createMetrics();
    const reportedAt = T0.toISOString();
    const o = world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: 60, reportedAt }], {
      pool: { scaleOut: { policy: 'predictive', leadTimeMargin: 1.5 }, rollThreshold: 80 },
      poolStatus: {
        fill: { rdb: podName(1), at: new Date(T0.getTime() - 60_000).toISOString(), percent: 58, percentPerMinute: 2 },
        leadTime: { seconds: 120, samples: [{ rdb: podName(1), seconds: 120 }] },
      },
    });
    const status = pass(m, o);
    const fill = status.pools[0]!.fill!;
    const expected = ((80 - fill.percent) / fill.percentPerMinute!) * 60;
    expect(await value(m, 'kdb_operator_pool_lead_time_seconds', pool)).toBe(120);
    expect(await value(m, 'kdb_operator_pool_seconds_to_roll', pool)).toBeCloseTo(expected, 6);
    const queued = status.pools[0]!.rdbs.some((r) => r.state === 'queued');
    expect(await value(m, 'kdb_operator_pool_queue_cushion_seconds', pool)).toBeCloseTo(queued ? expected : expected - 120, 6);
  });
});
