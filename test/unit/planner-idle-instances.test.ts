import { describe, expect, test } from '@jest/globals';
import type { KdbClusterStatus, ScaleInRecord } from '../../operator/src/api/kdbcluster.ts';
import { IDLE_INSTANCE_GRACE_MS } from '../../operator/src/planner/idle-instances.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Action, Observed } from '../../operator/src/planner/types.ts';
import { T0, eventReasons, instanceId, kinds, nodeName, ofKind, podName, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

/**
 * Issue 9 item 3, "Nothing protected is forgotten": an instance of the
 * pool's ASG that hosts no RDB pod for longer than the grace period is
 * scaled in through the recorded chain, from ConfirmInstance on. The clock
 * is the planner's `now`, stepped here through many instants.
 */
const MIN = 60_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const live: RdbSketch = { ord: 5, state: 'live', mem: 30 };
/** Instance 0: its RDB pod was deleted some other way; node and instance stay. */
const idle: RdbSketch = { ord: 0, state: 'rolled', podGone: true };
const records = (a: readonly Action[]) => ofKind(a, 'RecordScaleInStep').map((x) => x.record);
const idleOf = (a: readonly Action[]) => statusOf(a)?.pools[0]?.idleInstances;

/** Plans at `ms` after the first sighting, with status as it was written at the first sighting. */
const passAt = (rdbs: RdbSketch[], ms: number, o: WorldOptions = {}) => {
  const first = statusOf(plan(world(rdbs, { ...o, now: T0 })));
  return plan(world(rdbs, { ...o, now: at(ms), ...(first ? { status: first as Partial<KdbClusterStatus> & Record<string, unknown> } : {}) }));
};

const INSTANTS_BEFORE = [0, 1, 1 * MIN, 5 * MIN, 9 * MIN, IDLE_INSTANCE_GRACE_MS - 1];
const INSTANTS_AFTER = [IDLE_INSTANCE_GRACE_MS, IDLE_INSTANCE_GRACE_MS + 1, 11 * MIN, 60 * MIN, 24 * 60 * MIN];

describe('an idle protected instance: the grace, on the planner clock', () => {
  test('first sighting: remembered in status with now, nothing else', () => {
    const a = plan(world([idle, live]));
    expect(idleOf(a)).toEqual([{ instanceId: instanceId(0), since: T0.toISOString() }]);
    expect(records(a)).toEqual([]);
  });

  test.each(INSTANTS_BEFORE)('%i ms after: still waiting, first-seen time kept', (ms) => {
    const a = passAt([idle, live], ms);
    expect(records(a)).toEqual([]);
    expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([]);
    // Status is written only when it changes: when it is, the first sighting stays.
    if (statusOf(a)) expect(idleOf(a)).toEqual([{ instanceId: instanceId(0), since: T0.toISOString() }]);
  });

  test.each(INSTANTS_AFTER)('%i ms after: scaled in from ConfirmInstance, its node cordoned, no pod deleted', (ms) => {
    const a = passAt([idle, live], ms);
    const rec = records(a)[0];
    expect(rec).toEqual({ instanceId: instanceId(0), node: nodeName(0), step: 'ConfirmInstance', startedAt: at(ms).toISOString() });
    // Records first (one status write), then the steps they name.
    // Confirmed, unprotected and terminated in one pass, each step recorded first; the effector re-reads the node before the terminate.
    expect(kinds(a)).toEqual(['RecordScaleInStep', 'RecordScaleInStep', 'RecordScaleInStep', 'CordonNode', 'SetInstanceProtection', 'TerminateInstanceInGroup']);
    expect(records(a).map((r) => r?.step)).toEqual(['ConfirmInstance', 'Unprotect', 'Terminate']);
    expect(ofKind(a, 'SetInstanceProtection')).toEqual([expect.objectContaining({ instanceIds: [instanceId(0)], protect: false })]);
    expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([expect.objectContaining({ instanceId: instanceId(0), node: nodeName(0), decrement: true })]);
    expect(ofKind(a, 'DeleteRdbPod')).toEqual([]);
    expect(eventReasons(a)).toContain('ScaleInStarted');
    // The instance in the chain is no longer on the idle list.
    expect(idleOf(a)).toBeUndefined();
  });

  test.each([10, 30, 3_600])('the pool sets its own grace (idleInstanceGraceSeconds %i): waiting one ms before it, scaled in at it', (seconds) => {
    const o: WorldOptions = { pool: { idleInstanceGraceSeconds: seconds } };
    for (const ms of [0, seconds * 1000 - 1]) expect(records(passAt([idle, live], ms, o))).toEqual([]);
    for (const ms of [seconds * 1000, seconds * 1000 + 1, seconds * 2000])
      expect(records(passAt([idle, live], ms, o))[0]).toMatchObject({ instanceId: instanceId(0), step: 'ConfirmInstance' });
  });

  test('not while the same plan creates RDB pods, which will want nodes (a new leader after a lost RDB)', () => {
    // The live RDB's pod is gone: the plan replaces it and creates a live one; the idle instance waits.
    const a = passAt([idle, { ord: 5, state: 'live', podGone: true, nodeGone: true, instanceGone: true }], IDLE_INSTANCE_GRACE_MS * 2, {
      poolStatus: { rdbs: [{ name: podName(5), state: 'live', firstI: 500 }] },
    });
    expect(ofKind(a, 'EnsureRdbPod').length).toBeGreaterThan(0);
    expect(records(a)).toEqual([]);
    expect(ofKind(a, 'SetInstanceProtection').filter((x) => !x.protect)).toEqual([]);
  });

  test('the chain goes on to Terminate (node named for the fresh occupancy check, no pod) and finishes when AWS shows it leaving', () => {
    const rec: ScaleInRecord = { instanceId: instanceId(0), node: nodeName(0), step: 'Terminate', startedAt: T0.toISOString() };
    const t = plan(world([{ ...idle, protected: false, unschedulable: true }, live], { scaleIn: rec, now: at(11 * MIN) }));
    expect(ofKind(t, 'TerminateInstanceInGroup')).toEqual([
      { kind: 'TerminateInstanceInGroup', group: 'eks-rdb-0123', instanceId: instanceId(0), decrement: true, node: nodeName(0) },
    ]);
    const done = plan(world([{ ...idle, protected: false, lifecycle: 'Terminating' }, live], { scaleIn: rec, now: at(12 * MIN) }));
    expect(records(done)).toEqual([null]);
    expect(eventReasons(done)).toContain('ScaledIn');
  });

  test('a pod lands on it: no longer idle, and the clock starts again when it is idle again', () => {
    const first = statusOf(plan(world([idle, live])))!;
    const busy = plan(world([{ ord: 0, state: 'queued' }, live], { status: first, now: at(5 * MIN) }));
    expect(idleOf(busy)).toBeUndefined();
    const again = plan(world([idle, live], { status: statusOf(busy)!, now: at(12 * MIN) }));
    expect(records(again)).toEqual([]);
    expect(idleOf(again)).toEqual([{ instanceId: instanceId(0), since: at(12 * MIN).toISOString() }]);
  });
});

describe('never reclaimed', () => {
  const never: { name: string; rdbs: RdbSketch[]; o?: WorldOptions; mutate?: (o: Observed) => void }[] = [
    {
      name: 'an instance booting into a node (no node yet) while its pod waits',
      rdbs: [live, { ord: 6, node: null }],
      o: { extraInstances: [{ instanceId: instanceId(6), lifecycleState: 'InService', protectedFromScaleIn: true, zone: 'us-east-1a' }] },
    },
    { name: 'any idle instance while some RDB pod waits for a node', rdbs: [idle, live, { ord: 6, node: null }] },
    { name: 'at MinSize', rdbs: [idle, live], o: { asg: { min: 2 } } },
    { name: 'hosting a failed RDB pod', rdbs: [{ ord: 0, state: 'queued', phase: 'Failed' }, live] },
    { name: 'hosting a lost RDB on a NotReady node (its pod still there)', rdbs: [{ ord: 0, state: 'rolled', notReady: true, deleting: true }, live] },
    { name: 'hosting a flushed RDB Terminating', rdbs: [{ ord: 0, state: 'flushed', deleting: true }, live] },
    { name: 'still Pending in AWS', rdbs: [{ ...idle, lifecycle: 'Pending' }, live] },
    {
      name: 'its node runs another pod',
      rdbs: [idle, live],
      mutate: (o) => {
        o.pools.equities!.nodes.find((n) => n.name === nodeName(0))!.otherPods = ['other/app-1'];
      },
    },
    {
      name: 'its node is gone but status placed a still-existing (lost) pod on it',
      rdbs: [{ ord: 0, state: 'rolled', nodeGone: true, deleting: true }, live],
      o: { poolStatus: { rdbs: [{ name: podName(0), node: nodeName(0), instanceId: instanceId(0), state: 'lost' }] } },
    },
    {
      name: 'a node-less instance while some pod is bound to a node nobody sees',
      rdbs: [{ ord: 0, state: 'rolled', nodeGone: true, deleting: true }, live],
    },
    { name: 'the cluster is being deleted', rdbs: [idle, live], o: { deleting: true } },
  ];
  test.each(never)('$name', ({ rdbs, o, mutate }) => {
    for (const ms of [...INSTANTS_BEFORE, ...INSTANTS_AFTER]) {
      const first = world(rdbs, { ...o, now: T0 });
      mutate?.(first);
      const s = statusOf(plan(first));
      const later = world(rdbs, { ...o, now: at(ms), ...(s ? { status: s } : {}) });
      mutate?.(later);
      const a = plan(later);
      expect(records(a).filter((r) => r?.rdb === undefined)).toEqual([]);
      expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([]);
      expect(ofKind(a, 'SetInstanceProtection').filter((x) => !x.protect)).toEqual([]);
    }
  });

  test('a booting instance with no pod waiting: counted from InService, reclaimed only after the grace', () => {
    const booting = { extraInstances: [{ instanceId: instanceId(9), lifecycleState: 'InService', protectedFromScaleIn: true, zone: 'us-east-1a' }] };
    expect(records(passAt([live], 9 * MIN, booting))).toEqual([]);
    expect(records(passAt([live], 10 * MIN, booting))[0]).toEqual({ instanceId: instanceId(9), step: 'ConfirmInstance', startedAt: at(10 * MIN).toISOString() });
  });

  test('mid-chain, a pod starts waiting for a node: the idle scale-in stops and the node is uncordoned', () => {
    const rec: ScaleInRecord = { instanceId: instanceId(0), node: nodeName(0), step: 'Unprotect', startedAt: T0.toISOString() };
    const a = plan(world([{ ...idle, unschedulable: true }, live, { ord: 6, node: null }], { scaleIn: rec, now: at(11 * MIN) }));
    expect(records(a)).toEqual([null]);
    expect(ofKind(a, 'UncordonNode')).toEqual([{ kind: 'UncordonNode', node: nodeName(0) }]);
    expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([]);
    expect(eventReasons(a)).toContain('ScaleInAborted');
  });

  test('a flushed RDB and an idle instance go side by side, the RDB chained first', () => {
    const seen = { idleInstances: [{ instanceId: instanceId(0), since: T0.toISOString() }] };
    const a = plan(world([idle, { ord: 1, state: 'flushed' }, live], { now: at(11 * MIN), poolStatus: seen }));
    expect(records(a)[0]).toMatchObject({ rdb: podName(1), step: 'DeletePod' });
    expect(records(a)[1]).toMatchObject({ instanceId: instanceId(0), step: 'ConfirmInstance' });
    expect(idleOf(a)).toBeUndefined();
  });

  test('with room for one chain only (maxParallelScaleIns 1), the idle instance waits its turn', () => {
    const seen = { idleInstances: [{ instanceId: instanceId(0), since: T0.toISOString() }] };
    const a = plan(world([idle, { ord: 1, state: 'flushed' }, live], { now: at(11 * MIN), poolStatus: seen, pool: { maxParallelScaleIns: 1 } }));
    expect(records(a).map((r) => r?.rdb ?? r?.instanceId)).toEqual([podName(1)]);
    expect(idleOf(a)).toEqual([{ instanceId: instanceId(0), since: T0.toISOString() }]);
  });

  test('two idle instances past their grace are scaled in together, but never below MinSize', () => {
    const two: RdbSketch[] = [idle, { ...idle, ord: 1 }, live];
    const seen = { idleInstances: [0, 1].map((i) => ({ instanceId: instanceId(i), since: T0.toISOString() })) };
    const both = plan(world(two, { now: at(11 * MIN), poolStatus: seen }));
    expect(records(both).map((r) => r?.instanceId)).toEqual([instanceId(0), instanceId(0), instanceId(0), instanceId(1), instanceId(1), instanceId(1)]);
    expect(ofKind(both, 'TerminateInstanceInGroup').map((t) => t.instanceId)).toEqual([instanceId(0), instanceId(1)]);
    // desired 3, MinSize 2: room for one decrement only.
    const one = plan(world(two, { now: at(11 * MIN), poolStatus: seen, asg: { min: 2 } }));
    expect(new Set(records(one).map((r) => r?.instanceId))).toEqual(new Set([instanceId(0)]));
    expect(ofKind(one, 'TerminateInstanceInGroup').map((t) => t.instanceId)).toEqual([instanceId(0)]);
  });
});
