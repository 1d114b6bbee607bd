import { describe, expect, test } from '@jest/globals';
import type { MergeRecord } from '../../operator/src/api/kdbcluster.ts';
import { mergeJobName } from '../../operator/src/planner/plan-merge.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { CLUSTER, DAY, eventReasons as allReasons, ofKind, statusOf, world } from '../fixtures/planner.ts';
import type { Action } from '../../operator/src/planner/types.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

const NEXT = '2026-03-03';

/** The merge's own Events (the flushed RDBs also start a scale-in in these worlds). */
const eventReasons = (actions: readonly Action[]): string[] =>
  allReasons(actions).filter((r) => r === 'MergeStarted' || r === 'DayMerged' || r === 'MergeFailed');
const JOB = `${CLUSTER}-merge-${DAY}`;

/** After end of day: the rolled RDBs flushed and wait to be scaled in, the live one flushed and went on with the next day. */
const afterEndOfDay = (): RdbSketch[] => [
  { ord: 0, state: 'flushed' },
  { ord: 1, state: 'flushed' },
  { ord: 2, state: 'live', day: NEXT, flushedDays: [DAY] },
];

const ensured = (rdbs: RdbSketch[], o: WorldOptions = {}) => ofKind(plan(world(rdbs, o)), 'EnsureMergeJob');

const running = (day = DAY): MergeRecord => ({ day, job: mergeJobName(CLUSTER, day), phase: 'Running', startedAt: '2026-03-02T22:00:00.000Z' });

describe('end-of-day merge: starts only when no RDB can add to the day', () => {
  test('every RDB flushed the day: one Job for it, recorded Running', () => {
    const actions = plan(world(afterEndOfDay()));
    expect(ofKind(actions, 'EnsureMergeJob')).toEqual([{ kind: 'EnsureMergeJob', day: DAY, job: JOB }]);
    expect(statusOf(actions)?.merge).toMatchObject({ day: DAY, job: JOB, phase: 'Running' });
    expect(eventReasons(actions)).toContain('MergeStarted');
  });

  const waits: { name: string; rdbs: RdbSketch[]; o?: WorldOptions }[] = [
    { name: 'during the day: the live RDB holds it', rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live' }] },
    { name: 'a rolled RDB not flushed yet', rdbs: [{ ord: 0, state: 'rolled' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'live', day: NEXT, flushedDays: [DAY] }] },
    { name: 'a rolled RDB flushing', rdbs: [{ ord: 0, state: 'flushing' }, { ord: 2, state: 'live', day: NEXT, flushedDays: [DAY] }] },
    { name: 'the live RDB still flushing', rdbs: [{ ord: 0, state: 'flushed' }, { ord: 2, state: 'flushing' }] },
    { name: 'an RDB on a node that has not reported', rdbs: [...afterEndOfDay(), { ord: 3, state: 'none' }] },
    { name: 'a replacement owing a lost window, not on a node yet', rdbs: [...afterEndOfDay(), { ord: 3, node: null, replaces: `${CLUSTER}-equities-rdb-9` }] },
    {
      name: 'a replacement on the next day that has not replayed the lost window yet',
      rdbs: [...afterEndOfDay(), { ord: 3, state: 'queued', day: NEXT, replaces: `${CLUSTER}-equities-rdb-9` }],
    },
    { name: 'a failed RDB that never flushed', rdbs: [...afterEndOfDay(), { ord: 3, state: 'rolled', phase: 'Failed' }] },
    {
      name: 'a lost RDB in status, not replayed yet',
      rdbs: afterEndOfDay(),
      o: { poolStatus: { rdbs: [{ name: `${CLUSTER}-equities-rdb-9`, state: 'lost', firstI: 10, lastI: 20 }] } },
    },
    { name: 'merge disabled in the spec', rdbs: afterEndOfDay(), o: { spec: { merge: { enabled: false } } } },
    {
      name: 'the cluster is being deleted with its write-down skipped',
      rdbs: afterEndOfDay(),
      o: { deleting: true, annotations: { 'kdb-operator.dev/write-down': 'skip' } },
    },
  ];
  test.each(waits)('no Job: $name', ({ rdbs, o }) => {
    expect(ensured(rdbs, o)).toEqual([]);
  });

  test('a deleted cluster still merges the day it wrote down', () => {
    expect(ensured(afterEndOfDay(), { deleting: true })).toEqual([{ kind: 'EnsureMergeJob', day: DAY, job: JOB }]);
  });

  test('a waiting merge says in status what it waits for', () => {
    const rdbs: RdbSketch[] = [{ ord: 0, state: 'rolled' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'live', day: NEXT, flushedDays: [DAY] }];
    expect(statusOf(plan(world(rdbs)))?.mergePending).toBe(`${DAY}: RDB ${CLUSTER}-equities-rdb-0 has not flushed ${DAY}`);
    expect(statusOf(plan(world(afterEndOfDay())))?.mergePending).toBeUndefined();
  });

  test('an RDB waiting for a node has held nothing and does not hold the merge back', () => {
    expect(ensured([...afterEndOfDay(), { ord: 3, node: null }])).toHaveLength(1);
  });

  test('an RDB already on the next day without having flushed this one held none of it', () => {
    expect(ensured([...afterEndOfDay(), { ord: 3, state: 'queued', day: NEXT }])).toHaveLength(1);
  });

  test('a replacement that replayed its window and flushed it does not hold the merge back', () => {
    expect(ensured([...afterEndOfDay(), { ord: 3, state: 'flushed', replaces: `${CLUSTER}-equities-rdb-9` }])).toHaveLength(1);
  });

  test('a scaled-in RDB on its way out does not hold the merge back', () => {
    expect(ensured([...afterEndOfDay(), { ord: 3, state: 'flushed', deleting: true, flushedDays: [] }])).toHaveLength(1);
  });
});

describe('end-of-day merge: following the Job', () => {
  test('Job running: nothing new, record kept', () => {
    const actions = plan(world(afterEndOfDay(), { status: { merge: running() }, mergeJobs: [{ name: JOB, phase: 'Running' }] }));
    expect(ofKind(actions, 'EnsureMergeJob')).toEqual([]);
    expect(statusOf(actions)?.merge?.phase ?? 'Running').toBe('Running');
  });

  test('Job succeeded: recorded, mergedDay set, one DayMerged event', () => {
    const actions = plan(world(afterEndOfDay(), { status: { merge: running() }, mergeJobs: [{ name: JOB, phase: 'Succeeded' }] }));
    const status = statusOf(actions);
    expect(status?.merge).toMatchObject({ day: DAY, phase: 'Succeeded' });
    expect(status?.mergedDay).toBe(DAY);
    expect(eventReasons(actions)).toEqual(['DayMerged']);
    // The next pass sees it done and stays quiet.
    const again = plan(world(afterEndOfDay(), { status: { merge: status!.merge!, mergedDay: DAY }, mergeJobs: [{ name: JOB, phase: 'Succeeded' }] }));
    expect(ofKind(again, 'EnsureMergeJob')).toEqual([]);
    expect(eventReasons(again)).toEqual([]);
  });

  test('a merged day is never merged again, even after its Job is cleaned away', () => {
    const done: MergeRecord = { ...running(), phase: 'Succeeded', finishedAt: '2026-03-02T22:05:00.000Z' };
    expect(ensured(afterEndOfDay(), { status: { merge: done, mergedDay: DAY } })).toEqual([]);
  });

  test('Job failed: a Warning once, no retry by itself', () => {
    const actions = plan(world(afterEndOfDay(), { status: { merge: running() }, mergeJobs: [{ name: JOB, phase: 'Failed' }] }));
    expect(statusOf(actions)?.merge?.phase).toBe('Failed');
    expect(eventReasons(actions)).toEqual(['MergeFailed']);
    const failed: MergeRecord = { ...running(), phase: 'Failed' };
    const again = plan(world(afterEndOfDay(), { status: { merge: failed }, mergeJobs: [{ name: JOB, phase: 'Failed' }] }));
    expect(ofKind(again, 'EnsureMergeJob')).toEqual([]);
    expect(eventReasons(again)).toEqual([]);
  });

  test('the failed Job deleted by the user: made again', () => {
    const failed: MergeRecord = { ...running(), phase: 'Failed' };
    const actions = plan(world(afterEndOfDay(), { status: { merge: failed } }));
    expect(ofKind(actions, 'EnsureMergeJob')).toEqual([{ kind: 'EnsureMergeJob', day: DAY, job: JOB }]);
    expect(statusOf(actions)?.merge?.phase).toBe('Running');
  });

  test('recorded Running but the Job is missing (crash between create and status): made again', () => {
    expect(ensured(afterEndOfDay(), { status: { merge: running() } })).toEqual([{ kind: 'EnsureMergeJob', day: DAY, job: JOB }]);
  });

  test('the Job exists but status was never written: adopted, not created twice', () => {
    const actions = plan(world(afterEndOfDay(), { mergeJobs: [{ name: JOB, phase: 'Running' }] }));
    expect(ofKind(actions, 'EnsureMergeJob')).toEqual([]);
    expect(statusOf(actions)?.merge).toMatchObject({ day: DAY, phase: 'Running' });
  });
});

describe('end-of-day merge: which day', () => {
  test('after a merged day, the next flushed day in order', () => {
    const prevDay = '2026-03-01';
    const done: MergeRecord = { day: prevDay, job: mergeJobName(CLUSTER, prevDay), phase: 'Succeeded', startedAt: 'x' };
    const rdbs: RdbSketch[] = [{ ord: 2, state: 'live', day: NEXT, flushedDays: [prevDay, DAY] }];
    expect(ensured(rdbs, { status: { merge: done, mergedDay: prevDay } })).toEqual([{ kind: 'EnsureMergeJob', day: DAY, job: JOB }]);
  });

  test('with no merge on record, only the newest flushed day: older ones predate the operator', () => {
    const rdbs: RdbSketch[] = [{ ord: 2, state: 'live', day: NEXT, flushedDays: ['2026-02-27', DAY] }];
    expect(ensured(rdbs).map((a) => a.day)).toEqual([DAY]);
  });

  test('one merge at a time: a running one blocks the next day', () => {
    const rdbs: RdbSketch[] = [{ ord: 2, state: 'live', day: '2026-03-04', flushedDays: [DAY, NEXT] }];
    const actions = plan(world(rdbs, { status: { merge: running() }, mergeJobs: [{ name: JOB, phase: 'Running' }] }));
    expect(ofKind(actions, 'EnsureMergeJob')).toEqual([]);
  });
});

describe('merge Job names', () => {
  test('short cluster names: <cluster>-merge-<day>', () => {
    expect(mergeJobName('markets', DAY)).toBe(`markets-merge-${DAY}`);
  });
  test('long cluster names fit the 63-character label limit and stay distinct', () => {
    const a = mergeJobName('a'.repeat(60), DAY);
    const b = mergeJobName(`${'a'.repeat(59)}b`, DAY);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(b.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});
