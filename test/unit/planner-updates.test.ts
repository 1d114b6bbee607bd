import { describe, expect, test } from '@jest/globals';
import { KdbClusterSpec } from '../../operator/src/api/kdbcluster.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { QUEUED_ROLL_MARGIN } from '../../operator/src/planner/plan-updates.ts';
import { isSafeMoment, nextSafeMoment } from '../../operator/src/planner/safe-moment.ts';
import type { Observed } from '../../operator/src/planner/types.ts';
import { condition, day, eventReasons, ofKind, podName, POOL, statusOf, T0, world, worldWithSpecHashes } from '../fixtures/planner.ts';
import type { WorldOptions } from '../fixtures/planner.ts';

const OLD = 'aaaaaaaaaaaaaaaa';
const NEW = 'bbbbbbbbbbbbbbbb';
// T0 is 10:00 in New York (end of day 17:00 America/New_York by default): mid-day.
const MID_DAY = T0;
const AFTER_EOD = new Date('2026-03-02T22:10:00Z');
const NEXT_SAFE = '2026-03-02T22:05:00.000Z';

/** A cluster whose tickerplant StatefulSet runs `running` while the spec asks for `desired`. */
const tpWorld = (running: string | undefined, desired: string | undefined, o: WorldOptions = {}): Observed =>
  world(day(0, 30), {
    generation: 2,
    status: { observedGeneration: 1 },
    ...o,
    tickerplant: {
      statefulSet: { ready: true },
      service: true,
      ...(running !== undefined ? { templateHash: running } : {}),
      ...(desired !== undefined ? { desiredTemplateHash: desired } : {}),
      ...o.tickerplant,
    },
  });

const tpActions = (o: Observed) => ofKind(plan(o), 'EnsureTickerplant');

test('spec.updates defaults to EndOfDay with no maintenance window', () => {
  const spec = KdbClusterSpec.parse({ rdbPools: [{ name: POOL, memory: '1Gi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } });
  expect(spec.updates).toEqual({ apply: 'EndOfDay' });
});

describe('tickerplant template changes wait for a safe moment', () => {
  test('mid-day: the StatefulSet is kept, status says what is pending and when it applies, one Event', () => {
    const o = tpWorld(OLD, NEW);
    const actions = plan(o);
    // The Service and PDB may be applied; the StatefulSet is not.
    for (const a of ofKind(actions, 'EnsureTickerplant')) expect(a.keepStatefulSet).toBe(true);
    const s = statusOf(actions)!;
    expect(s.pendingChanges).toEqual([{ component: 'tickerplant', appliesAt: NEXT_SAFE, reason: expect.stringContaining('restarts the tickerplant') }]);
    expect(condition(actions, 'ChangesPending')).toMatchObject({ status: 'True', reason: 'WaitingForSafeMoment' });
    expect(eventReasons(actions)).toContain('ChangesPending');
    // The next pass, on that status, says nothing again and keeps holding.
    const again = plan({ ...o, cluster: { ...o.cluster, status: s }, now: new Date(MID_DAY.getTime() + 60_000) });
    expect(eventReasons(again)).not.toContain('ChangesPending');
    for (const a of ofKind(again, 'EnsureTickerplant')) expect(a.keepStatefulSet).toBe(true);
    expect(ofKind(again, 'UpdateStatus')).toEqual([]);
  });

  test('in the window after end of day it is applied, even with the generation already observed', () => {
    const o = tpWorld(OLD, NEW, { now: AFTER_EOD, generation: 2, status: { observedGeneration: 2 } });
    expect(tpActions(o)).toEqual([{ kind: 'EnsureTickerplant', reason: 'TemplateChanged' }]);
    expect(statusOf(plan(o))?.pendingChanges).toBeUndefined();
  });

  test('apply Immediate: applied mid-day', () => {
    const o = tpWorld(OLD, NEW, { spec: { updates: { apply: 'Immediate' } } });
    expect(tpActions(o)).toEqual([{ kind: 'EnsureTickerplant', reason: 'TemplateChanged' }]);
  });

  test('a maintenance window replaces the end-of-day window', () => {
    const spec = { updates: { maintenanceWindow: { start: '12:00', end: '13:00' } } };
    // 12:30 New York (EST) is 17:30Z; 17:10 New York is 22:10Z.
    expect(tpActions(tpWorld(OLD, NEW, { spec, now: new Date('2026-03-02T17:30:00Z') }))).toEqual([{ kind: 'EnsureTickerplant', reason: 'TemplateChanged' }]);
    const after = plan(tpWorld(OLD, NEW, { spec, now: AFTER_EOD }));
    for (const a of ofKind(after, 'EnsureTickerplant')) expect(a.keepStatefulSet).toBe(true);
    expect(statusOf(after)?.pendingChanges?.[0]).toMatchObject({ component: 'tickerplant', appliesAt: '2026-03-03T17:00:00.000Z' });
    expect(statusOf(after)?.pendingChanges?.[0]?.reason).toContain('maintenance window 12:00-13:00 America/New_York');
  });

  test('a missing Service is applied while the StatefulSet is held', () => {
    expect(tpActions(tpWorld(OLD, NEW, { tickerplant: { statefulSet: { ready: true }, service: false } }))).toEqual([
      { kind: 'EnsureTickerplant', reason: 'ServiceMissing', keepStatefulSet: true },
    ]);
  });

  test('a missing StatefulSet is created at once: nothing runs to restart', () => {
    expect(tpActions(tpWorld(undefined, NEW, { tickerplant: { statefulSet: 'missing', service: false } }))).toEqual([
      { kind: 'EnsureTickerplant', reason: 'StatefulSetMissing' },
    ]);
  });

  test('a spec change that leaves the template alone is applied mid-day (nothing restarts)', () => {
    expect(tpActions(tpWorld(NEW, NEW))).toEqual([{ kind: 'EnsureTickerplant', reason: 'SpecChanged' }]);
    expect(tpActions(tpWorld(NEW, NEW, { generation: 2, status: { observedGeneration: 2 } }))).toEqual([]);
  });

  test('a StatefulSet an older operator made (no hash) waits for the safe moment too', () => {
    const actions = plan(tpWorld(undefined, NEW));
    for (const a of ofKind(actions, 'EnsureTickerplant')) expect(a.keepStatefulSet).toBe(true);
    expect(statusOf(actions)?.pendingChanges?.[0]?.reason).toContain('older operator');
    expect(tpActions(tpWorld(undefined, NEW, { now: AFTER_EOD }))).toEqual([{ kind: 'EnsureTickerplant', reason: 'TemplateChanged' }]);
  });

  test('without a desired hash (not computed) changes apply as before', () => {
    expect(tpActions(tpWorld(OLD, undefined))).toEqual([{ kind: 'EnsureTickerplant', reason: 'SpecChanged' }]);
  });

  // The planner's decision at every quarter hour over the US spring-forward: applied exactly when safe-moment says so.
  test.each([
    ['end of day', {}],
    ['maintenance window 23:30-01:00', { updates: { maintenanceWindow: { start: '23:30', end: '01:00' } } }],
  ])('every 15 minutes over 3 days across a DST change (%s)', (_name, spec) => {
    const parsed = KdbClusterSpec.parse({ rdbPools: [{ name: POOL, memory: '1Gi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } }, ...spec });
    let applied = 0;
    for (let t = Date.parse('2026-03-07T00:00:00Z'); t < Date.parse('2026-03-10T00:00:00Z'); t += 15 * 60_000) {
      const now = new Date(t);
      const actions = plan(tpWorld(OLD, NEW, { now, spec }));
      const safe = isSafeMoment(now, parsed.tickerplant.endOfDay, parsed.updates);
      const ensure = ofKind(actions, 'EnsureTickerplant');
      const at = now.toISOString();
      expect({ at, applies: ensure.some((a) => a.keepStatefulSet !== true) }).toEqual({ at, applies: safe });
      expect({ at, appliesAt: statusOf(actions)?.pendingChanges?.[0]?.appliesAt }).toEqual({
        at,
        appliesAt: safe ? undefined : nextSafeMoment(now, parsed.tickerplant.endOfDay, parsed.updates).toISOString(),
      });
      if (safe) applied++;
    }
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(3 * 96);
  });
});

const poolWorld = worldWithSpecHashes;

const outdatedDeletes = (o: Observed) => ofKind(plan(o), 'DeleteRdbPod').filter((a) => a.reason === 'Outdated');

describe('pool template changes', () => {
  test('outdated RDBs are pending; a queued one holding nothing is replaced at once through the conditional delete', () => {
    const o = poolWorld(
      [
        { ord: 0, state: 'rolled', hash: OLD },
        { ord: 1, state: 'live', mem: 30, hash: OLD },
        { ord: 2, state: 'queued', hash: OLD, resourceVersion: '17' },
        { ord: 3, state: 'queued', hash: NEW },
      ],
      NEW,
    );
    const actions = plan(o);
    expect(statusOf(actions)?.pendingChanges).toEqual([
      // The live RDB is rolled onto a queued RDB of the new spec at the next safe moment (planner-live-rotation.test.ts).
      {
        component: `pool/${POOL}`,
        appliesAt: NEXT_SAFE,
        rdbs: [podName(0), podName(1), podName(2)],
        reason: expect.stringContaining(`live RDB ${podName(1)}: rolled onto a queued RDB of the new spec at the next safe moment`),
      },
    ]);
    expect(outdatedDeletes(o)).toEqual([
      { kind: 'DeleteRdbPod', pool: POOL, pod: podName(2), reason: 'Outdated', precondition: { uid: `uid-${podName(2)}`, resourceVersion: '17' } },
    ]);
    expect(eventReasons(actions)).toEqual(expect.arrayContaining(['OutdatedRdbReplaced', 'ChangesPending']));
    // Never the live, rolled or any RDB that holds data.
    for (const a of ofKind(actions, 'DeleteRdbPod')) expect([podName(0), podName(1)]).not.toContain(a.pod);
  });

  test.each([
    ['the live RDB is near its roll threshold', [{ ord: 0, state: 'live' as const, mem: 80 - QUEUED_ROLL_MARGIN + 1, hash: NEW }, { ord: 1, state: 'queued' as const, hash: OLD }], {}],
    ['no live RDB (a queued one may go live any moment)', [{ ord: 0, state: 'queued' as const, hash: OLD }], {}],
    ['the queued RDB has not reported (it may hold anything)', [{ ord: 0, state: 'live' as const, mem: 30, hash: NEW }, { ord: 1, state: 'none' as const, hash: OLD }], {}],
    ['another pod of the pool is on its way out', [{ ord: 0, state: 'live' as const, mem: 30, hash: NEW }, { ord: 1, state: 'queued' as const, hash: OLD }, { ord: 2, state: 'queued' as const, deleting: true, hash: OLD }], {}],
    ['the cluster is being deleted', [{ ord: 0, state: 'live' as const, mem: 30, hash: NEW }, { ord: 1, state: 'queued' as const, hash: OLD }], { deleting: true }],
    ['a scale-in is in flight', [{ ord: 0, state: 'live' as const, mem: 30, hash: NEW }, { ord: 1, state: 'queued' as const, hash: OLD }], { scaleIn: { rdb: podName(9), instanceId: 'i-9', step: 'Terminate' as const, startedAt: '2026-03-02T14:00:00Z' } }],
    ['a replacement replaying a lost window', [{ ord: 0, state: 'live' as const, mem: 30, hash: NEW }, { ord: 1, state: 'queued' as const, replaces: podName(7), hash: OLD }], {}],
  ])('nothing is deleted when %s', (_name, rdbs, opts) => {
    expect(outdatedDeletes(poolWorld(rdbs, NEW, opts))).toEqual([]);
  });

  test('an outdated pod still waiting for a node never ran: replaced whatever the live RDB holds', () => {
    const o = poolWorld([{ ord: 0, state: 'live', mem: 79, hash: NEW }, { ord: 1, node: null, hash: OLD }], NEW, { asg: { desired: 2 } });
    expect(outdatedDeletes(o).map((a) => a.pod)).toEqual([podName(1)]);
  });

  test('one replacement at a time per pool', () => {
    const o = poolWorld(
      [{ ord: 0, state: 'live', mem: 30, hash: NEW }, { ord: 1, state: 'queued', hash: OLD }, { ord: 2, state: 'queued', hash: OLD }],
      NEW,
    );
    expect(outdatedDeletes(o).map((a) => a.pod)).toEqual([podName(1)]);
  });

  test('once the outdated queued RDB is on its way out, scale-out creates its successor (with the spec the effector builds now)', () => {
    const o = poolWorld([{ ord: 0, state: 'live', mem: 65, hash: NEW }, { ord: 1, state: 'queued', deleting: true, hash: OLD }], NEW);
    expect(ofKind(plan(o), 'EnsureRdbPod').map((a) => a.name)).toEqual([podName(2)]);
  });

  test('pods an older operator made (no hash) are never outdated: an operator upgrade replaces nothing', () => {
    const o = poolWorld([{ ord: 0, state: 'live', mem: 30 }, { ord: 1, state: 'queued' }], NEW);
    const actions = plan(o);
    expect(ofKind(actions, 'DeleteRdbPod')).toEqual([]);
    expect(statusOf(actions)?.pendingChanges).toBeUndefined();
    expect(condition(actions, 'ChangesPending')).toMatchObject({ status: 'False', reason: 'UpToDate' });
  });

  test('every pod up to date: nothing pending, and the condition flips back with one Event', () => {
    const pending = plan(poolWorld([{ ord: 0, state: 'live', mem: 30, hash: OLD }], NEW));
    const prev = statusOf(pending)!;
    const o = poolWorld([{ ord: 0, state: 'live', mem: 30, hash: NEW }], NEW, { status: { conditions: prev.conditions } });
    const actions = plan(o);
    expect(statusOf(actions)?.pendingChanges).toBeUndefined();
    expect(eventReasons(actions)).toContain('ChangesApplied');
  });
});
