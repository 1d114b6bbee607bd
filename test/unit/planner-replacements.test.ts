import { describe, expect, test } from '@jest/globals';
import type { RdbStatusEntry } from '../../operator/src/api/kdbcluster.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { condition, eventReasons, ofKind, podName, POOL, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

const entry = (ord: number, state: RdbStatusEntry['state'], extra: Partial<RdbStatusEntry> = {}): RdbStatusEntry => ({
  name: podName(ord),
  state,
  ...extra,
});

const live: RdbSketch = { ord: 5, state: 'live', mem: 30 };

interface Row {
  name: string;
  rdbs: RdbSketch[];
  /** Last written status entries for the pool. */
  prev?: RdbStatusEntry[];
  opts?: WorldOptions;
  /** Expected replacements: [new pod, replaces]. */
  replaced: [string, string][];
  deleted?: string[];
}

const rows: Row[] = [
  {
    name: 'a rolled RDB vanished holding data: replacement replays its window',
    rdbs: [{ ord: 0, state: 'rolled', podGone: true, nodeGone: true, instanceGone: true }, live],
    prev: [entry(0, 'rolled', { firstI: 0, lastI: 100 }), entry(5, 'live')],
    replaced: [[podName(6), podName(0)]],
  },
  {
    name: 'the live RDB vanished: replaced too (the tickerplant rolled it with what it processed)',
    rdbs: [{ ord: 0, state: 'rolled' }, { ord: 1, state: 'queued' }],
    prev: [entry(0, 'rolled'), entry(1, 'queued'), entry(4, 'live', { firstI: 100 })],
    replaced: [[podName(5), podName(4)]],
  },
  {
    name: 'a flushing RDB vanished: replaced',
    rdbs: [live],
    prev: [entry(2, 'flushing'), entry(5, 'live')],
    replaced: [[podName(6), podName(2)]],
  },
  {
    name: 'a replaying RDB vanished: replaced',
    rdbs: [live],
    prev: [entry(2, 'replaying'), entry(5, 'live')],
    replaced: [[podName(6), podName(2)]],
  },
  {
    name: 'a flushed RDB vanished: nothing to replay',
    rdbs: [live],
    prev: [entry(2, 'flushed'), entry(5, 'live')],
    replaced: [],
  },
  {
    // Status may be older than the pod's last state (no leader for a while): the tickerplant knows what it held.
    name: 'a queued RDB vanished: it may have gone live unseen, so a replacement asks the tickerplant',
    rdbs: [live],
    prev: [entry(2, 'queued'), entry(5, 'live')],
    replaced: [[podName(6), podName(2)]],
  },
  {
    name: 'a failed RDB that held nothing, remembered as deleting, vanished: nothing to replay',
    rdbs: [live],
    prev: [entry(2, 'deleting'), entry(5, 'live')],
    replaced: [],
  },
  {
    name: 'the scale-in victim vanished on purpose: no replacement',
    rdbs: [{ ord: 0, state: 'flushed', podGone: true }, live],
    prev: [entry(0, 'rolled'), entry(5, 'live')],
    opts: {
      scaleIn: { rdb: podName(0), instanceId: 'i-00000000000000000', step: 'ConfirmInstance', startedAt: '2026-03-02T14:00:00Z' },
    },
    replaced: [],
  },
  {
    name: 'replacement already running: covered',
    rdbs: [live, { ord: 6, state: 'replaying', replaces: podName(0) }],
    prev: [entry(0, 'lost', { firstI: 0, lastI: 100 }), entry(5, 'live')],
    replaced: [],
  },
  {
    name: 'a failed pod holding data: deleted and replaced',
    rdbs: [{ ord: 0, state: 'rolled', phase: 'Failed' }, live],
    replaced: [[podName(6), podName(0)]],
    deleted: [podName(0)],
  },
  {
    name: 'a failed queued pod: no replacement (scale-out decides if one is needed)',
    rdbs: [{ ord: 0, state: 'queued', phase: 'Failed' }, live],
    replaced: [],
  },
  {
    name: 'a replacement lost before it finished replaying passes the original window on',
    rdbs: [live],
    prev: [entry(5, 'live'), entry(6, 'replaying', { replaces: podName(0) })],
    replaced: [[podName(7), podName(0)]],
  },
  {
    name: 'a replacement lost after it rolled holds the window itself',
    rdbs: [live],
    prev: [entry(5, 'live'), entry(6, 'rolled', { replaces: podName(0) })],
    replaced: [[podName(7), podName(6)]],
  },
  {
    name: 'a replacement lost while still waiting for a node still owes the window',
    rdbs: [live],
    prev: [entry(5, 'live'), entry(6, 'waitingForNode', { replaces: podName(0) })],
    replaced: [[podName(7), podName(0)]],
  },
  {
    name: 'two lost: two replacements, in status order',
    rdbs: [live],
    prev: [entry(1, 'rolled'), entry(2, 'rolled'), entry(5, 'live')],
    replaced: [
      [podName(6), podName(1)],
      [podName(7), podName(2)],
    ],
  },
  {
    name: 'AWS unreachable: replacement still created',
    rdbs: [live],
    prev: [entry(2, 'rolled'), entry(5, 'live')],
    opts: { asg: 'unknown' },
    replaced: [[podName(6), podName(2)]],
  },
];

describe('planner replacements for lost RDBs', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const actions = plan(world(r.rdbs, { ...r.opts, ...(r.prev ? { poolStatus: { rdbs: r.prev } } : {}) }));
    const replacements = ofKind(actions, 'EnsureRdbPod').filter((a) => a.replaces !== undefined);
    expect(replacements.map((a) => [a.name, a.replaces])).toEqual(r.replaced);
    expect(ofKind(actions, 'DeleteRdbPod').filter((a) => a.reason === 'Lost').map((a) => a.pod)).toEqual(r.deleted ?? []);
    if (r.replaced.length > 0) {
      expect(eventReasons(actions)).toContain('RdbLost');
      expect(condition(actions, 'Degraded')?.status).toBe('True');
    }
  });

  test('status remembers the lost RDB until its replacement is seen, then forgets it', () => {
    const first = plan(world([live], { poolStatus: { rdbs: [entry(2, 'rolled', { firstI: 200, lastI: 300 }), entry(5, 'live')] } }));
    const s1 = statusOf(first)!;
    expect(s1.pools[0]?.rdbs.find((e) => e.name === podName(2))).toMatchObject({ state: 'lost', firstI: 200, lastI: 300 });

    // Crash before the pod create: the next plan creates the same replacement.
    const again = plan(world([live], { status: s1 }));
    expect(ofKind(again, 'EnsureRdbPod').map((a) => [a.name, a.replaces])).toEqual([[podName(6), podName(2)]]);

    // The replacement is seen replaying: nothing more is created, but the window is not replayed yet.
    const seen = plan(world([live, { ord: 6, state: 'replaying', replaces: podName(2) }], { status: s1 }));
    expect(ofKind(seen, 'EnsureRdbPod')).toEqual([]);
    expect(statusOf(seen)?.pools[0]?.rdbs.map((e) => [e.name, e.state])).toEqual([
      [podName(5), 'live'],
      [podName(6), 'replaying'],
      [podName(2), 'lost'],
    ]);
    expect(condition(seen, 'Degraded')?.status).toBe('True');

    // It replayed the window (rolled): the lost entry goes, and Degraded with it.
    const done = plan(world([live, { ord: 6, state: 'rolled', replaces: podName(2) }], { status: statusOf(seen)! }));
    expect(ofKind(done, 'EnsureRdbPod')).toEqual([]);
    expect(statusOf(done)?.pools[0]?.rdbs.map((e) => e.name)).toEqual([podName(5), podName(6)]);
    expect(condition(done, 'Degraded')?.status).toBe('False');
  });

  test('a replacement is asked for the day of the lost window: the live RDB lost after end of day, before it flushed', () => {
    // Status remembers the live RDB of 2026-03-02; the pod is gone.
    const vanished = plan(world([{ ord: 6, state: 'queued' }], { poolStatus: { rdbs: [entry(5, 'live', { firstI: 500, day: '2026-03-02' })] } }));
    expect(ofKind(vanished, 'EnsureRdbPod').filter((a) => a.replaces).map((a) => [a.name, a.replaces, a.replacesDay])).toEqual([
      [podName(7), podName(5), '2026-03-02'],
    ]);
    // Its pod failed (OOM while flushing) with a report of that day.
    const failed = plan(world([{ ord: 5, state: 'flushing', phase: 'Failed', day: '2026-03-02' }, { ord: 6, state: 'live', day: '2026-03-03' }]));
    expect(ofKind(failed, 'EnsureRdbPod').filter((a) => a.replaces).map((a) => [a.replaces, a.replacesDay])).toEqual([[podName(5), '2026-03-02']]);
  });

  test('a replacement lost before it reported passes on the day it was asked for', () => {
    const w = world([{ ord: 6, state: 'none', phase: 'Failed', replaces: podName(5) }, { ord: 7, state: 'live' }]);
    w.pools[POOL]!.pods[0]!.replacesDay = '2026-03-01';
    const actions = plan(w);
    expect(ofKind(actions, 'EnsureRdbPod').filter((a) => a.replaces).map((a) => [a.replaces, a.replacesDay])).toEqual([[podName(5), '2026-03-01']]);
  });

  test('a finished replacement lost in turn is replaced once, as itself: the pod it replaced, still observed, is not replaced again (chaos seed 1366996772)', () => {
    // rdb-0 (live) lost with its node; its pod object stays until podgc. rdb-1 replayed its window (rolled), then was killed.
    const actions = plan(
      world([
        { ord: 0, state: 'live', nodeGone: true, instanceGone: true },
        { ord: 1, state: 'rolled', phase: 'Failed', replaces: podName(0), window: { firstI: 0, lastI: 4775 } },
        { ord: 5, state: 'live' },
      ]),
    );
    expect(ofKind(actions, 'EnsureRdbPod').filter((a) => a.replaces).map((a) => [a.name, a.replaces])).toEqual([[podName(6), podName(1)]]);
    const rdbs = statusOf(actions)!.pools[0]!.rdbs;
    expect(rdbs.find((e) => e.name === podName(0))?.state).toBe('deleting');
    expect(rdbs.find((e) => e.name === podName(1))?.state).toBe('lost');
    // The same once rdb-0's pod is gone and only status remembers rdb-1 replacing it.
    const later = plan(world([{ ord: 1, state: 'rolled', phase: 'Failed', replaces: podName(0), window: { firstI: 0, lastI: 4775 } }, { ord: 5, state: 'live' }], { status: statusOf(actions)! }));
    expect(ofKind(later, 'EnsureRdbPod').filter((a) => a.replaces).map((a) => [a.name, a.replaces])).toEqual([[podName(6), podName(1)]]);
    // And once rdb-1's pod is gone too (force-deleted) while rdb-0's stays until podgc: rdb-0 was replayed, and stays so.
    const gone = plan(world([{ ord: 0, state: 'live', nodeGone: true, instanceGone: true }, { ord: 5, state: 'live' }], { status: statusOf(actions)! }));
    expect(ofKind(gone, 'EnsureRdbPod').filter((a) => a.replaces).map((a) => [a.name, a.replaces])).toEqual([[podName(6), podName(1)]]);
    const rdbs2 = statusOf(gone)!.pools[0]!.rdbs;
    expect(rdbs2.find((e) => e.name === podName(0))?.state).toBe('deleting');
  });

  test('a failed queued RDB is remembered as deleting, so once gone it is not replaced', () => {
    const a = plan(world([{ ord: 2, state: 'queued', phase: 'Failed' }, live]));
    expect(ofKind(a, 'DeleteRdbPod').map((x) => [x.pod, x.reason])).toEqual([[podName(2), 'Failed']]);
    expect(statusOf(a)!.pools[0]!.rdbs.find((e) => e.name === podName(2))?.state).toBe('deleting');
    expect(ofKind(plan(world([live], { status: statusOf(a)! })), 'EnsureRdbPod').filter((x) => x.replaces)).toEqual([]);
  });

  test('a replacement never counts as the queued RDB: scale-out still adds one', () => {
    const actions = plan(world([{ ord: 5, state: 'live', mem: 70 }, { ord: 6, state: 'replaying', replaces: podName(0) }]));
    expect(ofKind(actions, 'EnsureRdbPod').map((a) => [a.name, a.replaces])).toEqual([[podName(7), undefined]]);
  });
});
