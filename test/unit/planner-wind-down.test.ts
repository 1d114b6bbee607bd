import { describe, expect, test } from '@jest/globals';
import type { KdbClusterStatus, WindDownRecord } from '../../operator/src/api/kdbcluster.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { mayStillAdd } from '../../operator/src/planner/plan-drain.ts';
import type { Action, Observed } from '../../operator/src/planner/types.ts';
import { DAY, T0, condition, day, eventReasons, instanceId, kinds, ofKind, pod, podName, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

const NEXT = '2026-03-03';
const HIBERNATE = { 'kdb-operator.dev/hibernation': 'on' };
const SKIP = { 'kdb-operator.dev/write-down': 'skip' };

const windDownOf = (actions: readonly Action[]): WindDownRecord | undefined => statusOf(actions)?.windDown;

const record = (r: Partial<WindDownRecord> = {}): WindDownRecord => ({
  reason: 'Deletion',
  step: 'WritingDown',
  since: '2026-03-02T15:00:00.000Z',
  day: DAY,
  writeDown: true,
  ...r,
});

const withRecord = (r: WindDownRecord, o: WorldOptions = {}): WorldOptions => ({
  ...o,
  status: { ...(o.status as Partial<KdbClusterStatus>), windDown: r } as WorldOptions['status'],
});

/** After the write-down's end of day: the rolled RDB flushed, the live one flushed the day and went on with the next. */
const flushedDay = (): RdbSketch[] => [
  { ord: 0, state: 'flushed' },
  { ord: 1, state: 'live', mem: 3, day: NEXT, flushedDays: [DAY], holdsRows: false },
];

/** Names of the RDB pods a plan deletes or starts to scale in, and the instances it terminates. */
const removals = (actions: readonly Action[]): string[] => [
  ...ofKind(actions, 'DeleteRdbPod').map((a) => a.pod),
  ...ofKind(actions, 'RecordScaleInStep').flatMap((a) => (a.record?.rdb !== undefined ? [a.record.rdb] : [])),
  ...ofKind(actions, 'TerminateInstanceInGroup').map((a) => a.instanceId),
];

describe('deletion writes the day down before anything is removed', () => {
  test('mid-day: the wind-down is recorded first, then the tickerplant is asked to end the day; no RDB and no server goes', () => {
    const first = plan(world(day(1, 50), { deleting: true }));
    expect(ofKind(first, 'EndTradingDay')).toEqual([]);
    expect(removals(first)).toEqual([]);
    expect(kinds(first)).not.toContain('ReleaseCluster');
    expect(windDownOf(first)).toMatchObject({ reason: 'Deletion', step: 'WritingDown', day: DAY, writeDown: true });
    expect(statusOf(first)?.phase).toBe('Deleting');
    expect(eventReasons(first)).toContain('DeletionStarted');
    const second = plan(world(day(1, 50), withRecord(windDownOf(first)!, { deleting: true })));
    expect(ofKind(second, 'EndTradingDay')).toEqual([{ kind: 'EndTradingDay', day: DAY, reason: 'Deletion' }]);
    expect(removals(second)).toEqual([]);
    expect(eventReasons(second)).not.toContain('DeletionStarted');
  });

  test('a status write that never lands (an old CRD pruning status.windDown) asks the tickerplant for nothing, however often retried', () => {
    for (let pass = 0; pass < 20; pass++) expect(ofKind(plan(world(day(1, 50), { deleting: true })), 'EndTradingDay')).toEqual([]);
  });

  test('after the end of day, a live RDB of the next day holding no row is no reason to end another day', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live', mem: 3, day: NEXT, flushedDays: [DAY], holdsRows: false }], withRecord(record({ day: NEXT }), { deleting: true })));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
  });

  test('asked again while an RDB still holds the day: the same guarded request, never one for the next day', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live', mem: 50 }], withRecord(record(), { deleting: true })));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([{ kind: 'EndTradingDay', day: DAY, reason: 'Deletion' }]);
    expect(removals(actions)).toEqual([]);
  });

  test('every RDB flushed the day: the merge runs, and RDBs wait for it', () => {
    const actions = plan(world(flushedDay(), withRecord(record(), { deleting: true })));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
    expect(ofKind(actions, 'EnsureMergeJob').map((a) => a.day)).toEqual([DAY]);
    expect(removals(actions)).toEqual([]);
    expect(windDownOf(actions)?.step).toBe('WritingDown');
  });

  test('merged: every RDB, the live one too, leaves through the recorded chain', () => {
    const o = withRecord(record(), { deleting: true, status: { mergedDay: DAY } as WorldOptions['status'] });
    const first = plan(world(flushedDay(), o));
    expect(windDownOf(first)?.step).toBe('ScalingIn');
    // Emptying, nothing stays: both chains start side by side.
    expect(ofKind(first, 'RecordScaleInStep').map((a) => a.record?.rdb)).toEqual([podName(0), podName(1)]);
    expect(eventReasons(first)).toContain('WindDownStep');
    // The rolled one gone before the live one was chained (an older plan): the live one goes.
    const next = plan(world([flushedDay()[1]!], withRecord(record({ step: 'ScalingIn' }), { deleting: true })));
    expect(ofKind(next, 'RecordScaleInStep').map((a) => a.record?.rdb)).toEqual([podName(1)]);
  });

  test('a live RDB that took rows after the write-down (feeds still publishing) stays, and status says what to do', () => {
    const o = withRecord(record({ step: 'ScalingIn' }), { deleting: true });
    const actions = plan(world([{ ord: 1, state: 'live', mem: 9, day: NEXT, flushedDays: [DAY], holdsRows: true }], o));
    expect(removals(actions)).toEqual([]);
    expect(kinds(actions)).not.toContain('ReleaseCluster');
    expect(windDownOf(actions)?.step).toBe('ScalingIn');
  });

  test('a pool whose live RDB rolled with nothing queued gets one before the day is ended: the tail of the day needs a holder', () => {
    const rolledOnly: RdbSketch[] = [{ ord: 0, state: 'rolled' }];
    const actions = plan(world(rolledOnly, { deleting: true }));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
    expect(ofKind(actions, 'EnsureRdbPod')).toHaveLength(1);
    // With a queued one already coming, no second.
    expect(ofKind(plan(world([...rolledOnly, { ord: 1, state: 'queued' }], { deleting: true })), 'EnsureRdbPod')).toEqual([]);
    // Once it is live, the day ends.
    const live = plan(world([...rolledOnly, { ord: 1, state: 'live', mem: 5 }], withRecord(record(), { deleting: true })));
    expect(ofKind(live, 'EndTradingDay')).toHaveLength(1);
  });

  test('merge disabled: flushed is enough', () => {
    const actions = plan(world(flushedDay(), withRecord(record(), { deleting: true, spec: { merge: { enabled: false } } })));
    expect(windDownOf(actions)?.step).toBe('ScalingIn');
  });

  test('a lost window is replayed first: the replacement is created, nothing removed', () => {
    const o = withRecord(record(), {
      deleting: true,
      poolStatus: { rdbs: [{ name: podName(7), state: 'lost', firstI: 10, lastI: 20, day: DAY }] },
    });
    const actions = plan(world([{ ord: 1, state: 'live', mem: 3, day: NEXT, flushedDays: [DAY] }], o));
    expect(removals(actions)).toEqual([]);
    expect(ofKind(actions, 'EnsureRdbPod').map((a) => a.replaces)).toEqual([podName(7)]);
    expect(windDownOf(actions)?.step).toBe('WritingDown');
  });

  test('no server, no pod, nothing in flight: the cluster is released, once, last', () => {
    const actions = plan(world([], withRecord(record({ step: 'ScalingIn' }), { deleting: true, asg: { desired: 0 } })));
    expect(windDownOf(actions)?.step).toBe('Done');
    const ks = actions.map((a) => a.kind);
    expect(ks.filter((k) => k === 'ReleaseCluster')).toHaveLength(1);
    expect(ks.indexOf('ReleaseCluster')).toBeGreaterThan(ks.indexOf('UpdateStatus'));
  });

  test('an idle server of the group is handed back without waiting out the grace', () => {
    const idle = { instanceId: instanceId(9), lifecycleState: 'InService', protectedFromScaleIn: true, zone: 'eu-west-1a' };
    const actions = plan(world([], withRecord(record({ step: 'ScalingIn' }), { deleting: true, extraInstances: [idle], asg: { desired: 1 } })));
    expect(new Set(ofKind(actions, 'RecordScaleInStep').map((a) => a.record?.instanceId))).toEqual(new Set([instanceId(9)]));
    expect(kinds(actions)).not.toContain('ReleaseCluster');
  });

  test('an RDB on a server shared with other pods is deleted, and the server stays: it is not the cluster\'s to hand back', () => {
    const o = withRecord(record({ step: 'ScalingIn' }), { deleting: true });
    const w = world([flushedDay()[1]!], o);
    const shared: Observed = { ...w, pools: { equities: { ...w.pools.equities!, nodes: w.pools.equities!.nodes.map((n) => ({ ...n, otherPods: ['kdb-system/kdb-operator-0'] })) } } };
    const actions = plan(shared);
    expect(ofKind(actions, 'DeleteRdbPod')).toEqual([{ kind: 'DeleteRdbPod', pool: 'equities', pod: podName(1), reason: 'WindDown' }]);
    expect(ofKind(actions, 'TerminateInstanceInGroup')).toEqual([]);
    // Once the pod is gone, the occupied server is no reason to wait.
    const gone = world([{ ord: 1, podGone: true }], o);
    const after: Observed = { ...gone, pools: { equities: { ...gone.pools.equities!, nodes: gone.pools.equities!.nodes.map((n) => ({ ...n, otherPods: ['kdb-system/kdb-operator-0'] })) } } };
    expect(kinds(plan(after))).toContain('ReleaseCluster');
  });

  test('AWS unreadable: the cluster is not released', () => {
    const actions = plan(world([], withRecord(record({ step: 'ScalingIn' }), { deleting: true, asg: 'unknown' })));
    expect(kinds(actions)).not.toContain('ReleaseCluster');
    expect(windDownOf(actions)?.step).toBe('ScalingIn');
  });

  test('a pod still waiting for a node holds nothing: deleted at once', () => {
    const actions = plan(world([{ ord: 0, state: 'none', node: null }], withRecord(record({ step: 'ScalingIn' }), { deleting: true })));
    expect(ofKind(actions, 'DeleteRdbPod')).toEqual([{ kind: 'DeleteRdbPod', pool: 'equities', pod: podName(0), reason: 'WindDown' }]);
  });

  test('never once recorded ScalingIn: an RDB that can still add to the day written down stays', () => {
    // A status saying ScalingIn while an RDB holds the day (restored from a backup, edited by hand): nothing of it goes.
    const actions = plan(world(day(1, 50), withRecord(record({ step: 'ScalingIn' }), { deleting: true })));
    expect(removals(actions)).toEqual([]);
  });
});

test('the tickerplant deleted under a deletion (its namespace going): nothing waits for a write-down no one can do', () => {
  const actions = plan(world(day(1, 50), { deleting: true, tickerplant: { statefulSet: 'missing', service: false } }));
  expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
  expect(windDownOf(actions)).toMatchObject({ step: 'ScalingIn', writeDown: false });
  expect(eventReasons(actions)).toContain('WriteDownImpossible');
});

describe('deletion with kdb-operator.dev/write-down=skip', () => {
  test('no end of day, no merge: the chain starts at once, and a Warning names what is dropped', () => {
    const actions = plan(world(day(1, 50), { deleting: true, annotations: SKIP }));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
    expect(windDownOf(actions)).toMatchObject({ step: 'ScalingIn', writeDown: false });
    expect(ofKind(actions, 'RecordScaleInStep').map((a) => a.record?.rdb)).toEqual([podName(0), podName(1)]);
    const warning = ofKind(actions, 'EmitEvent').find((a) => a.event.reason === 'WriteDownSkipped');
    expect(warning?.event.message).toContain(podName(0));
    expect(warning?.event.type).toBe('Warning');
  });

  test('a cluster that runs is not touched by the annotation', () => {
    const a = plan(world(day(1, 50), { annotations: SKIP }));
    expect(windDownOf(a)).toBeUndefined();
    expect(removals(a)).toEqual([]);
  });
});

describe('hibernation', () => {
  test('on: the day is written down first, the phase says Hibernating', () => {
    const actions = plan(world(day(0, 30), { annotations: HIBERNATE }));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
    const next = plan(world(day(0, 30), withRecord(windDownOf(actions)!, { annotations: HIBERNATE })));
    expect(ofKind(next, 'EndTradingDay')).toEqual([{ kind: 'EndTradingDay', day: DAY, reason: 'Hibernation' }]);
    expect(statusOf(actions)?.phase).toBe('Hibernating');
    expect(condition(actions, 'Hibernated')).toMatchObject({ status: 'False', reason: 'Hibernating' });
    expect(eventReasons(actions)).toContain('HibernationStarted');
    // No queued RDB is asked for meanwhile, however full the live one.
    expect(ofKind(plan(world(day(0, 95), { annotations: HIBERNATE })), 'EnsureRdbPod')).toEqual([]);
  });

  test('every server handed back: the tickerplant scales to zero, keeping its log', () => {
    const o = withRecord(record({ reason: 'Hibernation', step: 'ScalingIn' }), {
      annotations: HIBERNATE,
      asg: { desired: 0 },
      tickerplant: { statefulSet: { ready: true, replicas: 1 }, service: true },
    });
    const actions = plan(world([], o));
    expect(windDownOf(actions)?.step).toBe('StoppingTickerplant');
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
    const next = plan(world([], withRecord(record({ reason: 'Hibernation', step: 'StoppingTickerplant' }), o)));
    expect(ofKind(next, 'EnsureTickerplant')).toEqual([{ kind: 'EnsureTickerplant', reason: 'Hibernating', replicas: 0 }]);
    expect(windDownOf(next)?.step).toBe('StoppingTickerplant');
  });

  test('stopped: Hibernated, no RDB for minRdbs, and a spec change keeps it at zero', () => {
    const stopped = { statefulSet: { ready: false, replicas: 0 }, service: true };
    const o = withRecord(record({ reason: 'Hibernation', step: 'StoppingTickerplant' }), { annotations: HIBERNATE, asg: { desired: 0 }, tickerplant: stopped });
    const actions = plan(world([], o));
    expect(windDownOf(actions)?.step).toBe('Done');
    expect(statusOf(actions)?.phase).toBe('Hibernated');
    expect(condition(actions, 'Hibernated')).toMatchObject({ status: 'True', reason: 'Hibernated' });
    expect(eventReasons(actions)).toContain('Hibernated');
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
    const done = withRecord(record({ reason: 'Hibernation', step: 'Done' }), o);
    const changed = plan(world([], { ...done, generation: 2, status: { ...done.status, observedGeneration: 1 } as WorldOptions['status'] }));
    expect(ofKind(changed, 'EnsureTickerplant')).toEqual([{ kind: 'EnsureTickerplant', reason: 'SpecChanged', replicas: 0 }]);
    expect(eventReasons(changed)).not.toContain('Hibernated');
  });

  test('off: the tickerplant starts again and the wind-down is forgotten', () => {
    const stopped = { statefulSet: { ready: false, replicas: 0 }, service: true };
    const o = withRecord(record({ reason: 'Hibernation', step: 'Done' }), {
      annotations: { 'kdb-operator.dev/hibernation': 'off' },
      asg: { desired: 0 },
      tickerplant: stopped,
    });
    const actions = plan(world([], o));
    expect(ofKind(actions, 'EnsureTickerplant')).toEqual([{ kind: 'EnsureTickerplant', reason: 'Resuming' }]);
    expect(windDownOf(actions)).toBeUndefined();
    expect(eventReasons(actions)).toContain('Resumed');
    expect(condition(actions, 'Hibernated')).toMatchObject({ status: 'False', reason: 'Running' });
    // Once the tickerplant is back, the pool queues its RDB again.
    const back = plan(world([], { asg: { desired: 0 }, tickerplant: { statefulSet: { ready: true, replicas: 1 }, service: true } }));
    expect(ofKind(back, 'EnsureRdbPod')).toHaveLength(1);
  });

  test('deleting a hibernated cluster releases it without writing anything down again', () => {
    const stopped = { statefulSet: { ready: false, replicas: 0 }, service: true };
    const o = withRecord(record({ reason: 'Hibernation', step: 'Done' }), { annotations: HIBERNATE, deleting: true, asg: { desired: 0 }, tickerplant: stopped });
    const actions = plan(world([], o));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
    expect(windDownOf(actions)).toMatchObject({ reason: 'Deletion', step: 'Done' });
    expect(kinds(actions)).toContain('ReleaseCluster');
  });

  test.each(['yes', 'ON', 'true', ' on'])('a value that is neither on nor off (%j) is refused once, and changes nothing', (value) => {
    const base = plan(world(day(1, 50)));
    const actions = plan(world(day(1, 50), { annotations: { 'kdb-operator.dev/hibernation': value } }));
    expect(condition(actions, 'Hibernated')).toMatchObject({ status: 'False', reason: 'InvalidAnnotation' });
    expect(condition(actions, 'Hibernated')?.message).toContain('"on"');
    expect(kinds(actions)).toEqual(kinds(base));
    expect(ofKind(actions, 'EmitEvent').filter((a) => a.event.reason === 'InvalidAnnotation')).toHaveLength(1);
    const again = plan(
      world(day(1, 50), {
        annotations: { 'kdb-operator.dev/hibernation': value },
        status: { conditions: statusOf(actions)?.conditions ?? [] } as WorldOptions['status'],
      }),
    );
    expect(eventReasons(again)).not.toContain('InvalidAnnotation');
  });
});

describe('end of day on request (kdb-operator.dev/end-of-day)', () => {
  const at = '2026-03-02T14:00:00Z';
  const withRequest = (r: unknown): WorldOptions => ({ annotations: { 'kdb-operator.dev/end-of-day': at }, status: { endOfDayRequest: r } as WorldOptions['status'] });
  test('a new request is recorded with the day it ends; once status holds it, that day is ended, once', () => {
    const first = plan(world(day(1, 50), { annotations: { 'kdb-operator.dev/end-of-day': at } }));
    expect(ofKind(first, 'EndTradingDay')).toEqual([]);
    expect(statusOf(first)?.endOfDayRequest).toEqual({ value: at, day: DAY, done: false });
    const second = plan(world(day(1, 50), withRequest(statusOf(first)?.endOfDayRequest)));
    expect(ofKind(second, 'EndTradingDay')).toEqual([{ kind: 'EndTradingDay', day: DAY, reason: 'Requested' }]);
    expect(statusOf(second)?.endOfDayRequest).toEqual({ value: at, day: DAY, done: true });
    expect(eventReasons(second)).toContain('EndOfDayRequested');
  });

  test('done: the same request again ends nothing; a request whose record never lands ends nothing either', () => {
    expect(ofKind(plan(world(day(1, 50), withRequest({ value: at, day: DAY, done: true }))), 'EndTradingDay')).toEqual([]);
    for (let pass = 0; pass < 10; pass++) expect(ofKind(plan(world(day(1, 50), { annotations: { 'kdb-operator.dev/end-of-day': at } })), 'EndTradingDay')).toEqual([]);
  });

  test.each(['tomorrow', '14:00', 'x'.repeat(100)])('a value that is no time (%j) is refused once and ends nothing', (value) => {
    const actions = plan(world(day(1, 50), { annotations: { 'kdb-operator.dev/end-of-day': value } }));
    expect(ofKind(actions, 'EndTradingDay')).toEqual([]);
    const warning = ofKind(actions, 'EmitEvent').find((a) => a.event.reason === 'InvalidAnnotation');
    expect(warning?.event.message).toContain('kdb-operator.dev/end-of-day');
    const again = plan(
      world(day(1, 50), {
        annotations: { 'kdb-operator.dev/end-of-day': value },
        status: { endOfDayRequest: statusOf(actions)?.endOfDayRequest } as WorldOptions['status'],
      }),
    );
    expect(eventReasons(again)).not.toContain('InvalidAnnotation');
  });
});

/**
 * The rule every wind-down keeps, over every mix of RDB states: while the
 * write-down is owed, no RDB that holds rows it may still add to the day is
 * deleted, started on the chain, or has its server terminated.
 */
describe('safety: nothing that can still add to the day written down is removed', () => {
  const states: RdbSketch['state'][] = ['none', 'queued', 'replaying', 'live', 'rolled', 'flushing', 'flushed'];
  const steps: WindDownRecord['step'][] = ['WritingDown', 'ScalingIn'];
  const cases: { rdbs: RdbSketch[]; step: WindDownRecord['step'] }[] = [];
  for (const a of states) for (const b of states) for (const step of steps) cases.push({ rdbs: [{ ord: 0, state: a }, { ord: 1, state: b, mem: 40 }], step });
  test(`${cases.length} worlds`, () => {
    for (const c of cases) {
      const w: Observed = world(c.rdbs, withRecord(record({ step: c.step }), { deleting: true, now: T0 }));
      // Holding: may still add to the day and holds rows (one that holds none, a queued RDB, loses nothing).
      const holding = new Set(c.rdbs.map(pod).filter((p) => mayStillAdd(p, DAY) && p.rdb?.holdsRows !== false).map((p) => p.name));
      const actions = plan(w);
      const removed = [...removals(actions), ...ofKind(actions, 'TerminateInstanceInGroup').map((a) => a.pod ?? '')];
      expect({ world: c, removed: removed.filter((n) => holding.has(n)) }).toEqual({ world: c, removed: [] });
    }
  });
});
