import { describe, expect, test } from '@jest/globals';
import type { RdbState } from '../../operator/src/api/rdb-status.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { QUEUED_ROLL_MARGIN } from '../../operator/src/planner/plan-updates.ts';
import { isActive, isLive, podHeldData } from '../../operator/src/planner/rdbs.ts';
import { isSafeMoment } from '../../operator/src/planner/safe-moment.ts';
import type { Observed } from '../../operator/src/planner/types.ts';
import { ofKind, podName, POOL, world } from '../fixtures/planner.ts';
import type { RdbSketch } from '../fixtures/planner.ts';

// Seeded random pools whose pods carry random spec hashes, at random
// instants: whatever the state, spec.updates never costs data and never
// restarts the tickerplant outside a safe moment.
const rng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

const STATES: (RdbState | 'none')[] = ['none', 'queued', 'queued', 'replaying', 'live', 'rolled', 'flushing', 'flushed'];
const HASHES = ['old0000000000000', 'new0000000000000', undefined] as const;
const DESIRED = 'new0000000000000';

const randomWorld = (seed: number): Observed => {
  const r = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const n = Math.floor(r() * 7);
  const rdbs: RdbSketch[] = [];
  const hashes = new Map<string, string | undefined>();
  for (let ord = 0; ord < n; ord++) {
    rdbs.push({
      ord,
      state: pick(STATES),
      mem: Math.floor(r() * 100),
      ...(chance(0.15) ? { node: null } : {}),
      ...(chance(0.1) ? { phase: 'Failed' as const } : {}),
      ...(chance(0.1) ? { deleting: true } : {}),
      ...(chance(0.1) ? { replaces: podName(20 + ord) } : {}),
      ...(chance(0.1) ? { notReady: true } : {}),
    });
    hashes.set(podName(ord), pick(HASHES));
  }
  // Any instant of a week around a DST change, and any policy.
  const now = new Date(Date.parse('2026-03-05T00:00:00Z') + Math.floor(r() * 7 * 96) * 15 * 60_000);
  const updates = pick([{}, { apply: 'Immediate' }, { maintenanceWindow: { start: '12:00', end: '13:30' } }]);
  const running = pick(HASHES);
  const w = world(rdbs, {
    now,
    spec: { updates },
    pool: { scaleThreshold: 60, rollThreshold: 80, minRdbs: 1 + Math.floor(r() * 2), maxRdbs: 8 },
    ...(chance(0.3) ? { generation: 2 } : {}),
    tickerplant: { statefulSet: { ready: true }, service: chance(0.9), ...(running ? { templateHash: running } : {}), desiredTemplateHash: DESIRED },
  });
  const pool = w.pools[POOL]!;
  return {
    ...w,
    pools: {
      [POOL]: {
        ...pool,
        desiredPodHash: DESIRED,
        pods: pool.pods.map((p) => {
          const h = hashes.get(p.name);
          return h ? { ...p, specHash: h } : p;
        }),
      },
    },
  };
};

const SEEDS = Array.from({ length: 600 }, (_, i) => i + 1);

describe('spec.updates properties over random states', () => {
  // A property no state exercises proves nothing: the seeds reach each rule often.
  test('the seeds exercise every rule', () => {
    const plans = SEEDS.map((s) => plan(randomWorld(s)));
    const count = (f: (a: ReturnType<typeof plan>) => boolean) => plans.filter(f).length;
    const outdatedDeletes = count((a) => ofKind(a, 'DeleteRdbPod').some((d) => d.reason === 'Outdated'));
    const held = count((a) => ofKind(a, 'UpdateStatus')[0]?.status.pendingChanges?.some((c) => c.component === 'tickerplant') === true);
    const applied = count((a) => ofKind(a, 'EnsureTickerplant').some((e) => e.reason === 'TemplateChanged'));
    const poolPending = count((a) => ofKind(a, 'UpdateStatus')[0]?.status.pendingChanges?.some((c) => c.component.startsWith('pool/')) === true);
    expect({ outdatedDeletes, held, applied, poolPending }).toEqual({
      outdatedDeletes: expect.any(Number),
      held: expect.any(Number),
      applied: expect.any(Number),
      poolPending: expect.any(Number),
    });
    for (const n of [outdatedDeletes, held, applied, poolPending]) expect(n).toBeGreaterThanOrEqual(10);
  });

  test.each(SEEDS)('seed %i', (seed) => {
    const o = randomWorld(seed);
    const actions = plan(o);
    const pods = o.pools[POOL]!.pods;

    const outdated = ofKind(actions, 'DeleteRdbPod').filter((a) => a.reason === 'Outdated');
    expect(outdated.length).toBeLessThanOrEqual(1);
    for (const d of outdated) {
      const p = pods.find((x) => x.name === d.pod)!;
      // Built from an older spec, as seen, and holding nothing.
      expect(p.specHash).toBeDefined();
      expect(p.specHash).not.toBe(DESIRED);
      expect(d.precondition).toEqual({ uid: p.uid, resourceVersion: p.resourceVersion });
      expect(isActive(p)).toBe(true);
      expect(isLive(p)).toBe(false);
      expect(podHeldData(p)).toBe(false);
      expect(p.replaces).toBeUndefined();
      // Never ran, or queued while the live RDB is far from its roll.
      if (p.node !== undefined) {
        expect(p.rdb?.state).toBe('queued');
        const live = pods.filter(isActive).find(isLive);
        expect(live?.rdb?.memoryPercent).toBeLessThanOrEqual(80 - QUEUED_ROLL_MARGIN);
      } else {
        expect(p.rdb).toBeUndefined();
      }
      // Nothing else of the pool is on its way out in the same breath.
      expect(ofKind(actions, 'DeleteRdbPod').filter((a) => a.pod !== d.pod)).toEqual([]);
    }
    // Only outdated pods are ever named pending; pods of an older operator (no hash) never are.
    for (const c of (ofKind(actions, 'UpdateStatus')[0]?.status.pendingChanges ?? []).filter((x) => x.component.startsWith('pool/'))) {
      for (const name of c.rdbs ?? []) expect(pods.find((p) => p.name === name)?.specHash).toBe('old0000000000000');
    }

    // The tickerplant's template is written only at a safe moment, when it differs.
    const t = o.tickerplant;
    const differs = t.templateHash !== DESIRED;
    const writesTemplate = ofKind(actions, 'EnsureTickerplant').some((a) => a.keepStatefulSet !== true);
    if (differs && writesTemplate) expect(isSafeMoment(o.now, o.cluster.spec.tickerplant.endOfDay, o.cluster.spec.updates)).toBe(true);
  });
});
