import { describe, expect, test } from '@jest/globals';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Observed } from '../../operator/src/planner/types.ts';
import { condition, day, eventReasons, kinds, ofKind, podName, statusOf, world } from '../fixtures/planner.ts';

interface Row {
  name: string;
  o: Observed;
  /** Names of RDB pods created, in order. */
  creates: string[];
  /** SetDesiredCapacity value, or null when none is written. */
  desired: number | null;
  limited?: 'MaxRdbsReached' | 'AsgMaxSizeReached';
}

const rows: Row[] = [
  { name: 'live below scaleThreshold: nothing', o: world(day(1, 59)), creates: [], desired: null },
  { name: 'live at scaleThreshold: the next RDB and a node for it', o: world(day(1, 60)), creates: [podName(2)], desired: 3 },
  {
    name: 'custom scaleThreshold is honoured',
    o: world(day(0, 45), { pool: { scaleThreshold: 40, rollThreshold: 70 } }),
    creates: [podName(1)],
    desired: 2,
  },
  {
    name: 'one already queued: never two',
    o: world([...day(1, 75), { ord: 2, state: 'queued' }]),
    creates: [],
    desired: null,
  },
  {
    name: 'one waiting for a node: never two',
    o: world([...day(1, 75), { ord: 2, node: null }], { asg: { desired: 3 } }),
    creates: [],
    desired: null,
  },
  {
    name: 'one started but not reporting yet: never two',
    o: world([...day(1, 75), { ord: 2, state: 'none' }]),
    creates: [],
    desired: null,
  },
  {
    name: 'a pod waits for a node the ASG does not have yet: desired from state, not read+1',
    o: world([...day(1, 75), { ord: 2, node: null }], { asg: { desired: 1 } }),
    creates: [],
    desired: 3,
  },
  {
    name: 'desired above what pods need is never lowered',
    o: world(day(1, 30), { asg: { desired: 5 } }),
    creates: [],
    desired: null,
  },
  {
    name: 'stale low desired with a new pod: max(observed, pods), not observed+1',
    o: world(day(3, 70), { asg: { desired: 1 } }),
    creates: [podName(4)],
    desired: 5,
  },
  {
    name: 'maxRdbs reached: no pod, CapacityLimited',
    o: world(day(1, 70), { pool: { maxRdbs: 2 } }),
    creates: [],
    desired: null,
    limited: 'MaxRdbsReached',
  },
  {
    name: 'ASG MaxSize reached: no pod, CapacityLimited',
    o: world(day(1, 70), { asg: { max: 2 } }),
    creates: [],
    desired: null,
    limited: 'AsgMaxSizeReached',
  },
  {
    name: 'empty pool: the first RDB',
    o: world([], { asg: { desired: 0 } }),
    creates: [podName(0)],
    desired: 1,
  },
  {
    name: 'minRdbs 3: pods up to the minimum at once',
    o: world(day(0, 10), { pool: { minRdbs: 3 } }),
    creates: [podName(1), podName(2)],
    desired: 3,
  },
  {
    name: 'minRdbs wins over "never two queued" but counts what exists',
    o: world([{ ord: 0, state: 'live', mem: 70 }, { ord: 1, state: 'queued' }], { pool: { minRdbs: 2 } }),
    creates: [],
    desired: null,
  },
  {
    name: 'live rolled and the queued one is replaying: it is taking over, nothing to add',
    o: world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'replaying' }]),
    creates: [],
    desired: null,
  },
  {
    name: 'live rolled with nobody queued: one to become live',
    o: world([{ ord: 0, state: 'rolled' }, { ord: 1, state: 'rolled' }]),
    creates: [podName(2)],
    desired: 3,
  },
  {
    name: 'ordinals are never reused (status remembers the highest seen)',
    o: world(day(0, 65), { poolStatus: { nextOrdinal: 7 } }),
    creates: [podName(7)],
    desired: 2,
  },
  {
    name: 'no tickerplant yet: no RDB pods',
    o: world([], { tickerplant: { statefulSet: 'missing', service: false }, asg: { desired: 0 } }),
    creates: [],
    desired: null,
  },
  {
    name: 'being deleted: no RDB pods',
    o: world(day(0, 90), { deleting: true }),
    creates: [],
    desired: null,
  },
  {
    name: 'AWS unreachable: the pod is still created, desired waits',
    o: world(day(0, 70), { asg: 'unknown' }),
    creates: [podName(1)],
    desired: null,
  },
];

describe('planner scale-out', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const actions = plan(r.o);
    expect(ofKind(actions, 'EnsureRdbPod').map((a) => a.name)).toEqual(r.creates);
    const set = ofKind(actions, 'SetDesiredCapacity');
    expect(set.map((a) => a.value)).toEqual(r.desired === null ? [] : [r.desired]);
    for (const a of set) expect(a.value).toBeGreaterThan(a.observed);
    const limited = condition(actions, 'CapacityLimited');
    expect(limited?.status).toBe(r.limited ? 'True' : 'False');
    if (r.limited) {
      expect(limited?.reason).toBe(r.limited);
      expect(eventReasons(actions)).toContain('CapacityLimited');
      expect(ofKind(actions, 'EmitEvent').find((e) => e.event.reason === 'CapacityLimited')?.event.type).toBe('Warning');
    }
  });

  test('pods are created before the capacity that hosts them', () => {
    const k = kinds(plan(world(day(1, 60))));
    expect(k.indexOf('EnsureRdbPod')).toBeLessThan(k.indexOf('SetDesiredCapacity'));
  });

  test('scale-out is announced with a ScaleOut event', () => {
    expect(eventReasons(plan(world(day(1, 60))))).toContain('ScaleOut');
  });

  test('CapacityLimited already on: no second Warning', () => {
    const first = plan(world(day(1, 70), { pool: { maxRdbs: 2 } }));
    const status = statusOf(first)!;
    const again = plan(world(day(1, 70), { pool: { maxRdbs: 2 }, status }));
    expect(eventReasons(again)).not.toContain('CapacityLimited');
    expect(condition(again, 'CapacityLimited')).toBeUndefined(); // status unchanged: no UpdateStatus at all
  });

  test('a repeated plan before the informer sees the new pod picks the same name (create is idempotent)', () => {
    const o = world(day(1, 60));
    const first = plan(o);
    const status = statusOf(first)!;
    const again = plan(world(day(1, 60), { status }));
    expect(ofKind(again, 'EnsureRdbPod').map((a) => a.name)).toEqual(ofKind(first, 'EnsureRdbPod').map((a) => a.name));
  });

  test('once the new pod is seen, nothing more is created', () => {
    const actions = plan(world([...day(1, 80), { ord: 2, node: null }], { asg: { desired: 3 } }));
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
    expect(ofKind(actions, 'SetDesiredCapacity')).toEqual([]);
  });

  test('two pools on one ASG: desired counts both pools', () => {
    const o = world(day(0, 65), {
      spec: {
        rdbPools: [
          { name: 'equities', memory: '1Gi', tables: ['trade'] },
          { name: 'fx', memory: '1Gi', tables: ['quote'] },
        ],
      },
    });
    const eq = o.pools.equities!;
    o.pools.fx = { asg: eq.asg, nodes: [], pods: [{ name: 'demo-fx-rdb-0', phase: 'Pending' }] };
    const actions = plan(o);
    // equities: live 0 + new 1; fx: one pending pod -> 3 nodes.
    expect(ofKind(actions, 'SetDesiredCapacity').map((a) => a.value)).toEqual([3]);
  });
});

describe('end of day: the live RDB flushing is not a missing live RDB', () => {
  test('no new RDB while the only RDB flushes', () => {
    const actions = plan(world([{ ord: 5, state: 'flushing', mem: 80 }]));
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
  });
});

describe('end of day under way: no spare server for the night', () => {
  test('the queued RDB flushed the live RDB\'s day: the live one\'s high memory is yesterday\'s', () => {
    const actions = plan(world([{ ord: 4, state: 'flushed' }, { ord: 5, state: 'live', mem: 75 }]));
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
  });
  test('the same memory with nothing flushed scales out', () => {
    const actions = plan(world([{ ord: 4, state: 'rolled' }, { ord: 5, state: 'live', mem: 75 }]));
    expect(ofKind(actions, 'EnsureRdbPod')).toHaveLength(1);
  });
});

describe('scale-out reaction time: the trigger travels with the AWS call', () => {
  test('SetDesiredCapacity carries when the live RDB reported crossing scaleThreshold', () => {
    const actions = plan(world([{ ord: 0, state: 'live', mem: 65, reportedAt: '2026-03-02T14:59:58.500Z' }]));
    expect(ofKind(actions, 'SetDesiredCapacity')).toEqual([expect.objectContaining({ value: 2, since: '2026-03-02T14:59:58.500Z' })]);
  });
  test('capacity raised for another reason (minRdbs) carries no trigger', () => {
    const actions = plan(world([{ ord: 0, state: 'live', mem: 10, reportedAt: '2026-03-02T14:59:58.500Z' }], { pool: { minRdbs: 2 } }));
    const [raise] = ofKind(actions, 'SetDesiredCapacity');
    expect(raise?.value).toBe(2);
    expect(raise?.since).toBeUndefined();
  });
});
