import { describe, expect, test } from '@jest/globals';
import { mergeConditions } from '../../operator/src/planner/conditions.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { condition, day, eventReasons, kinds, ofKind, podName, POOL, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

describe('phase', () => {
  const rows: [string, RdbSketch[], WorldOptions, string][] = [
    ['nothing exists yet: Pending', [], { tickerplant: { statefulSet: 'missing', service: false }, status: { phase: undefined } }, 'Pending'],
    ['tickerplant starting: Provisioning', [], { tickerplant: { statefulSet: { ready: false }, service: true }, status: { phase: 'Pending' } }, 'Provisioning'],
    ['first RDB not live yet: Provisioning', [{ ord: 0, state: 'queued' }], { status: { phase: 'Provisioning' } }, 'Provisioning'],
    ['live RDB, all steady: Running', day(1, 30), {}, 'Running'],
    ['a pod waits for a node: ScalingOut', [...day(1, 70), { ord: 2, node: null }], { asg: { desired: 3 } }, 'ScalingOut'],
    ['scale-in in flight: ScalingIn', [{ ord: 0, state: 'flushed' }, ...day(0, 10).map((r) => ({ ...r, ord: 1 }))], {}, 'ScalingIn'],
    ['a lost RDB: Degraded', day(0, 30), { poolStatus: { rdbs: [{ name: podName(7), state: 'rolled' }] } }, 'Degraded'],
    ['no ASG found: Degraded', day(0, 30), { asg: 'missing' }, 'Degraded'],
    ['EFS not found: Degraded', day(0, 30), { storage: { efs: 'missing' } }, 'Degraded'],
    ['tickerplant down after running: Degraded', day(0, 30), { tickerplant: { statefulSet: { ready: false }, service: true } }, 'Degraded'],
    ['being deleted: Deleting', day(0, 30), { deleting: true }, 'Deleting'],
  ];
  test.each(rows)('%s', (_name, rdbs, opts, phase) => {
    const actions = plan(world(rdbs, opts));
    const status = statusOf(actions) ?? world(rdbs, opts).cluster.status;
    expect(status?.phase).toBe(phase);
  });
});

describe('status content', () => {
  test('pool status: live, queued, rolled windows, rdbs with nodes and instances; printer summary', () => {
    const actions = plan(world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: 42 }, { ord: 2, state: 'queued' }]));
    const s = statusOf(actions)!;
    expect(s.liveRdb).toBe(podName(1));
    expect(s.rdbCount).toBe(3);
    expect(s.desiredNodes).toBe(3);
    expect(s.observedGeneration).toBe(1);
    const p = s.pools[0]!;
    expect(p).toMatchObject({ name: 'equities', live: podName(1), queued: [podName(2)], desiredCapacity: 3, nextOrdinal: 3 });
    expect(p.rolled).toEqual([{ name: podName(0), firstI: 0, lastI: 100 }]);
    expect(p.rdbs[1]).toEqual({
      name: podName(1),
      node: 'ip-10-0-0-1.ec2.internal',
      instanceId: 'i-00000000000000001',
      state: 'live',
      memoryPercent: 42,
      firstI: 100,
      // Status remembers the day of each window: a replacement after end of day replays that day's log.
      day: '2026-03-02',
    });
    expect(condition(actions, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 1 });
  });

  test('an RDB that reports a data-plane error makes the cluster Degraded, naming it, with a Warning event', () => {
    const w = world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live' }]);
    w.pools[POOL]!.pods[0]!.rdb!.error = { reason: 'WindowPastLog', message: 'the window (0, 100] needs messages 31..40, which the tickerplant log lost' };
    const actions = plan(w);
    expect(condition(actions, 'Degraded')).toMatchObject({ status: 'True' });
    expect(condition(actions, 'Degraded')?.message).toContain(`RDB ${podName(0)} WindowPastLog: the window (0, 100] needs messages 31..40`);
    expect(eventReasons(actions)).toContain('Degraded');
    expect(condition(plan(world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live' }])), 'Degraded')?.status).toBe('False');
  });

  test('a second plan on its own output writes no status (no churn)', () => {
    const o = world(day(1, 30), { status: { phase: 'Running', conditions: [] } });
    const first = statusOf(plan(o))!;
    const second = plan(world(day(1, 30), { status: first }));
    expect(ofKind(second, 'UpdateStatus')).toEqual([]);
    expect(kinds(second)).toEqual([]);
  });

  test('lastTransitionTime moves only on a flip', () => {
    const t1 = new Date('2026-03-02T15:00:00Z');
    const t2 = new Date('2026-03-02T15:05:00Z');
    const a = mergeConditions([], [{ type: 'Ready', status: 'False', reason: 'NoLiveRdb', message: 'x' }], t1, 1);
    const b = mergeConditions(a, [{ type: 'Ready', status: 'False', reason: 'TickerplantNotReady', message: 'y' }], t2, 2);
    expect(b[0]).toMatchObject({ lastTransitionTime: t1.toISOString(), reason: 'TickerplantNotReady', observedGeneration: 2 });
    const c = mergeConditions(b, [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'z' }], t2, 2);
    expect(c[0]?.lastTransitionTime).toBe(t2.toISOString());
  });

  test('conditions of other types are kept', () => {
    const kept = { type: 'Custom', status: 'True' as const, lastTransitionTime: 't', reason: 'R', message: 'm' };
    expect(mergeConditions([kept], [], new Date(0), 1)).toEqual([kept]);
  });

  test('every condition type is computed', () => {
    const s = statusOf(plan(world(day(0, 30), { status: { conditions: [] } })))!;
    expect(s.conditions.map((c) => c.type).sort()).toEqual(
      ['AwsUnavailable', 'CapacityLimited', 'ChangesPending', 'Degraded', 'Hibernated', 'NodeGroupOwnedByAnother', 'NodeGroupUnresolved', 'Ready', 'ScalingIn', 'ScalingOut', 'StorageReady'].sort(),
    );
    for (const c of s.conditions) expect(c.reason).toMatch(/^[A-Z][A-Za-z]*$/);
  });
});

describe('storage and tickerplant', () => {
  const rows: [string, WorldOptions, string[], string][] = [
    ['volumes missing: make them', { storage: { logVolume: false } }, ['EnsureStorageVolumes'], 'VolumesPending'],
    [
      'access point wanted and missing: create it first',
      { spec: { storage: { efs: { fileSystemId: 'fs-12345678', accessPoint: { create: true } } } }, storage: { logVolume: false, hdbVolume: false } },
      ['EnsureEfsAccessPoint'],
      'CreatingAccessPoint',
    ],
    [
      'access point known: volumes use it',
      {
        spec: { storage: { efs: { fileSystemId: 'fs-12345678', accessPoint: { create: true } } } },
        storage: { efs: { lifeCycleState: 'available', accessPointId: 'fsap-1' }, logVolume: false },
      },
      ['EnsureStorageVolumes'],
      'VolumesPending',
    ],
    ['EFS not found: nothing, say so', { storage: { efs: 'missing', logVolume: false } }, [], 'EfsNotFound'],
    ['AWS unreachable: volumes from the id alone', { storage: { efs: 'unknown', logVolume: false } }, ['EnsureStorageVolumes'], 'VolumesPending'],
    ['all there: nothing', {}, [], 'VolumesBound'],
  ];
  test.each(rows)('%s', (_name, opts, expected, reason) => {
    const actions = plan(world(day(0, 30), opts));
    expect(kinds(actions).filter((k) => k.startsWith('EnsureStorage') || k === 'EnsureEfsAccessPoint')).toEqual(expected);
    expect(condition(actions, 'StorageReady')?.reason).toBe(reason);
  });

  test('access point volumes carry its id', () => {
    const actions = plan(
      world(day(0, 30), {
        spec: { storage: { efs: { fileSystemId: 'fs-12345678', accessPoint: { create: true } } } },
        storage: { efs: { lifeCycleState: 'available', accessPointId: 'fsap-1' }, logVolume: false },
      }),
    );
    expect(ofKind(actions, 'EnsureStorageVolumes')).toEqual([{ kind: 'EnsureStorageVolumes', fileSystemId: 'fs-12345678', accessPointId: 'fsap-1' }]);
  });

  test.each([
    ['missing', { tickerplant: { statefulSet: 'missing' as const, service: false } }, 'StatefulSetMissing'],
    ['service missing', { tickerplant: { statefulSet: { ready: true }, service: false } }, 'ServiceMissing'],
    ['spec changed', { generation: 2, status: { observedGeneration: 1 } }, 'SpecChanged'],
  ])('tickerplant %s: EnsureTickerplant', (_name, opts, reason) => {
    expect(ofKind(plan(world(day(0, 30), opts)), 'EnsureTickerplant')).toEqual([{ kind: 'EnsureTickerplant', reason }]);
  });

  test('tickerplant steady: no write', () => {
    expect(ofKind(plan(world(day(0, 30))), 'EnsureTickerplant')).toEqual([]);
  });
});

describe('requeue', () => {
  test.each([
    ['steady', world(day(0, 30)), 60_000],
    ['waiting for a node', world([...day(0, 70), { ord: 1, node: null }], { asg: { desired: 2 } }), 10_000],
    ['AWS down', world(day(0, 30), { asg: 'unknown' }), 15_000],
    ['scale-in step in flight', world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live' }]), 2_000],
  ])('%s', (_name, o, ms) => {
    const r = ofKind(plan(o), 'RequeueAfter');
    expect(r).toEqual([{ kind: 'RequeueAfter', ms }]);
  });

  test('RequeueAfter is the last action', () => {
    expect(plan(world(day(1, 70))).at(-1)?.kind).toBe('RequeueAfter');
  });
});
