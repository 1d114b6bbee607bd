import { describe, expect, test } from '@jest/globals';
import type { RdbStatusEntry, ScaleInRecord } from '../../operator/src/api/kdbcluster.ts';
import { observeRdbPod } from '../../operator/src/controllers/kdbcluster/rdb-report.ts';
import type { V1Pod } from '../../operator/src/kube/index.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Action } from '../../operator/src/planner/types.ts';
import { ASG, CLUSTER, DAY, condition, instanceId, nodeName, ofKind, podName, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

/**
 * Issue 9 item 2, "Lost means lost": a pod that is Terminating (not by the
 * scale-in chain), on a NotReady, unreachable or vanished node, or failed
 * (rdb or agent container), while it holds data, is lost: replaced, counted
 * while it holds a node, and the day's merge waits for its replacement.
 */
const NEXT = '2026-03-03';
const live: RdbSketch = { ord: 5, state: 'live', mem: 30 };
const replacements = (a: readonly Action[]) => ofKind(a, 'EnsureRdbPod').filter((x) => x.replaces !== undefined).map((x) => [x.name, x.replaces]);
const deletes = (a: readonly Action[]) => ofKind(a, 'DeleteRdbPod').map((x) => [x.pod, x.reason]);
const entry = (a: readonly Action[], ord: number) => statusOf(a)?.pools[0]?.rdbs.find((e) => e.name === podName(ord));
const merges = (a: readonly Action[]) => ofKind(a, 'EnsureMergeJob').map((x) => x.day);

describe('which RDB pods are lost', () => {
  const rows: { name: string; rdb: RdbSketch; replaced: boolean; deleted?: 'Lost' | 'Failed'; o?: WorldOptions }[] = [
    { name: 'Terminating (evicted, deleted by a person) holding a rolled window', rdb: { ord: 0, state: 'rolled', deleting: true }, replaced: true },
    { name: 'Terminating while flushing', rdb: { ord: 0, state: 'flushing', deleting: true }, replaced: true },
    { name: 'on a NotReady node holding a rolled window', rdb: { ord: 0, state: 'rolled', notReady: true }, replaced: true, deleted: 'Lost' },
    { name: 'on a node that is gone, holding a rolled window', rdb: { ord: 0, state: 'rolled', nodeGone: true }, replaced: true, deleted: 'Lost' },
    { name: 'Terminating on a NotReady node: not deleted again', rdb: { ord: 0, state: 'rolled', notReady: true, deleting: true }, replaced: true },
    { name: 'failed holding data', rdb: { ord: 0, state: 'rolled', phase: 'Failed' }, replaced: true, deleted: 'Lost' },
    { name: 'failed holding nothing: deleted all the same', rdb: { ord: 0, state: 'queued', phase: 'Failed' }, replaced: false, deleted: 'Failed' },
    { name: 'queued on a NotReady node: deleted, nothing to replay', rdb: { ord: 0, state: 'queued', notReady: true }, replaced: false, deleted: 'Failed' },
    { name: 'flushed and Terminating (deleted by a person): nothing to replay', rdb: { ord: 0, state: 'flushed', deleting: true }, replaced: false },
    {
      name: 'the scale-in victim Terminating: gone on purpose',
      rdb: { ord: 0, state: 'flushed', deleting: true },
      replaced: false,
      o: { scaleIn: { rdb: podName(0), instanceId: instanceId(0), node: nodeName(0), step: 'DeletePod', startedAt: '2026-03-02T14:00:00Z' } },
    },
    { name: 'rolled on a Ready node: not lost', rdb: { ord: 0, state: 'rolled' }, replaced: false },
  ];
  test.each(rows)('$name', ({ rdb, replaced, deleted, o }) => {
    const a = plan(world([rdb, live], o));
    expect(replacements(a)).toEqual(replaced ? [[podName(6), podName(0)]] : []);
    expect(deletes(a).filter(([, r]) => r !== 'ScaleIn')).toEqual(deleted ? [[podName(0), deleted]] : []);
    if (replaced) {
      expect(entry(a, 0)?.state).toBe('lost');
      expect(condition(a, 'Degraded')?.status).toBe('True');
    }
  });

  test('the live RDB on a NotReady node: replaced (the tickerplant rolls it), the queued one takes over, no second live is made', () => {
    const a = plan(world([{ ord: 4, state: 'live', mem: 70, notReady: true }, { ord: 5, state: 'queued' }]));
    expect(replacements(a)).toEqual([[podName(6), podName(4)]]);
    // The queued RDB is still waiting: scale-out makes none beside it.
    expect(ofKind(a, 'EnsureRdbPod').filter((x) => x.replaces === undefined)).toEqual([]);
    expect(statusOf(a)?.pools[0]?.live).toBeUndefined();
  });

  test('while the cluster is deleted, its Terminating pods are not losses', () => {
    const a = plan(world([{ ord: 0, state: 'rolled', deleting: true }, live], { deleting: true }));
    expect(replacements(a)).toEqual([]);
  });
});

describe('a failed or lost pod holds its node until it is gone', () => {
  test('a crashed queued RDB that held nothing: deleted, and the queued pod made in its place gets a new node', () => {
    // The stall: the failed pod kept its node but was not counted, desired stayed, the new pod stayed Pending.
    const a = plan(world([{ ord: 4, state: 'queued', phase: 'Failed' }, { ord: 5, state: 'live', mem: 70 }]));
    expect(deletes(a)).toEqual([[podName(4), 'Failed']]);
    expect(ofKind(a, 'EnsureRdbPod').map((x) => x.name)).toEqual([podName(6)]);
    expect(ofKind(a, 'SetDesiredCapacity')).toEqual([expect.objectContaining({ group: ASG, observed: 2, value: 3 })]);
  });

  test('once the failed pod is gone, nothing more is asked for', () => {
    const a = plan(world([{ ord: 4, state: 'queued', podGone: true, nodeGone: true, instanceGone: true }, { ord: 5, state: 'live', mem: 70 }, { ord: 6, node: null }], { asg: { desired: 3 } }));
    expect(ofKind(a, 'SetDesiredCapacity')).toEqual([]);
  });

  test('a lost rolled RDB on a NotReady node and its replacement both count', () => {
    const a = plan(world([{ ord: 0, state: 'rolled', notReady: true }, live]));
    expect(ofKind(a, 'SetDesiredCapacity')).toEqual([expect.objectContaining({ observed: 2, value: 3 })]);
  });

  test('the scale-in victim on its way out does not count: its instance goes with it', () => {
    const rec: ScaleInRecord = { rdb: podName(0), instanceId: instanceId(0), node: nodeName(0), step: 'DeletePod', startedAt: '2026-03-02T14:00:00Z' };
    const a = plan(world([{ ord: 0, state: 'flushed', deleting: true }, live, { ord: 6, node: null }], { scaleIn: rec }));
    expect(ofKind(a, 'SetDesiredCapacity')).toEqual([]);
  });

  test('the instance of a NotReady node hosting a lost RDB is kept protected and never terminated or unprotected', () => {
    const o = world([{ ord: 0, state: 'rolled', notReady: true, protected: false }, live]);
    const a = plan(o);
    expect(ofKind(a, 'SetInstanceProtection')).toEqual([expect.objectContaining({ instanceIds: [instanceId(0)], protect: true })]);
    expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([]);
    expect(ofKind(a, 'RecordScaleInStep')).toEqual([]);
  });
});

describe('the merge of a day waits for a lost RDB’s replacement', () => {
  const flushedOthers: RdbSketch[] = [
    { ord: 1, state: 'flushed' },
    { ord: 2, state: 'live', day: NEXT, flushedDays: [DAY] },
  ];
  const cases: { name: string; lost: RdbSketch }[] = [
    { name: 'Terminating after eviction', lost: { ord: 0, state: 'rolled', deleting: true } },
    { name: 'on a NotReady node', lost: { ord: 0, state: 'rolled', notReady: true } },
    { name: 'on a NotReady node and Terminating', lost: { ord: 0, state: 'rolled', notReady: true, deleting: true } },
    { name: 'on a vanished node', lost: { ord: 0, state: 'rolled', nodeGone: true } },
  ];
  test.each(cases)('$name: no merge before the replacement, none while it replays, one once it flushed', ({ lost }) => {
    // The others flushed: today's bug merged here without the lost window.
    const first = plan(world([lost, ...flushedOthers]));
    expect(merges(first)).toEqual([]);
    expect(statusOf(first)?.mergePending).toBe(`${DAY}: RDB ${podName(0)} was lost and its window is not replayed yet`);
    const status = statusOf(first)!;

    const replaying = plan(world([lost, ...flushedOthers, { ord: 3, state: 'replaying', replaces: podName(0) }], { status }));
    expect(merges(replaying)).toEqual([]);
    expect(condition(replaying, 'Degraded')?.status).toBe('True');

    const rolled = plan(world([lost, ...flushedOthers, { ord: 3, state: 'rolled', replaces: podName(0) }], { status }));
    expect(merges(rolled)).toEqual([]);
    expect(statusOf(rolled)?.mergePending).toBe(`${DAY}: RDB ${podName(3)} has not flushed ${DAY}`);

    // The replacement flushed the window: the day is merged, from every slice.
    const flushed = plan(world([lost, ...flushedOthers, { ord: 3, state: 'flushed', replaces: podName(0) }], { status }));
    expect(merges(flushed)).toEqual([DAY]);
  });

  test('a lost pod gone in the same pass as the others flushed: the merge waits (status still said rolled)', () => {
    const prev: RdbStatusEntry[] = [{ name: podName(0), state: 'rolled', firstI: 0, lastI: 100 }];
    const a = plan(world(flushedOthers, { poolStatus: { rdbs: prev } }));
    expect(replacements(a)).toEqual([[podName(3), podName(0)]]);
    expect(merges(a)).toEqual([]);
  });

  test('a lost pod that reported it flushed the day before it was lost: its slice is in, no wait', () => {
    const a = plan(world([{ ord: 0, state: 'live', day: NEXT, flushedDays: [DAY], notReady: true }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'queued', day: NEXT }]));
    expect(merges(a)).toEqual([DAY]);
  });
});

describe('status remembers a lost pod only until its window is replayed', () => {
  test('a pod stuck Terminating on a dead node after its replacement replayed: shown deleting, and no second replacement when it finally goes', () => {
    const stuck: RdbSketch = { ord: 0, state: 'rolled', notReady: true, deleting: true };
    const first = plan(world([stuck, live]));
    expect(replacements(first)).toEqual([[podName(6), podName(0)]]);

    const replayed = plan(world([stuck, live, { ord: 6, state: 'rolled', replaces: podName(0) }], { status: statusOf(first)! }));
    expect(entry(replayed, 0)).toMatchObject({ state: 'deleting' });
    expect(entry(replayed, 0)?.replaces).toBeUndefined();
    expect(condition(replayed, 'Degraded')?.status).toBe('False');

    // A day later the replacement flushed (and was scaled in); then the stuck pod goes at last.
    const flushed = plan(world([stuck, live, { ord: 6, state: 'flushed', replaces: podName(0) }], { status: statusOf(replayed)! }));
    expect(entry(flushed, 0)).toMatchObject({ state: 'deleting' });
    const gone = plan(world([live], { status: statusOf(flushed)! }));
    expect(replacements(gone)).toEqual([]);
    expect(entry(gone, 0)).toBeUndefined();
  });
});

describe('a dead container makes a failed pod', () => {
  const podWith = (container: string): V1Pod =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${CLUSTER}-equities-rdb-3`, namespace: 'kdb', uid: 'u', resourceVersion: '1' },
      spec: { nodeName: 'node-3', containers: [] },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'rdb', ready: true, restartCount: 0, image: 'x', imageID: 'x', state: container === 'rdb' ? { terminated: { exitCode: 137 } } : { running: {} } },
          { name: 'agent', ready: true, restartCount: 0, image: 'x', imageID: 'x', state: container === 'agent' ? { terminated: { exitCode: 1 } } : { running: {} } },
        ],
      },
    }) as V1Pod;
  test.each([
    ['rdb', 'Failed'],
    ['agent', 'Failed'],
    ['none', 'Running'],
  ])('%s container terminated: phase %s', (container, phase) => {
    expect(observeRdbPod(podWith(container)).phase).toBe(phase);
  });
});
