import { describe, expect, test } from '@jest/globals';
import { plan } from '../../operator/src/planner/plan.ts';
import { drainState } from '../../operator/src/planner/plan-drain.ts';
import type { Observed, ObservedRdbPod } from '../../operator/src/planner/types.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';
import { CLUSTER, DAY, POOL, instanceId, nodeName, ofKind, pod, podName, statusOf, T0, world } from '../fixtures/planner.ts';

/**
 * A pool removed from the spec (here `equities`, while `fx` stays) drains:
 * no scale-out, its flushed RDBs scaled in the normal way, lost ones still
 * replaced while the day they held is owed, the day's merge waiting for it,
 * and, once it flushed its last day, every RDB left removed; then it is gone.
 */
const NEXT = '2026-03-03';
const FX = 'fx';
const fxPodName = `${CLUSTER}-${FX}-rdb-0`;

/** `equities` as the world fixture builds it, then taken out of the spec; `fx` has one live RDB on its own node. */
const removed = (rdbs: RdbSketch[], o: WorldOptions = {}, fx: Partial<ObservedRdbPod['rdb']> = {}): Observed => {
  const w = world(rdbs, o);
  const eq = w.cluster.spec.rdbPools[0]!;
  const eqPool = w.pools[POOL]!;
  const asg = typeof eqPool.asg === 'object' ? eqPool.asg : undefined;
  const fxBase = pod({ ord: 90, state: 'live' });
  const fxPod: ObservedRdbPod = { ...fxBase, name: fxPodName, uid: `uid-${fxPodName}`, rdb: { ...fxBase.rdb!, ...fx } };
  const fxAsg = asg
    ? { ...asg, instances: [...asg.instances, { instanceId: instanceId(90), lifecycleState: 'InService', protectedFromScaleIn: true, zone: 'us-east-1a' }], desired: asg.desired + 1 }
    : eqPool.asg;
  return {
    ...w,
    cluster: { ...w.cluster, spec: { ...w.cluster.spec, rdbPools: [{ ...eq, name: FX }] } },
    pools: {
      [POOL]: { ...eqPool, asg: fxAsg, removedPoolSpec: { ...eq, minRdbs: 0 } },
      [FX]: {
        asg: fxAsg,
        nodes: [{ name: nodeName(90), instanceId: instanceId(90), ready: true, unschedulable: false, annotations: { ...eqPool.nodes[0]?.annotations } }],
        pods: [fxPod],
      },
    },
  };
};

const created = (o: Observed) => ofKind(plan(o), 'EnsureRdbPod');
const scaleInOf = (o: Observed) => ofKind(plan(o), 'RecordScaleInStep').find((a) => a.pool === POOL)?.record;
const poolStatusOf = (o: Observed, name = POOL) => statusOf(plan(o))?.pools.find((p) => p.name === name);
const drainingRecorded = { poolStatus: { draining: { since: '2026-03-02T12:00:00.000Z', day: DAY } } };

describe('a pool removed from the spec drains', () => {
  test('mid-day: nothing new (no scale-out even past scaleThreshold), nothing removed, status says draining', () => {
    const o = removed([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', mem: 75 }]);
    expect(created(o)).toEqual([]);
    expect(scaleInOf(o)).toBeUndefined();
    expect(ofKind(plan(o), 'DeleteRdbPod')).toEqual([]);
    const ps = poolStatusOf(o);
    expect(ps?.draining).toEqual({ since: T0.toISOString(), day: DAY });
    expect(ps?.rdbs.map((r) => r.name)).toEqual([podName(0), podName(1)]);
    // The pool serves no queue any more: the cluster stays Ready on fx.
    expect(statusOf(plan(o))?.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  test('its RDBs stay protected while they drain', () => {
    const o = removed([{ ord: 0, state: 'rolled', protected: false }, { ord: 1, state: 'live' }]);
    const protect = ofKind(plan(o), 'SetInstanceProtection').filter((a) => a.protect);
    expect(protect.flatMap((a) => a.instanceIds)).toContain(instanceId(0));
  });

  test('a flushed RDB is scaled in the normal way; the live one, which has not flushed the last day, stays', () => {
    const o = removed([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live' }], drainingRecorded);
    expect(scaleInOf(o)).toMatchObject({ rdb: podName(0), instanceId: instanceId(0), step: 'DeletePod' });
  });

  test('once every RDB flushed the last day, the drain is done and the live one is removed too', () => {
    const o = removed(
      [{ ord: 1, state: 'live', day: NEXT, flushedDays: [DAY], mem: 5 }],
      drainingRecorded,
    );
    expect(scaleInOf(o)).toMatchObject({ rdb: podName(1), step: 'DeletePod' });
    expect(ofKind(plan(o), 'DeleteRdbPod').map((a) => a.pod)).toEqual([podName(1)]);
  });

  test('the drain day stays as recorded while the RDBs move on, and the drain is then remembered done', () => {
    const o = removed([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'live', day: NEXT, flushedDays: [DAY] }], drainingRecorded);
    expect(poolStatusOf(o)?.draining).toMatchObject({ day: DAY });
    expect(poolStatusOf(o)?.draining?.done).toBeUndefined();
    const done = removed([{ ord: 1, state: 'live', day: NEXT, flushedDays: [DAY] }], drainingRecorded);
    expect(poolStatusOf(done)?.draining).toMatchObject({ day: DAY, done: true });
  });

  test('first seen after end of day, the drain serves the newest day its RDBs report', () => {
    const o = removed([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live', day: NEXT, flushedDays: [DAY] }]);
    expect(poolStatusOf(o)?.draining).toEqual({ since: T0.toISOString(), day: NEXT });
    // The flushed spare goes; the live RDB holds NEXT and stays until it flushed it.
    expect(scaleInOf(o)).toMatchObject({ rdb: podName(0) });
  });

  test('a lost RDB is replaced from the pool as its pods were built, while its day is owed', () => {
    const o = removed([{ ord: 0, state: 'rolled', phase: 'Failed' }, { ord: 1, state: 'live' }], drainingRecorded);
    const made = created(o);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ pool: POOL, replaces: podName(0), poolSpec: { name: POOL, memory: '1Gi', nodeGroup: 'rdb' } });
  });

  test('without a pod to copy, a lost RDB is not replaced but stays lost (Degraded, merge held)', () => {
    const base = removed([{ ord: 0, state: 'rolled', phase: 'Failed' }, { ord: 1, state: 'live' }], drainingRecorded);
    const { removedPoolSpec: _gone, ...eqPool } = base.pools[POOL]!;
    const o: Observed = { ...base, pools: { ...base.pools, [POOL]: eqPool } };
    expect(created(o)).toEqual([]);
    expect(poolStatusOf(o)?.rdbs.find((r) => r.name === podName(0))?.state).toBe('lost');
    expect(statusOf(plan(o))?.conditions.find((c) => c.type === 'Degraded')?.status).toBe('True');
  });

  test('after the drain is done a lost RDB is deleted, not replaced, and not remembered once gone', () => {
    const done = { poolStatus: { draining: { since: '2026-03-02T12:00:00.000Z', day: DAY, done: true } } };
    const failed = removed([{ ord: 1, state: 'live', day: NEXT, flushedDays: [DAY], phase: 'Failed' }], done);
    expect(created(failed)).toEqual([]);
    expect(ofKind(plan(failed), 'DeleteRdbPod').map((a) => a.pod)).toEqual([podName(1)]);
    const gone = removed([{ ord: 1, podGone: true }], {
      poolStatus: { ...done.poolStatus, rdbs: [{ name: podName(1), state: 'live', node: nodeName(1), firstI: 100 }] },
    });
    expect(created(gone)).toEqual([]);
    expect(poolStatusOf(gone)?.rdbs ?? []).toEqual([]);
  });

  test('the merge of its last day waits for it', () => {
    const fxFlushed = { state: 'live' as const, day: NEXT, flushedDays: [DAY] };
    const waiting = removed([{ ord: 1, state: 'live' }], drainingRecorded, fxFlushed);
    expect(ofKind(plan(waiting), 'EnsureMergeJob')).toEqual([]);
    expect(statusOf(plan(waiting))?.mergePending).toContain(podName(1));

    const flushed = removed([{ ord: 1, state: 'live', day: NEXT, flushedDays: [DAY] }], drainingRecorded, fxFlushed);
    expect(ofKind(plan(flushed), 'EnsureMergeJob').map((a) => a.day)).toEqual([DAY]);
  });

  test('a drain whose day is unknown holds every merge', () => {
    const fxFlushed = { state: 'live' as const, day: NEXT, flushedDays: [DAY] };
    const o = removed([{ ord: 1, state: 'none' }], {}, fxFlushed);
    expect(ofKind(plan(o), 'EnsureMergeJob')).toEqual([]);
  });

  test('the days after its last one do not wait for it', () => {
    const fxFlushed = { state: 'live' as const, day: '2026-03-04', flushedDays: [NEXT] };
    const o = removed([{ ord: 1, state: 'live', day: NEXT }], { ...drainingRecorded, status: { mergedDay: DAY } }, fxFlushed);
    expect(ofKind(plan(o), 'EnsureMergeJob').map((a) => a.day)).toEqual([NEXT]);
  });

  test('a scale-in in flight goes on to the end', () => {
    const rec = { rdb: podName(0), instanceId: instanceId(0), node: nodeName(0), step: 'Terminate' as const, startedAt: T0.toISOString() };
    const o = removed([{ ord: 0, podGone: true, protected: false }], { ...drainingRecorded, scaleIn: rec });
    expect(ofKind(plan(o), 'TerminateInstanceInGroup').map((a) => a.instanceId)).toEqual([instanceId(0)]);
  });

  test('with no pod, scale-in or lost window left, the pool is gone from status', () => {
    const o = removed([], drainingRecorded);
    expect(poolStatusOf(o)).toBeUndefined();
    expect(statusOf(plan(o))?.pools.map((p) => p.name)).toEqual([FX]);
  });

  test('drainState: done only when no RDB can still add to the last day', () => {
    const w = world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'live' }]);
    expect(drainState(w.pools[POOL]!, undefined, T0)).toEqual({ since: T0.toISOString(), day: DAY, done: false });
    const done = world([{ ord: 1, state: 'live', day: NEXT, flushedDays: [DAY] }]);
    const prev = { name: POOL, queued: [], rolled: [], rdbs: [], draining: { since: T0.toISOString(), day: DAY } };
    expect(drainState(done.pools[POOL]!, prev, T0).done).toBe(true);
    // A lost RDB still owed keeps it from being done.
    const lost = world([{ ord: 1, state: 'live', phase: 'Failed' }]);
    expect(drainState(lost.pools[POOL]!, prev, T0).done).toBe(false);
    const never = world([{ ord: 0, node: null }]);
    expect(drainState(never.pools[POOL]!, undefined, T0)).toMatchObject({ day: undefined, done: true });
  });
});
