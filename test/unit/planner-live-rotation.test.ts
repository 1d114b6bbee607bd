// The live RDB moved onto a new pool spec (plan-updates.ts liveRotation): at
// a safe moment the tickerplant is asked to roll it onto a queued RDB of the
// current spec; never mid-day unless updates apply Immediate, never while the
// pool moves on its own. Time comes from Observed.now only.
import { describe, expect, test } from '@jest/globals';
import { KdbClusterSpec } from '../../operator/src/api/kdbcluster.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { ROTATION_END_OF_DAY_GUARD_MS } from '../../operator/src/planner/plan-updates.ts';
import { nextEndOfDay } from '../../operator/src/planner/predict.ts';
import { isSafeMoment } from '../../operator/src/planner/safe-moment.ts';
import type { Action, Observed } from '../../operator/src/planner/types.ts';
import { eventReasons, kinds, ofKind, podName, POOL, statusOf, T0, worldWithSpecHashes } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

const OLD = 'aaaaaaaaaaaaaaaa';
const NEW = 'bbbbbbbbbbbbbbbb';
// End of day is 17:00 America/New_York by default; the safe window 17:05-17:35 (22:05Z-22:35Z in March before DST).
const MID_DAY = T0; // 10:00 New York
const AFTER_EOD = new Date('2026-03-02T22:10:00Z');
const NEXT_SAFE = '2026-03-02T22:05:00.000Z';
const NEXT_DAY = '2026-03-03';

type Sketch = RdbSketch & { hash?: string };

/** desired null: no desired hash computed. */
const poolWorld = (rdbs: Sketch[], o: WorldOptions = {}, desired: string | null = NEW): Observed => worldWithSpecHashes(rdbs, desired ?? undefined, o);

/** After end of day: rolled RDB 0 flushed the day, live RDB 1 (old spec) is on the next day, RDB 2 (new spec) queued. */
const afterEod = (extra: Partial<Record<'live' | 'queued', Partial<Sketch>>> = {}, more: Sketch[] = []): Sketch[] => [
  { ord: 0, state: 'flushed', hash: OLD },
  { ord: 1, state: 'live', mem: 5, day: NEXT_DAY, hash: OLD, ...extra.live },
  { ord: 2, state: 'queued', day: NEXT_DAY, hash: NEW, ...extra.queued },
  ...more,
];
/** Mid-day: rolled RDB 0, live RDB 1 (old spec), RDB 2 (new spec) queued. */
const midDay = (extra: Partial<Record<'live' | 'queued', Partial<Sketch>>> = {}): Sketch[] => [
  { ord: 0, state: 'rolled', hash: OLD },
  { ord: 1, state: 'live', mem: 40, hash: OLD, ...extra.live },
  { ord: 2, state: 'queued', hash: NEW, ...extra.queued },
];

const rolls = (o: Observed) => ofKind(plan(o), 'RollLiveRdb');
const ROLL = { kind: 'RollLiveRdb', pool: POOL, rdb: podName(1), next: podName(2) } as const;
const poolStatus = (actions: readonly Action[]) => statusOf(actions)?.pools.find((p) => p.name === POOL);

describe('the live RDB is rolled onto the new spec at a safe moment', () => {
  test('mid-day it keeps its spec: status says so and when it applies', () => {
    const actions = plan(poolWorld(midDay(), { now: MID_DAY }));
    expect(ofKind(actions, 'RollLiveRdb')).toEqual([]);
    expect(statusOf(actions)?.pendingChanges).toEqual([
      {
        component: `pool/${POOL}`,
        appliesAt: NEXT_SAFE,
        rdbs: [podName(0), podName(1)],
        reason: expect.stringContaining(`live RDB ${podName(1)}: rolled onto a queued RDB of the new spec at the next safe moment (spec.updates), ${NEXT_SAFE}`),
      },
    ]);
    expect(eventReasons(actions)).not.toContain('LiveRdbRotationRequested');
    expect(poolStatus(actions)?.rotation).toBeUndefined();
  });

  test('after end of day: asked for once, recorded in status first, the request last before the requeue', () => {
    const o = poolWorld(afterEod(), { now: AFTER_EOD });
    const actions = plan(o);
    expect(ofKind(actions, 'RollLiveRdb')).toEqual([ROLL]);
    expect(poolStatus(actions)?.rotation).toEqual({ rdb: podName(1), next: podName(2), requestedAt: AFTER_EOD.toISOString() });
    expect(eventReasons(actions)).toContain('LiveRdbRotationRequested');
    const k = kinds(actions);
    expect(k.indexOf('RollLiveRdb')).toBeGreaterThan(k.indexOf('UpdateStatus'));
    expect(k.indexOf('RollLiveRdb')).toBeGreaterThan(k.lastIndexOf('EmitEvent'));
    expect(actions.at(-1)?.kind).toBe('RequeueAfter');
    // Still pending (and shown so) until the roll is seen.
    expect(statusOf(actions)?.pendingChanges?.[0]).toMatchObject({ appliesAt: NEXT_SAFE, reason: expect.stringContaining(`rolling it onto ${podName(2)}`) });
    // Deletes neither RDB to do it (the flushed RDB 0 leaves through scale-in, as every night).
    expect(ofKind(actions, 'DeleteRdbPod').map((a) => a.pod)).not.toEqual(expect.arrayContaining([podName(1)]));
    expect(ofKind(actions, 'DeleteRdbPod').map((a) => a.pod)).not.toEqual(expect.arrayContaining([podName(2)]));
  });

  test('the next pass on that status (a stale view): the request again, idempotent, no second Event, the record kept as it was', () => {
    const first = plan(poolWorld(afterEod(), { now: AFTER_EOD }));
    const status = statusOf(first)!;
    const later = new Date(AFTER_EOD.getTime() + 2_000);
    const again = plan(poolWorld(afterEod(), { now: later, status }));
    expect(ofKind(again, 'RollLiveRdb')).toEqual([ROLL]);
    expect(eventReasons(again)).not.toContain('LiveRdbRotationRequested');
    // Status may move on for other reasons (the flushed RDB's scale-in, the merge); the record does not.
    expect(poolStatus(again)?.rotation ?? status.pools.find((p) => p.name === POOL)?.rotation).toEqual({
      rdb: podName(1),
      next: podName(2),
      requestedAt: AFTER_EOD.toISOString(),
    });
  });

  test('done once the RDB asked to roll reports rolled: one Event naming its window, the record cleared, nothing more asked', () => {
    const status = statusOf(plan(poolWorld(afterEod(), { now: AFTER_EOD })))!;
    const done: Sketch[] = [
      { ord: 0, state: 'flushed', hash: OLD },
      { ord: 1, state: 'rolled', day: NEXT_DAY, window: { firstI: 0, lastI: 1234 }, hash: OLD },
      { ord: 2, state: 'live', day: NEXT_DAY, window: { firstI: 1234, lastI: null }, hash: NEW },
    ];
    const actions = plan(poolWorld(done, { now: new Date(AFTER_EOD.getTime() + 5_000), status }));
    expect(ofKind(actions, 'RollLiveRdb')).toEqual([]);
    const e = ofKind(actions, 'EmitEvent').find((a) => a.event.reason === 'LiveRdbRotated');
    expect(e?.event.message).toContain(`${podName(1)} rolled on request holding (0, 1234]; ${podName(2)} is live with the new spec`);
    expect(poolStatus(actions)?.rotation).toBeUndefined();
    // The rolled RDB is outdated but holds data: pending, kept until it leaves after end of day.
    expect(statusOf(actions)?.pendingChanges?.[0]?.rdbs).toEqual([podName(0), podName(1)]);
    expect(ofKind(actions, 'DeleteRdbPod').map((a) => a.pod)).toEqual([podName(0)]);
    // And the pass after that says nothing again.
    expect(eventReasons(plan(poolWorld(done, { now: new Date(AFTER_EOD.getTime() + 9_000), status: statusOf(actions)! })))).not.toContain('LiveRdbRotated');
  });

  test('the RDB asked to roll was lost instead: the record goes, no rotated Event (the lost rules take it)', () => {
    const status = statusOf(plan(poolWorld(afterEod(), { now: AFTER_EOD })))!;
    const lost = afterEod({ live: { phase: 'Failed' } });
    const actions = plan(poolWorld(lost, { now: new Date(AFTER_EOD.getTime() + 5_000), status }));
    expect(eventReasons(actions)).not.toContain('LiveRdbRotated');
    expect(poolStatus(actions)?.rotation).toBeUndefined();
  });

  test('apply Immediate: mid-day, at once; nothing says when (it applies now)', () => {
    const actions = plan(poolWorld(midDay(), { now: MID_DAY, spec: { updates: { apply: 'Immediate' } } }));
    expect(ofKind(actions, 'RollLiveRdb')).toEqual([ROLL]);
    expect(statusOf(actions)?.pendingChanges?.[0]?.appliesAt).toBeUndefined();
  });

  test('a maintenance window the spec names: in it, not outside it', () => {
    const spec = { updates: { maintenanceWindow: { start: '12:00', end: '13:00' } } };
    // 12:30 New York (EST) is 17:30Z.
    expect(rolls(poolWorld(midDay(), { now: new Date('2026-03-02T17:30:00Z'), spec }))).toEqual([ROLL]);
    const outside = plan(poolWorld(midDay(), { now: MID_DAY, spec }));
    expect(ofKind(outside, 'RollLiveRdb')).toEqual([]);
    expect(statusOf(outside)?.pendingChanges?.[0]?.appliesAt).toBe('2026-03-02T17:00:00.000Z');
  });

  test('the live RDB of the current spec, or of an older operator (no hash), is never rolled', () => {
    expect(rolls(poolWorld(afterEod({ live: { hash: NEW } }), { now: AFTER_EOD }))).toEqual([]);
    expect(rolls(poolWorld(afterEod({ live: { hash: undefined } }), { now: AFTER_EOD }))).toEqual([]);
    expect(rolls(poolWorld(afterEod(), { now: AFTER_EOD }, null))).toEqual([]);
  });
});

describe('the RDB it is rolled onto', () => {
  test('none waiting: scale-out creates one (it gets the spec), and the roll waits for it', () => {
    const rdbs = afterEod().filter((r) => r.ord !== 2);
    const actions = plan(poolWorld(rdbs, { now: AFTER_EOD }));
    expect(ofKind(actions, 'RollLiveRdb')).toEqual([]);
    expect(ofKind(actions, 'EnsureRdbPod').map((a) => a.name)).toEqual([podName(2)]);
    expect(ofKind(actions, 'EmitEvent').find((a) => a.event.reason === 'RdbCreated')?.event.message).toContain('built from an older pool spec, to roll onto');
    expect(statusOf(actions)?.pendingChanges?.[0]?.reason).toContain('a queued RDB of the new spec is created for it to roll onto');
  });

  test('mid-day, none waiting: nothing is created for it (the live RDB is far from its thresholds)', () => {
    const rdbs = midDay().filter((r) => r.ord !== 2);
    expect(ofKind(plan(poolWorld(rdbs, { now: MID_DAY })), 'EnsureRdbPod')).toEqual([]);
  });

  test('maxRdbs reached: nothing created, CapacityLimited says why', () => {
    const rdbs = afterEod().filter((r) => r.ord !== 2);
    const actions = plan(poolWorld(rdbs, { now: AFTER_EOD, pool: { maxRdbs: 2 } }));
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
    expect(statusOf(actions)?.conditions.find((c) => c.type === 'CapacityLimited')?.status).toBe('True');
  });

  test.each([
    ['still waiting for a node', { node: null }],
    ['not reported yet', { state: 'none' as const }],
    ['going live (replaying)', { state: 'replaying' as const }],
    ['on a node that is NotReady', { notReady: true }],
    ['being deleted', { deleting: true }],
    ['built from the older spec too', { hash: OLD }],
    ['a replacement of a lost window', { replaces: podName(7) }],
  ])('not rolled onto a queued RDB %s; nothing more is created while one waits', (_why, queued) => {
    const actions = plan(poolWorld(afterEod({ queued }), { now: AFTER_EOD, asg: { desired: 3 } }));
    expect(ofKind(actions, 'RollLiveRdb')).toEqual([]);
    if (!('deleting' in queued) && !('notReady' in queued) && !('replaces' in queued)) expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
  });

  test('the oldest ready RDB of the current spec is named, never one a scale-in names', () => {
    const more: Sketch[] = [{ ord: 3, state: 'queued', day: NEXT_DAY, hash: NEW }];
    expect(rolls(poolWorld(afterEod({}, more), { now: AFTER_EOD }))).toEqual([ROLL]);
    const scaleIn = { rdb: podName(2), instanceId: 'i-2', step: 'DeletePod' as const, startedAt: AFTER_EOD.toISOString() };
    expect(rolls(poolWorld(afterEod({}, more), { now: AFTER_EOD, scaleIn }))).toEqual([{ ...ROLL, next: podName(3) }]);
  });
});

describe('never while the pool moves on its own', () => {
  test.each([
    ['end of day flushes the live RDB', afterEod({ live: { state: 'flushing' } }), {}],
    ["end of day under way: another RDB flushed the live RDB's day", afterEod({ live: { day: '2026-03-02' } }), {}],
    ['the cluster is being deleted', afterEod(), { deleting: true }],
    ['hibernation', afterEod(), { annotations: { 'kdb-operator.dev/hibernation': 'on' } }],
    ['the tickerplant is gone', afterEod(), { tickerplant: { statefulSet: 'missing' as const, service: false } }],
    ['outside market hours', afterEod(), { pool: { schedule: { open: '09:30', close: '16:00' } } }],
  ])('%s', (_why, rdbs, opts) => {
    expect(rolls(poolWorld(rdbs, { now: AFTER_EOD, ...opts }))).toEqual([]);
  });

  test('not in the minute before end of day (apply Immediate): the queued RDB would leave at end of day', () => {
    const spec = { updates: { apply: 'Immediate' } };
    const eod = new Date('2026-03-02T22:00:00Z');
    expect(rolls(poolWorld(midDay(), { now: new Date(eod.getTime() - ROTATION_END_OF_DAY_GUARD_MS), spec }))).toEqual([]);
    expect(rolls(poolWorld(midDay(), { now: new Date(eod.getTime() - ROTATION_END_OF_DAY_GUARD_MS - 1_000), spec }))).toEqual([ROLL]);
  });
});

describe('at many instants of the day', () => {
  // Every 10 minutes over 3 days (the US spring-forward inside), in the pool's zone: a roll exactly when
  // it is a safe moment and not the minute before end of day; at most one per pool; appliesAt never moves inside a window.
  test.each([
    ['end of day 17:00 New York', {}],
    ['end of day 00:00 (midnight) Tokyo', { tickerplant: { endOfDay: { time: '00:00', timeZone: 'Asia/Tokyo' } } }],
    ['maintenance window 23:30-01:00 New York, across midnight', { updates: { maintenanceWindow: { start: '23:30', end: '01:00' } } }],
    ['apply Immediate', { updates: { apply: 'Immediate' } }],
  ])('%s', (_name, spec) => {
    const parsed = KdbClusterSpec.parse({ rdbPools: [{ name: POOL, memory: '1Gi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } }, ...spec });
    const eod = parsed.tickerplant.endOfDay;
    let rolled = 0;
    for (let t = Date.parse('2026-03-07T00:00:00Z'); t < Date.parse('2026-03-10T00:00:00Z'); t += 10 * 60_000) {
      const now = new Date(t);
      const actions = plan(poolWorld(midDay(), { now, spec }));
      const expected = isSafeMoment(now, eod, parsed.updates) && nextEndOfDay(now, eod).getTime() - t > ROTATION_END_OF_DAY_GUARD_MS;
      const at = now.toISOString();
      const r = ofKind(actions, 'RollLiveRdb');
      expect({ at, rolls: r.length }).toEqual({ at, rolls: expected ? 1 : 0 });
      const appliesAt = statusOf(actions)?.pendingChanges?.[0]?.appliesAt;
      if (parsed.updates.apply === 'Immediate') expect({ at, appliesAt }).toEqual({ at, appliesAt: undefined });
      else expect({ at, future: Date.parse(appliesAt!) > t || expected || isSafeMoment(now, eod, parsed.updates) }).toEqual({ at, future: true });
      if (expected) rolled++;
    }
    expect(rolled).toBeGreaterThan(0);
    if (parsed.updates.apply !== 'Immediate') expect(rolled).toBeLessThan(3 * 24 * 6);
  });
});
