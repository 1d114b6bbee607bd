import { describe, expect, test } from '@jest/globals';
import { ANNOTATION, CONDITION } from '../../operator/src/agent/report.ts';
import { observeRdbPod, readRdbReport } from '../../operator/src/controllers/kdbcluster/rdb-report.ts';
import { InvalidReportWarnings } from '../../operator/src/controllers/kdbcluster/report-warnings.ts';
import type { V1Pod } from '../../operator/src/kube/index.ts';
import type { ObservedRdbPod } from '../../operator/src/planner/types.ts';

const summary = {
  state: 'rolled',
  day: '2026-03-02',
  firstI: 100,
  lastI: 200,
  lastProcessed: 200,
  rows: 5000,
  flushedDays: ['2026-03-01'],
};

interface PodSketch {
  summary?: Record<string, unknown> | string;
  memoryPercent?: string | null;
  reportedAt?: string | null;
  conditions?: Record<string, 'True' | 'False'>;
  resourceVersion?: string;
}

const rdbPod = (o: PodSketch = {}): V1Pod => {
  const raw = o.summary === undefined ? JSON.stringify(summary) : typeof o.summary === 'string' ? o.summary : JSON.stringify({ ...summary, ...o.summary });
  const annotations: Record<string, string> = { [ANNOTATION.rdbStatus]: raw };
  if (o.memoryPercent !== null) annotations[ANNOTATION.memoryPercent] = o.memoryPercent ?? '42';
  if (o.reportedAt !== null) annotations[ANNOTATION.reportedAt] = o.reportedAt ?? '2026-03-02T14:00:00.000Z';
  const conditions = Object.entries(o.conditions ?? { [CONDITION.rolled]: 'True' }).map(([type, status]) => ({ type, status }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo-main-rdb-3', namespace: 'kdb', uid: 'uid-3', resourceVersion: o.resourceVersion ?? '1234', annotations },
    spec: { nodeName: 'node-3', containers: [] },
    status: { phase: 'Running', conditions },
  } as V1Pod;
};

describe('RDB report on the pod: parsed, never trusted', () => {
  test('a valid report is decoded for the planner', () => {
    expect(observeRdbPod(rdbPod())).toEqual({
      name: 'demo-main-rdb-3',
      uid: 'uid-3',
      resourceVersion: '1234',
      node: 'node-3',
      phase: 'Running',
      rdb: {
        state: 'rolled',
        live: false,
        rolled: true,
        dataFlushed: false,
        flushedDays: ['2026-03-01'],
        day: '2026-03-02',
        memoryPercent: 42,
        window: { firstI: 100, lastI: 200 },
        holdsRows: true,
        rows: 5000,
        reportedAt: '2026-03-02T14:00:00.000Z',
      },
    });
  });

  test('a data-plane error the RDB reported reaches the planner; an unknown reason is no report at all', () => {
    const error = { reason: 'WindowPastLog', message: 'the window (0, 40] of r1b needs messages 31..40, which the tickerplant log lost' };
    expect(observeRdbPod(rdbPod({ summary: { error } })).rdb?.error).toEqual(error);
    const forged = observeRdbPod(rdbPod({ summary: { error: { reason: 'RunThisCommand', message: 'x' } } }));
    expect(forged.rdb).toBeUndefined();
    expect(forged.invalidReport).toMatchObject({ field: 'kdb-operator.dev/rdb-status: error.reason' });
    expect(observeRdbPod(rdbPod({ summary: { error: { reason: 'Renumbered', message: 'x'.repeat(513) } } })).invalidReport).toMatchObject({ field: 'kdb-operator.dev/rdb-status: error.message' });
  });

  test('no annotation yet: no report, no complaint', () => {
    const pod = rdbPod();
    pod.metadata!.annotations = {};
    expect(readRdbReport(pod)).toEqual({ kind: 'none' });
    expect(observeRdbPod(pod).invalidReport).toBeUndefined();
  });

  test('an old agent without reported-at still reports', () => {
    expect(readRdbReport(rdbPod({ reportedAt: null }))).toMatchObject({ kind: 'ok' });
  });

  const bad: [string, PodSketch, string, RegExp][] = [
    ['bad JSON', { summary: '{"state":' }, ANNOTATION.rdbStatus, /^not JSON/],
    ['unknown state from a newer agent', { summary: { state: 'hibernating' } }, `${ANNOTATION.rdbStatus}: state`, /./],
    ["day in q's form", { summary: { day: '2026.03.02' } }, `${ANNOTATION.rdbStatus}: day`, /q's date form/],
    ["a flushed day in q's form", { summary: { flushedDays: ['2026.03.01'] } }, `${ANNOTATION.rdbStatus}: flushedDays.0`, /q's date form/],
    ['negative memory percent', { memoryPercent: '-5' }, ANNOTATION.memoryPercent, /whole, non-negative percent/],
    ['NaN memory percent', { memoryPercent: 'NaN' }, ANNOTATION.memoryPercent, /whole, non-negative percent/],
    ['fractional memory percent', { memoryPercent: '4.5' }, ANNOTATION.memoryPercent, /whole, non-negative percent/],
    ['memory percent beyond belief', { memoryPercent: '5000' }, ANNOTATION.memoryPercent, /at most 1000/],
    ['memory percent missing', { memoryPercent: null }, ANNOTATION.memoryPercent, /missing/],
    ['a huge annotation', { summary: { pad: 'x'.repeat(5000) } }, ANNOTATION.rdbStatus, /more than 4096/],
    ['a huge day', { summary: { day: 'x'.repeat(3000) } }, `${ANNOTATION.rdbStatus}: day`, /^must be a day YYYY-MM-DD, got "x{24}\.\.\."$/],
    ['negative message number', { summary: { firstI: -1 } }, `${ANNOTATION.rdbStatus}: firstI`, /./],
    ['window closed below its start', { summary: { firstI: 300 } }, `${ANNOTATION.rdbStatus}: lastI`, /below firstI/],
    ['an unbounded flush history', { summary: { flushedDays: Array.from({ length: 33 }, () => '2026-03-01') } }, `${ANNOTATION.rdbStatus}: flushedDays`, /./],
    ['rows as a string', { summary: { rows: '5000' } }, `${ANNOTATION.rdbStatus}: rows`, /./],
    ['an unreadable time', { reportedAt: 'soon' }, ANNOTATION.reportedAt, /ISO 8601/],
  ];

  test.each(bad)('%s: no report for the pod, the field named', (_name, sketch, field, message) => {
    const observed = observeRdbPod(rdbPod(sketch));
    expect(observed.rdb).toBeUndefined();
    expect(observed.invalidReport?.field).toBe(field);
    expect(observed.invalidReport?.message).toMatch(message);
    // The pod itself is still observed: it counts, it only has said nothing believable.
    expect(observed).toMatchObject({ name: 'demo-main-rdb-3', uid: 'uid-3', node: 'node-3', phase: 'Running' });
  });

  test('the same bad values give the same fingerprint; other bad values another', () => {
    const a = observeRdbPod(rdbPod({ memoryPercent: '-5' })).invalidReport?.fingerprint;
    expect(observeRdbPod(rdbPod({ memoryPercent: '-5', resourceVersion: '9999' })).invalidReport?.fingerprint).toBe(a);
    expect(observeRdbPod(rdbPod({ memoryPercent: '-6' })).invalidReport?.fingerprint).not.toBe(a);
  });

  describe('DataFlushed needs the summary to agree', () => {
    const finished = { state: 'flushed', rows: 0, lastI: 200 };
    test.each([
      ['finished, closed window, condition True', finished, { [CONDITION.dataFlushed]: 'True' }, true],
      ['condition True but the summary is live', { ...finished, state: 'live', lastI: null }, { [CONDITION.dataFlushed]: 'True' }, false],
      ['condition True but the window is open', { ...finished, lastI: null }, { [CONDITION.dataFlushed]: 'True' }, false],
      ['condition True but rows are held', { ...finished, rows: 1 }, { [CONDITION.dataFlushed]: 'True' }, false],
      ['condition True and Live True', finished, { [CONDITION.dataFlushed]: 'True', [CONDITION.live]: 'True' }, false],
      // The agent writes the annotations first, the conditions next: in between, not flushed yet.
      ['summary finished, condition not yet', finished, { [CONDITION.dataFlushed]: 'False' }, false],
    ] as const)('%s', (_name, s, conditions, flushed) => {
      expect(observeRdbPod(rdbPod({ summary: s, conditions })).rdb?.dataFlushed).toBe(flushed);
    });
  });
});

describe('one Warning per bad report', () => {
  const observed = (pods: ObservedRdbPod[]) => ({ pools: { main: { asg: 'unknown' as const, nodes: [], pods } } });
  const bad = (sketch: PodSketch) => observeRdbPod(rdbPod(sketch));

  test('warns once for a bad report however often it is observed, again for a new bad value, and after it was fixed', () => {
    const w = new InvalidReportWarnings();
    const first = w.next('kdb/demo', observed([bad({ memoryPercent: '-5' })]));
    expect(first).toHaveLength(1);
    expect(first[0]?.reason).toBe('InvalidRdbReport');
    expect(first[0]?.message).toMatch(/^pool main: RDB pod demo-main-rdb-3 reported an invalid kdb-operator\.dev\/memory-percent: .*counted as no report/);
    // Reconcile after reconcile, a new resourceVersion (the agent rewrote the same values): silent.
    expect(w.next('kdb/demo', observed([bad({ memoryPercent: '-5' })]))).toEqual([]);
    expect(w.next('kdb/demo', observed([bad({ memoryPercent: '-5', resourceVersion: '77' })]))).toEqual([]);
    // Another bad value: a new Warning.
    expect(w.next('kdb/demo', observed([bad({ summary: { day: '2026.03.02' } })]))).toHaveLength(1);
    // Fixed, then broken the old way again: that is a new bad report.
    expect(w.next('kdb/demo', observed([observeRdbPod(rdbPod())]))).toEqual([]);
    expect(w.next('kdb/demo', observed([bad({ memoryPercent: '-5' })]))).toHaveLength(1);
  });

  test('clusters and pods are remembered apart', () => {
    const w = new InvalidReportWarnings();
    const pod = bad({ memoryPercent: '-5' });
    expect(w.next('a/one', observed([pod]))).toHaveLength(1);
    expect(w.next('b/two', observed([pod]))).toHaveLength(1);
    const other = { ...pod, name: 'demo-main-rdb-4' };
    expect(w.next('a/one', observed([pod, other])).map((x) => x.message)).toEqual([expect.stringContaining('demo-main-rdb-4')]);
    w.forget('a/one');
    expect(w.next('a/one', observed([pod]))).toHaveLength(1);
  });
});
