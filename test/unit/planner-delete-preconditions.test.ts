import { describe, expect, test } from '@jest/globals';
import type { ScaleInRecord } from '../../operator/src/api/kdbcluster.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { instanceId, kinds, nodeName, ofKind, podName, world } from '../fixtures/planner.ts';
import type { RdbSketch } from '../fixtures/planner.ts';

const live: RdbSketch = { ord: 5, state: 'live', mem: 10 };
const atDeletePod: ScaleInRecord = {
  rdb: podName(0),
  instanceId: instanceId(0),
  node: nodeName(0),
  step: 'DeletePod',
  startedAt: '2026-03-02T14:59:00.000Z',
};

describe('a scale-in delete holds only for the pod the plan saw', () => {
  test('starting a scale-in: the delete carries the victim pod uid and resourceVersion', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', resourceVersion: '4711' }, live]));
    expect(ofKind(actions, 'DeleteRdbPod')).toEqual([
      { kind: 'DeleteRdbPod', pool: 'equities', pod: podName(0), reason: 'ScaleIn', precondition: { uid: `uid-${podName(0)}`, resourceVersion: '4711' } },
    ]);
  });

  test('resumed at DeletePod after the pod changed: the delete names the version seen now, not the one recorded', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', resourceVersion: '4800' }, live], { scaleIn: atDeletePod }));
    expect(ofKind(actions, 'DeleteRdbPod').map((a) => a.reason === 'ScaleIn' && a.precondition)).toEqual([
      { uid: `uid-${podName(0)}`, resourceVersion: '4800' },
    ]);
  });

  test('a victim observed without uid or resourceVersion is not deleted: the chain waits', () => {
    const o = world([{ ord: 0, state: 'flushed' }, live], { scaleIn: atDeletePod });
    const pods = o.pools.equities!.pods;
    for (const field of ['uid', 'resourceVersion'] as const) {
      const bare = { ...o, pools: { equities: { ...o.pools.equities!, pods: pods.map((p) => (p.name === podName(0) ? { ...p, [field]: undefined } : p)) } } };
      const actions = plan(bare);
      expect(ofKind(actions, 'DeleteRdbPod')).toEqual([]);
      expect(kinds(actions)).toEqual(['CordonNode']);
      expect(ofKind(actions, 'RequeueAfter')[0]?.ms).toBeLessThanOrEqual(2_000);
    }
  });

  test('across many pools of flushed RDBs, every scale-in delete names the observed pod exactly', () => {
    for (let n = 1; n <= 6; n++) {
      const rdbs: RdbSketch[] = [...Array.from({ length: n }, (_, i): RdbSketch => ({ ord: i, state: 'flushed', resourceVersion: String(100 + i) })), { ...live, ord: n }];
      const o = world(rdbs);
      const deletes = ofKind(plan(o), 'DeleteRdbPod');
      // Every flushed RDB goes at once, each in its own chain.
      expect(deletes).toHaveLength(n);
      for (const d of deletes) {
        const seen = o.pools.equities!.pods.find((p) => p.name === d.pod)!;
        expect(d.reason).toBe('ScaleIn');
        if (d.reason === 'ScaleIn') expect(d.precondition).toEqual({ uid: seen.uid, resourceVersion: seen.resourceVersion });
      }
    }
  });
});
