import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { rdbThresholdsOf } from '../../operator/src/controllers/kdbcluster/rdb-thresholds.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { scaleThresholdFor } from '../../operator/src/planner/plan-scale-out.ts';
import type { Observed } from '../../operator/src/planner/types.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { day, eventReasons, ofKind, podName, POOL, world } from '../fixtures/planner.ts';

/**
 * Thresholds reach new RDBs only (they are in each RDB's environment). A
 * running live RDB rolls at the threshold it was started with, so the planner
 * scales out on the live RDB's own scaleThreshold when it is lower than the
 * spec's: raising scaleThreshold must never let it roll with nothing queued.
 */
const withLiveThresholds = (o: Observed, thresholds: { scale: number; roll: number } | undefined): Observed => {
  const pods = o.pools[POOL]!.pods.map((p) => (p.rdb?.state === 'live' && thresholds ? { ...p, thresholds } : p));
  return { ...o, pools: { ...o.pools, [POOL]: { ...o.pools[POOL]!, pods } } };
};
const created = (o: Observed): string[] => ofKind(plan(o), 'EnsureRdbPod').map((a) => a.name);

describe('scale-out on the live RDB\'s own thresholds', () => {
  test.each([
    // spec raised to 85/90 while the live RDB was started with 60/80: at 70% it rolls at 80, so scale out now
    { name: 'spec raised above the live RDB\'s', spec: { scaleThreshold: 85, rollThreshold: 90 }, live: { scale: 60, roll: 80 }, mem: 70, creates: true },
    { name: 'spec raised, live RDB below its own threshold', spec: { scaleThreshold: 85, rollThreshold: 90 }, live: { scale: 60, roll: 80 }, mem: 59, creates: false },
    { name: 'spec lowered: the spec\'s, earlier', spec: { scaleThreshold: 40, rollThreshold: 50 }, live: { scale: 60, roll: 80 }, mem: 45, creates: true },
    { name: 'same thresholds', spec: {}, live: { scale: 60, roll: 80 }, mem: 60, creates: true },
    { name: 'a pod without thresholds: the spec\'s', spec: { scaleThreshold: 85, rollThreshold: 90 }, live: undefined, mem: 70, creates: false },
  ])('$name', ({ spec, live, mem, creates }) => {
    const o = withLiveThresholds(world(day(1, mem), { pool: spec }), live);
    expect(created(o)).toEqual(creates ? [podName(2)] : []);
    if (creates) expect(eventReasons(plan(o))).toContain('ScaleOut');
  });

  test('the threshold used is never above the live RDB\'s own roll threshold', () => {
    for (let specScale = 1; specScale < 99; specScale++) {
      for (const own of [{ scale: 10, roll: 20 }, { scale: 60, roll: 80 }, { scale: 97, roll: 98 }]) {
        expect(scaleThresholdFor(specScale, { thresholds: own })).toBeLessThan(own.roll);
      }
    }
  });
});

describe('the thresholds a pod was started with', () => {
  const cluster = KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
    spec: {
      rdbPools: [{ name: 'main', memory: '512Mi', scaleThreshold: 55, rollThreshold: 75 }],
      storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
    },
  });

  test('are read back from the pod the operator builds', () => {
    const pod = rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 1, agentServiceAccount: 'kdb-rdb-agent' });
    expect(rdbThresholdsOf(pod)).toEqual({ thresholds: { scale: 55, roll: 75 } });
  });

  test.each([
    ['missing', []],
    ['not numbers', [{ name: 'KDB_SCALE_THRESHOLD', value: 'x' }, { name: 'KDB_ROLL_THRESHOLD', value: '80' }]],
    ['scale not below roll', [{ name: 'KDB_SCALE_THRESHOLD', value: '80' }, { name: 'KDB_ROLL_THRESHOLD', value: '80' }]],
    ['out of range', [{ name: 'KDB_SCALE_THRESHOLD', value: '0' }, { name: 'KDB_ROLL_THRESHOLD', value: '100' }]],
  ])('are absent when %s', (_what, env) => {
    expect(rdbThresholdsOf({ spec: { containers: [{ name: 'rdb', env }] } })).toEqual({});
  });
});
