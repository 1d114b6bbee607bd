import { describe, expect, test } from '@jest/globals';
import { localToEpoch, tradingDayAt } from '../../images/sim/src/tickerplant/trading-day.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { nextEndOfDay, nextFill, predict } from '../../operator/src/planner/predict.ts';
import type { Observed, ObservedRdbPod } from '../../operator/src/planner/types.ts';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { badSpecs } from '../fixtures/bad-specs.ts';
import { day, ofKind, podName, statusOf, world } from '../fixtures/planner.ts';
import type { WorldOptions } from '../fixtures/planner.ts';

/**
 * Predictive scale-out (rdbPools[].scaleOut.policy 'predictive'): asks for the
 * next server when the live RDB's fill rate says it rolls within the measured
 * lead time × margin; scaleThreshold stays the latest it asks; no server for
 * an RDB that rolls after end of day. Time-dependent rules run at many
 * instants (o.now), across midnight UTC and near end of day (17:00 New York).
 */

const PREDICTIVE = { scaleOut: { policy: 'predictive', leadTimeMargin: 1.5 } };
const min = 60_000;

/** A live RDB (ordinal 1, one rolled before it) at `mem`% reported at `now`, a previous sample `dtMin` minutes before at `prevMem`%, lead time `leadS`. */
const scene = (o: { now: Date; mem: number; prevMem?: number; dtMin?: number; leadS?: number; pool?: Record<string, unknown>; poolStatus?: Record<string, unknown> }): Observed => {
  const reportedAt = o.now.toISOString();
  const poolStatus: Record<string, unknown> = { ...o.poolStatus };
  if (o.prevMem !== undefined) poolStatus.fill = { rdb: podName(1), at: new Date(o.now.getTime() - (o.dtMin ?? 1) * min).toISOString(), percent: o.prevMem };
  if (o.leadS !== undefined) poolStatus.leadTime = { seconds: o.leadS, samples: [{ rdb: podName(1), seconds: o.leadS }] };
  const opts: WorldOptions = { now: o.now, pool: { ...PREDICTIVE, ...o.pool }, poolStatus };
  return world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: o.mem, reportedAt }], opts);
};
const created = (o: Observed): string[] => ofKind(plan(o), 'EnsureRdbPod').map((a) => a.name);

/** Instants on 2026-03-02 (New York is UTC-5 then; end of day 17:00 local is 22:00 UTC) spread over the trading day. */
const instants = (fromUtcH: number, toUtcH: number, stepMin: number): Date[] => {
  const out: Date[] = [];
  for (let t = Date.UTC(2026, 2, 2, fromUtcH); t <= Date.UTC(2026, 2, 2, toUtcH); t += stepMin * min) out.push(new Date(t));
  return out;
};
const DAYTIME = instants(0, 20, 17); // 00:00 UTC (19:00 NY the day before... the day's start) to 20:00 UTC, two hours before end of day

describe('schema', () => {
  test('default: no scaleOut, the threshold policy', () => {
    const o = world(day(1, 30));
    expect(o.cluster.spec.rdbPools[0]!.scaleOut).toBeUndefined();
  });
  test('predictive defaults its margin to 1.5', () => {
    const o = world(day(1, 30), { pool: { scaleOut: { policy: 'predictive' } } });
    expect(o.cluster.spec.rdbPools[0]!.scaleOut).toEqual({ policy: 'predictive', leadTimeMargin: 1.5 });
  });
  // Every bad spec of test/fixtures/bad-specs.ts is also checked for its field by api-kdbcluster.test.ts.
  test.each(badSpecs.filter((b) => b.name.startsWith('scaleOut')))('$name: refused, the message names the field and the fix', ({ spec }) => {
    const r = KdbCluster.safeParse({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name: 'x', namespace: 'kdb' }, spec });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message).join(' ')).toMatch(/rdbPools\[\]\.scaleOut.* (must|leave)/);
  });
});

describe('threshold policy is unchanged', () => {
  test.each(DAYTIME.map((d) => [d.toISOString(), d] as const))('at %s: asks at scaleThreshold and not below, whatever the fill rate', (_s, now) => {
    // A fast fill and a lead time in status, which only predictive pools read.
    const base = { now, prevMem: 30, dtMin: 1, leadS: 120, pool: { scaleOut: { policy: 'threshold' } } };
    expect(created(scene({ ...base, mem: 59 }))).toEqual([]);
    expect(created(scene({ ...base, mem: 60 }))).toEqual([podName(2)]);
    // No scaleOut at all is the same plan.
    const bare = world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: 59, reportedAt: now.toISOString() }], { now });
    expect(created(bare)).toEqual([]);
  });
  test('status of a threshold pool carries no fill or lead time', () => {
    const s = statusOf(plan(world(day(1, 40), { pool: { scaleOut: { policy: 'threshold' } } })));
    expect(s?.pools[0]?.fill).toBeUndefined();
    expect(s?.pools[0]?.leadTime).toBeUndefined();
  });
});

describe('predictive policy', () => {
  // roll 80 (default), scale 60: at 40% filling 5%/min it rolls in 8 min.
  test.each(DAYTIME.map((d) => [d.toISOString(), d] as const))('at %s: a fast fill asks before scaleThreshold', (_s, now) => {
    // 5%/min, lead time 240 s × 1.5 = 6 min: at 52% it rolls in 5.6 min.
    expect(created(scene({ now, mem: 52, prevMem: 47, dtMin: 1, leadS: 240 }))).toEqual([podName(2)]);
    // At 40% it rolls in 8 min: not yet.
    expect(created(scene({ now, mem: 40, prevMem: 35, dtMin: 1, leadS: 240 }))).toEqual([]);
  });
  test.each(DAYTIME.map((d) => [d.toISOString(), d] as const))('at %s: a slow fill does not ask before scaleThreshold', (_s, now) => {
    // 0.1%/min: 28% to go is 280 min, far beyond 6 min.
    expect(created(scene({ now, mem: 52, prevMem: 51.9, dtMin: 1, leadS: 240 }))).toEqual([]);
  });
  test.each([...DAYTIME, ...instants(21, 23, 7)].map((d) => [d.toISOString(), d] as const))(
    'at %s: at or above scaleThreshold it always asks, as the threshold policy does',
    (_s, now) => {
      for (const mem of [60, 65, 79]) {
        // Slow, none, or no measurements at all: scaleThreshold still asks.
        expect(created(scene({ now, mem, prevMem: mem, dtMin: 1, leadS: 60 }))).toEqual([podName(2)]);
        expect(created(scene({ now, mem }))).toEqual([podName(2)]);
      }
    },
  );
  test('never asks where the threshold policy would not ask at scaleThreshold later: with something queued, never two', () => {
    const now = new Date('2026-03-02T15:00:00Z');
    const o = world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: 55, reportedAt: now.toISOString() }, { ord: 2, state: 'queued' }], {
      now,
      pool: PREDICTIVE,
      poolStatus: { fill: { rdb: podName(1), at: new Date(now.getTime() - min).toISOString(), percent: 45 }, leadTime: { seconds: 300, samples: [] } },
    });
    expect(created(o)).toEqual([]);
  });
  test('no rate yet (first sample, another live RDB, memory fell): waits for scaleThreshold', () => {
    const now = new Date('2026-03-02T15:00:00Z');
    expect(created(scene({ now, mem: 55, leadS: 240 }))).toEqual([]);
    const other = scene({ now, mem: 55, leadS: 240, poolStatus: { fill: { rdb: podName(0), at: new Date(now.getTime() - min).toISOString(), percent: 10 } } });
    expect(created(other)).toEqual([]);
    expect(created(scene({ now, mem: 55, prevMem: 70, leadS: 240 }))).toEqual([]);
  });
  test('no lead time measured yet: waits for scaleThreshold', () => {
    const now = new Date('2026-03-02T15:00:00Z');
    expect(created(scene({ now, mem: 55, prevMem: 45 }))).toEqual([]);
  });
  test('the margin widens how far ahead it asks', () => {
    const now = new Date('2026-03-02T15:00:00Z');
    // 2%/min at 40%: rolls in 20 min; lead time 10 min.
    expect(created(scene({ now, mem: 40, prevMem: 38, leadS: 600, pool: { scaleOut: { policy: 'predictive', leadTimeMargin: 1.5 } } }))).toEqual([]);
    expect(created(scene({ now, mem: 40, prevMem: 38, leadS: 600, pool: { scaleOut: { policy: 'predictive', leadTimeMargin: 2.5 } } }))).toEqual([podName(2)]);
  });
  test('the live RDB rolls at its own roll threshold, not the spec\'s', () => {
    const now = new Date('2026-03-02T15:00:00Z');
    const o = scene({ now, mem: 50, prevMem: 45, leadS: 240, pool: { scaleThreshold: 70, rollThreshold: 90 } });
    // By the spec (roll 90) it rolls in 8 min: no. Its own roll 60 (environment) is 2 min away: ask.
    expect(created(o)).toEqual([]);
    const pods = o.pools['equities']!.pods.map((p): ObservedRdbPod => (p.name === podName(1) ? { ...p, thresholds: { scale: 55, roll: 60 } } : p));
    expect(created({ ...o, pools: { equities: { ...o.pools['equities']!, pods } } })).toEqual([podName(2)]);
  });
});

describe('end of day (17:00 America/New_York, 22:00 UTC in March before DST)', () => {
  // 1%/min at 50%: 30 min to roll at 80; lead time 30 min × 1.5 = 45 min: it would ask.
  const at = (now: Date) => scene({ now, mem: 50, prevMem: 49, dtMin: 1, leadS: 1800 });
  test.each(instants(18, 21, 5).map((d) => [d.toISOString(), d] as const))('at %s: asks only if the live RDB rolls before end of day', (_s, now) => {
    const toEod = (Date.UTC(2026, 2, 2, 22) - now.getTime()) / min;
    expect(created(at(now))).toEqual(toEod > 30 ? [podName(2)] : []);
  });
  test('just after end of day the next day counts: asks again', () => {
    expect(created(at(new Date('2026-03-02T22:00:01Z')))).toEqual([podName(2)]);
  });
  test('a server the rest of the day cannot fill is not launched, but scaleThreshold still asks', () => {
    const now = new Date('2026-03-02T21:50:00Z');
    expect(created(scene({ now, mem: 59, prevMem: 58, leadS: 1800 }))).toEqual([]);
    expect(created(scene({ now, mem: 60, prevMem: 59, leadS: 1800 }))).toEqual([podName(2)]);
  });
  test('across midnight UTC (evening in New York) the next end of day is 17:00 local', () => {
    for (const iso of ['2026-03-02T23:59:59Z', '2026-03-03T00:00:00Z', '2026-03-03T00:00:01Z', '2026-03-03T04:30:00Z']) {
      expect(nextEndOfDay(new Date(iso), { time: '17:00', timeZone: 'America/New_York' }).toISOString()).toBe('2026-03-03T22:00:00.000Z');
      // Fast fill at those instants: asks (the day is long).
      expect(created(scene({ now: new Date(iso), mem: 52, prevMem: 47, leadS: 240 }))).toEqual([podName(2)]);
    }
  });
  test.each([
    ['17:00', 'America/New_York'],
    ['00:00', 'UTC'],
    ['16:30', 'Europe/London'],
    ['01:30', 'Asia/Tokyo'],
  ])('nextEndOfDay %s %s agrees with the reference tickerplant\'s trading day at many instants (DST included)', (time, tz) => {
    const [h, m] = time.split(':').map(Number);
    const eodMin = h! * 60 + m!;
    for (let t = Date.UTC(2026, 2, 6); t < Date.UTC(2026, 2, 10); t += 37 * min) {
      const eod = nextEndOfDay(new Date(t), { time, timeZone: tz }).getTime();
      const dayNow = tradingDayAt(t, eodMin, tz);
      expect(eod).toBeGreaterThan(t);
      // The day at the instant ends at eod: just before it is the same day, at it the next.
      expect(tradingDayAt(eod - 1000, eodMin, tz)).toBe(dayNow);
      expect(tradingDayAt(eod, eodMin, tz)).not.toBe(dayNow);
      if (eodMin !== 0) expect(eod).toBe(localToEpoch(dayNow, eodMin, tz));
    }
  });
});

describe('fill rate from two reports', () => {
  const live = (mem: number, at: string): ObservedRdbPod => ({
    name: podName(1),
    phase: 'Running',
    node: 'n',
    rdb: { state: 'live', live: true, rolled: false, dataFlushed: false, flushedDays: [], memoryPercent: mem, reportedAt: at },
  });
  test('two reports a minute apart, 3% apart: 3%/min; then smoothed', () => {
    const a = nextFill(live(40, '2026-03-02T15:00:00Z'), undefined);
    expect(a).toEqual({ rdb: podName(1), at: '2026-03-02T15:00:00Z', percent: 40 });
    const b = nextFill(live(43, '2026-03-02T15:01:00Z'), a);
    expect(b?.percentPerMinute).toBeCloseTo(3);
    const c = nextFill(live(44, '2026-03-02T15:02:00Z'), b);
    expect(c?.percentPerMinute).toBeCloseTo(2);
  });
  test('the same report again keeps the sample; an older one too', () => {
    const a = { rdb: podName(1), at: '2026-03-02T15:01:00Z', percent: 43, percentPerMinute: 3 };
    expect(nextFill(live(43, '2026-03-02T15:01:00Z'), a)).toBe(a);
    expect(nextFill(live(41, '2026-03-02T15:00:30Z'), a)).toBe(a);
  });
  test('the status written carries the new sample and rate', () => {
    const now = new Date('2026-03-03T00:00:30Z');
    const s = statusOf(plan(scene({ now, mem: 44, prevMem: 42, dtMin: 0.5, leadS: 9999 })));
    expect(s?.pools[0]?.fill).toEqual({ rdb: podName(1), at: now.toISOString(), percent: 44, percentPerMinute: 4 });
  });
  test('predict: no rate, or a falling one, never asks', () => {
    const base = { percent: 70, roll: 80, leadTimeSeconds: 600, margin: 1.5, secondsToEndOfDay: 3600 };
    expect(predict({ ...base, percentPerMinute: undefined }).ask).toBe(false);
    expect(predict({ ...base, percentPerMinute: 0 }).ask).toBe(false);
    expect(predict({ ...base, percentPerMinute: -1 }).ask).toBe(false);
    expect(predict({ ...base, percentPerMinute: 1 }).ask).toBe(true);
  });
});

describe('lead time: pod created to RDB queued, measured by the operator and shown in status', () => {
  const now = new Date('2026-03-02T15:10:00Z');
  const withPods = (o: Observed, f: (p: ObservedRdbPod) => ObservedRdbPod): Observed => ({
    ...o,
    pools: { equities: { ...o.pools['equities']!, pods: o.pools['equities']!.pods.map(f) } },
  });
  const base = (prevState: string, poolStatus: Record<string, unknown> = {}) =>
    withPods(
      world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: 40 }, { ord: 2, state: 'queued', reportedAt: '2026-03-02T15:09:30Z' }], {
        now,
        pool: PREDICTIVE,
        poolStatus: { rdbs: [{ name: podName(2), state: prevState }], ...poolStatus },
      }),
      (p) => (p.name === podName(2) ? { ...p, createdAt: '2026-03-02T15:07:00Z' } : p),
    );
  test('a pod status last saw starting, now queued: 150 s, in status.pools[].leadTime', () => {
    const s = statusOf(plan(base('starting')));
    expect(s?.pools[0]?.leadTime).toEqual({ seconds: 150, samples: [{ rdb: podName(2), seconds: 150 }] });
  });
  test('waiting for a node counts too', () => {
    expect(statusOf(plan(base('waitingForNode')))?.pools[0]?.leadTime?.seconds).toBe(150);
  });
  test('a pod first seen already queued is not measured', () => {
    expect(statusOf(plan(base('queued')))?.pools[0]?.leadTime).toBeUndefined();
  });
  test('measured once, kept, the median of the last five', () => {
    const samples = [60, 70, 500, 80, 90].map((seconds, i) => ({ rdb: `old-${i}`, seconds }));
    const s = statusOf(plan(base('starting', { leadTime: { seconds: 80, samples } })));
    expect(s?.pools[0]?.leadTime?.samples.map((x) => x.seconds)).toEqual([70, 500, 80, 90, 150]);
    expect(s?.pools[0]?.leadTime?.seconds).toBe(90);
    // Again, with that status: not measured twice.
    const again = base('queued', { leadTime: s?.pools[0]?.leadTime });
    expect(statusOf(plan(again))?.pools[0]?.leadTime ?? s?.pools[0]?.leadTime).toEqual(s?.pools[0]?.leadTime);
  });
  test('threshold pools do not measure', () => {
    const o = base('starting');
    const t = { ...o, cluster: { ...o.cluster, spec: { ...o.cluster.spec, rdbPools: [{ ...o.cluster.spec.rdbPools[0]!, scaleOut: undefined }] } } };
    expect(statusOf(plan(t))?.pools[0]?.leadTime).toBeUndefined();
  });
});

describe('observe: the pod\'s creationTimestamp reaches the planner (thin conversion)', () => {
  const v1 = (creationTimestamp: unknown) => ({ metadata: { name: 'p', creationTimestamp }, status: { phase: 'Pending' } }) as never;
  test('a string or a Date becomes ISO createdAt; none or garbage: absent', async () => {
    const { observeRdbPod } = await import('../../operator/src/controllers/kdbcluster/rdb-report.ts');
    expect(observeRdbPod(v1('2026-03-02T15:07:00Z')).createdAt).toBe('2026-03-02T15:07:00.000Z');
    expect(observeRdbPod(v1(new Date('2026-03-02T15:07:00Z'))).createdAt).toBe('2026-03-02T15:07:00.000Z');
    expect(observeRdbPod(v1(undefined)).createdAt).toBeUndefined();
    expect(observeRdbPod(v1('soon')).createdAt).toBeUndefined();
  });
});
