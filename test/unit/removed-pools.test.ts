import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { poolSpecFromPod, removedPools } from '../../operator/src/controllers/kdbcluster/removed-pools.ts';
import { rdbPod, rdbPodDisruptionBudget } from '../../operator/src/specs/rdb.ts';

const cluster = (pools: unknown[], status?: unknown) =>
  KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
    spec: { rdbPools: pools, storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
    ...(status ? { status } : {}),
  });

const before = cluster([
  { name: 'main', memory: '1Gi', tables: ['quote'] },
  { name: 'fx', memory: '2Gi', nodeGroup: 'rdb-fx', tables: ['trade'], syms: ['EURUSD', 'GBPUSD'], scaleThreshold: 50, rollThreshold: 70 },
]);
const fxSpec = before.spec.rdbPools[1]!;
const fxPods = [2, 5].map((ordinal) => rdbPod({ cluster: before, pool: fxSpec, ordinal, agentServiceAccount: 'kdb-rdb-agent' }));
const after = cluster([{ name: 'main', memory: '1Gi' }], { pools: [{ name: 'fx', autoScalingGroupName: 'eks-rdb-fx-1' }] });

describe('a pool removed from the spec, as its pods were built', () => {
  test('the pod the operator built gives back the pool it was built from', () => {
    expect(poolSpecFromPod(fxPods[1]!, 'eks-rdb-fx-1')).toMatchObject({
      name: 'fx',
      image: fxSpec.image,
      nodeGroup: 'rdb-fx',
      autoScalingGroupName: 'eks-rdb-fx-1',
      memory: '2Gi',
      scaleThreshold: 50,
      rollThreshold: 70,
      tables: ['trade'],
      syms: ['EURUSD', 'GBPUSD'],
      minRdbs: 0,
    });
  });

  test('a replacement built from it is the pod the pool built, and its PDB still allows no eviction', () => {
    const spec = poolSpecFromPod(fxPods[1]!, undefined)!;
    const again = rdbPod({ cluster: after, pool: spec, ordinal: 5, agentServiceAccount: 'kdb-rdb-agent' });
    expect(again.spec?.containers).toEqual(fxPods[1]!.spec?.containers);
    expect(again.spec?.nodeSelector).toEqual(fxPods[1]!.spec?.nodeSelector);
    expect(rdbPodDisruptionBudget(after, spec).spec?.minAvailable).toBeGreaterThanOrEqual(fxSpec.maxRdbs);
  });

  test('removedPools lists the pools of pods not in the spec, described by their pods', () => {
    const mainPod = rdbPod({ cluster: after, pool: after.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'a' });
    const r = removedPools(after, [mainPod, ...fxPods]);
    expect(r.map((p) => [p.spec.name, p.fromPod])).toEqual([['fx', true]]);
    expect(r[0]?.spec.autoScalingGroupName).toBe('eks-rdb-fx-1');
  });

  test('a removed pool with no pod left but a scale-in in flight is still observed, without a pod spec', () => {
    const rec = { rdb: 'markets-fx-rdb-5', instanceId: 'i-1', step: 'Terminate', startedAt: '2026-03-02T15:00:00Z' };
    const c = cluster([{ name: 'main', memory: '1Gi' }], { pools: [{ name: 'fx', autoScalingGroupName: 'eks-rdb-fx-1', scaleIn: rec }] });
    const r = removedPools(c, []);
    expect(r.map((p) => [p.spec.name, p.fromPod, p.spec.autoScalingGroupName])).toEqual([['fx', false, 'eks-rdb-fx-1']]);
    expect(removedPools(after, [])).toEqual([]);
  });
});
