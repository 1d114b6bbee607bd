import { describe, expect, test } from '@jest/globals';
import { applyScaleInRecord, scaleInsOf } from '../../operator/src/api/kdbcluster.ts';
import type { KdbClusterStatus, ScaleInRecord } from '../../operator/src/api/kdbcluster.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Action, Observed } from '../../operator/src/planner/types.ts';
import {
  T0,
  condition,
  eventReasons,
  instanceId,
  kinds,
  nodeName,
  ofKind,
  podName,
  statusOf,
  world,
} from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

const rec = (step: ScaleInRecord['step'], ord = 0): ScaleInRecord => ({
  rdb: podName(ord),
  instanceId: instanceId(ord),
  node: nodeName(ord),
  step,
  startedAt: '2026-03-02T14:59:00.000Z',
});

const live: RdbSketch = { ord: 5, state: 'live', mem: 10 };

describe('scale-in: which RDB may go', () => {
  const rows: { name: string; rdbs: RdbSketch[]; opts?: WorldOptions; victims: number[] }[] = [
    { name: 'flushed, not live: all go at once, the oldest chained first', rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, live], victims: [0, 1] },
    { name: 'rolled but not flushed: stays', rdbs: [{ ord: 0, state: 'rolled' }, live], victims: [] },
    { name: 'flushing: stays', rdbs: [{ ord: 0, state: 'flushing' }, live], victims: [] },
    { name: 'state flushed but DataFlushed false (rows left): stays', rdbs: [{ ord: 0, state: 'flushed', flushed: false }, live], victims: [] },
    { name: 'the live RDB never goes, even flushed', rdbs: [{ ord: 5, state: 'live', flushed: true }], victims: [] },
    { name: 'queued RDB: stays', rdbs: [{ ord: 0, state: 'queued' }, live], victims: [] },
    { name: 'no report yet: stays', rdbs: [{ ord: 0, state: 'none' }, live], victims: [] },
    {
      name: 'not below minRdbs',
      rdbs: [{ ord: 0, state: 'flushed' }, live],
      opts: { pool: { minRdbs: 2 } },
      victims: [],
    },
    {
      name: 'minRdbs 2 with three: one goes',
      rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, live],
      opts: { pool: { minRdbs: 2 } },
      victims: [0],
    },
    {
      name: 'while a pod waits for a node: not now',
      rdbs: [{ ord: 0, state: 'flushed' }, live, { ord: 6, node: null }],
      victims: [],
    },
    { name: 'AWS unreachable: not started', rdbs: [{ ord: 0, state: 'flushed' }, live], opts: { asg: 'unknown' }, victims: [] },
    {
      name: 'the ASG at its MinSize: AWS would refuse the decrement, the flushed RDB keeps its server',
      rdbs: [{ ord: 0, state: 'flushed' }, live],
      opts: { asg: { min: 2 } },
      victims: [],
    },
    {
      name: 'instance not InService: skipped for the next one',
      rdbs: [{ ord: 0, state: 'flushed', lifecycle: 'Standby' }, { ord: 1, state: 'flushed' }, live],
      victims: [1],
    },
    {
      name: 'instance not in the ASG: never touched',
      rdbs: [{ ord: 0, state: 'flushed', instanceGone: true }, live],
      victims: [],
    },
    {
      name: 'a chain in flight: the next flushed RDB gets its own chain beside it',
      rdbs: [{ ord: 0, state: 'flushed', podGone: true }, { ord: 1, state: 'flushed' }, live],
      opts: { scaleIns: [rec('ConfirmInstance')] },
      victims: [1],
    },
    {
      name: 'the legacy single record in flight counts as a chain too',
      rdbs: [{ ord: 0, state: 'flushed', podGone: true }, { ord: 1, state: 'flushed' }, live],
      opts: { scaleIn: rec('ConfirmInstance'), pool: { maxParallelScaleIns: 1 } },
      victims: [],
    },
    {
      name: 'maxParallelScaleIns 1: a chain in flight blocks a second',
      rdbs: [{ ord: 0, state: 'flushed', podGone: true }, { ord: 1, state: 'flushed' }, live],
      opts: { scaleIns: [rec('ConfirmInstance')], pool: { maxParallelScaleIns: 1 } },
      victims: [],
    },
    {
      name: 'maxParallelScaleIns 2 with three flushed: the two oldest',
      rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'flushed' }, live],
      opts: { pool: { maxParallelScaleIns: 2 } },
      victims: [0, 1],
    },
    {
      name: 'minRdbs 3 with four and one in flight: none more (the chain in flight counts)',
      rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'flushed' }, live],
      opts: { pool: { minRdbs: 3, maxRdbs: 10 }, scaleIns: [rec('DeletePod')] },
      victims: [],
    },
    {
      name: 'minRdbs 2 with four flushed and the live one: three go, two stay',
      rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'flushed' }, { ord: 3, state: 'flushed' }, live],
      opts: { pool: { minRdbs: 2 } },
      victims: [0, 1, 2],
    },
    {
      name: 'MinSize: desired 4, MinSize 2, one chain in flight: one more only',
      rdbs: [{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'flushed' }, live],
      opts: { asg: { min: 2 }, scaleIns: [rec('DeletePod')] },
      victims: [1],
    },
    {
      name: 'MinSize: a chain in flight whose instance already left takes no room',
      rdbs: [{ ord: 0, state: 'flushed', podGone: true, lifecycle: 'Terminating' }, { ord: 1, state: 'flushed' }, { ord: 2, state: 'flushed' }, live],
      opts: { asg: { min: 2, desired: 3 }, scaleIns: [rec('Terminate')] },
      victims: [1],
    },
    { name: 'cluster being deleted: not started', rdbs: [{ ord: 0, state: 'flushed' }, live], opts: { deleting: true }, victims: [] },
  ];

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const actions = plan(world(r.rdbs, r.opts));
    const started = ofKind(actions, 'RecordScaleInStep').filter((a) => a.record?.step === 'DeletePod');
    if (r.victims.length === 0) {
      expect(started).toEqual([]);
      // Only a chain already in flight deletes its own RDB.
      const inFlight = new Set([...(r.opts?.scaleIns ?? []), ...(r.opts?.scaleIn ? [r.opts.scaleIn] : [])].map((x) => x.rdb));
      expect(ofKind(actions, 'DeleteRdbPod').filter((a) => a.reason === 'ScaleIn' && !inFlight.has(a.pod))).toEqual([]);
    } else {
      expect(started.map((a) => a.record?.rdb)).toEqual(r.victims.map((v) => podName(v)));
      expect(started.map((a) => a.record)).toEqual(
        r.victims.map((v) => ({ rdb: podName(v), instanceId: instanceId(v), node: nodeName(v), step: 'DeletePod', startedAt: T0.toISOString() })),
      );
      // Each started chain deletes its own RDB, exactly once.
      expect(ofKind(actions, 'DeleteRdbPod').filter((a) => a.reason === 'ScaleIn').map((a) => a.pod)).toEqual(expect.arrayContaining(r.victims.map((v) => podName(v))));
    }
  });

  test('start: record, then cordon, then delete the pod; ScalingIn on; ScaleInStarted', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed' }, live]));
    expect(kinds(actions)).toEqual(['RecordScaleInStep', 'CordonNode', 'DeleteRdbPod']);
    expect(ofKind(actions, 'DeleteRdbPod')[0]).toMatchObject({ pod: podName(0), reason: 'ScaleIn' });
    expect(condition(actions, 'ScalingIn')?.status).toBe('True');
    expect(statusOf(actions)?.phase).toBe('ScalingIn');
    expect(statusOf(actions)?.pools[0]?.scaleIns?.map((x) => x.step)).toEqual(['DeletePod']);
    expect(statusOf(actions)?.pools[0]?.scaleIn).toBeUndefined();
    expect(eventReasons(actions)).toContain('ScaleInStarted');
  });
});

describe('scale-in: each restart point continues at the recorded step', () => {
  interface Row {
    name: string;
    record: ScaleInRecord;
    victim: Partial<RdbSketch>;
    opts?: WorldOptions;
    others?: RdbSketch[];
    expectKinds: string[];
    /** Steps recorded by this plan, in order (null = cleared). */
    records: (string | null)[];
    protect?: boolean;
  }
  const base = (r: Row): Observed =>
    world([{ ord: 0, state: 'flushed', unschedulable: true, ...r.victim }, live, ...(r.others ?? [])], {
      scaleIn: r.record,
      ...r.opts,
    });

  const rows: Row[] = [
    {
      name: 'DeletePod, pod still there: delete it (already cordoned)',
      record: rec('DeletePod'),
      victim: {},
      expectKinds: ['DeleteRdbPod'],
      records: [],
    },
    {
      name: 'DeletePod, pod there and node not cordoned (crash after record): cordon + delete',
      record: rec('DeletePod'),
      victim: { unschedulable: false },
      expectKinds: ['CordonNode', 'DeleteRdbPod'],
      records: [],
    },
    {
      name: 'DeletePod, pod terminating: wait',
      record: rec('DeletePod'),
      victim: { deleting: true },
      expectKinds: [],
      records: [],
    },
    {
      name: 'DeletePod, AWS unreachable: the Kubernetes step still runs',
      record: rec('DeletePod'),
      victim: {},
      opts: { asg: 'unknown' },
      expectKinds: ['DeleteRdbPod'],
      records: [],
    },
    {
      name: 'DeletePod, pod gone: confirm, unprotect, then terminate in the same pass (each recorded first)',
      record: rec('DeletePod'),
      victim: { podGone: true },
      expectKinds: ['RecordScaleInStep', 'RecordScaleInStep', 'RecordScaleInStep', 'SetInstanceProtection', 'TerminateInstanceInGroup'],
      records: ['ConfirmInstance', 'Unprotect', 'Terminate'],
      protect: false,
    },
    {
      name: 'ConfirmInstance, InService and protected: record Unprotect and Terminate, unprotect, terminate',
      record: rec('ConfirmInstance'),
      victim: { podGone: true },
      expectKinds: ['RecordScaleInStep', 'RecordScaleInStep', 'SetInstanceProtection', 'TerminateInstanceInGroup'],
      records: ['Unprotect', 'Terminate'],
      protect: false,
    },
    {
      name: 'ConfirmInstance, instance still Pending: wait',
      record: rec('ConfirmInstance'),
      victim: { podGone: true, lifecycle: 'Pending' },
      expectKinds: [],
      records: [],
    },
    {
      name: 'ConfirmInstance, AWS unreachable: wait, no AWS action',
      record: rec('ConfirmInstance'),
      victim: { podGone: true },
      opts: { asg: 'unknown' },
      expectKinds: [],
      records: [],
    },
    {
      name: 'ConfirmInstance, instance already Terminating: done',
      record: rec('ConfirmInstance'),
      victim: { podGone: true, lifecycle: 'Terminating' },
      expectKinds: ['RecordScaleInStep'],
      records: [null],
    },
    {
      name: 'Unprotect, still protected (crash before the call): record Terminate, unprotect again, terminate',
      record: rec('Unprotect'),
      victim: { podGone: true },
      expectKinds: ['RecordScaleInStep', 'SetInstanceProtection', 'TerminateInstanceInGroup'],
      records: ['Terminate'],
      protect: false,
    },
    {
      name: 'Unprotect, unprotected: record Terminate, terminate with decrement',
      record: rec('Unprotect'),
      victim: { podGone: true, protected: false },
      expectKinds: ['RecordScaleInStep', 'TerminateInstanceInGroup'],
      records: ['Terminate'],
    },
    {
      name: 'Unprotect, instance Terminating:Wait: done',
      record: rec('Unprotect'),
      victim: { podGone: true, protected: false, lifecycle: 'Terminating:Wait' },
      expectKinds: ['RecordScaleInStep'],
      records: [null],
    },
    {
      name: 'Terminate, still InService (crash before the call): terminate',
      record: rec('Terminate'),
      victim: { podGone: true, protected: false },
      expectKinds: ['TerminateInstanceInGroup'],
      records: [],
    },
    {
      name: 'Terminate, Terminating (crash after the call): clear, no second terminate',
      record: rec('Terminate'),
      victim: { podGone: true, protected: false, lifecycle: 'Terminating' },
      expectKinds: ['RecordScaleInStep'],
      records: [null],
    },
    {
      name: 'Terminate, Terminated: clear',
      record: rec('Terminate'),
      victim: { podGone: true, protected: false, lifecycle: 'Terminated' },
      expectKinds: ['RecordScaleInStep'],
      records: [null],
    },
    {
      name: 'Terminate, instance and node gone: clear',
      record: rec('Terminate'),
      victim: { podGone: true, instanceGone: true, nodeGone: true },
      expectKinds: ['RecordScaleInStep'],
      records: [null],
    },
    {
      name: 'Unprotect, still protected, the ASG at its MinSize (raised meanwhile): unprotect and wait, no terminate; the next pass stops and protects again',
      record: rec('Unprotect'),
      victim: { podGone: true },
      opts: { asg: { min: 2 } },
      expectKinds: ['SetInstanceProtection'],
      records: [],
      protect: false,
    },
    {
      name: 'Unprotect, still protected, instance not InService: unprotect and wait, no terminate',
      record: rec('Unprotect'),
      victim: { podGone: true, lifecycle: 'Standby' },
      expectKinds: ['SetInstanceProtection'],
      records: [],
      protect: false,
    },
    {
      name: 'Terminate, the ASG at its MinSize (raised meanwhile): stop, no terminate AWS would refuse',
      record: rec('Terminate'),
      victim: { podGone: true, protected: false },
      opts: { asg: { min: 2 } },
      // The server stays: it gets its scale-in protection back.
      expectKinds: ['RecordScaleInStep', 'SetInstanceProtection', 'UncordonNode'],
      records: [null],
      protect: true,
    },
    {
      name: 'Terminate, AWS unreachable: wait, no terminate',
      record: rec('Terminate'),
      victim: { podGone: true, protected: false },
      opts: { asg: 'unknown' },
      expectKinds: [],
      records: [],
    },
  ];

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const actions = plan(base(r));
    const k = kinds(actions);
    // Protection of other instances is not part of this story.
    expect(k.filter((x) => x !== 'AnnotateNode')).toEqual(r.expectKinds);
    expect(ofKind(actions, 'RecordScaleInStep').map((a) => a.record?.step ?? null)).toEqual(r.records);
    for (const a of ofKind(actions, 'SetInstanceProtection')) {
      expect(a).toEqual({ kind: 'SetInstanceProtection', group: expect.any(String), instanceIds: [instanceId(0)], protect: r.protect });
    }
    for (const a of ofKind(actions, 'TerminateInstanceInGroup')) {
      expect(a).toEqual({ kind: 'TerminateInstanceInGroup', group: expect.any(String), instanceId: instanceId(0), decrement: true, node: nodeName(0), pod: podName(0) });
    }
    // A record always comes before the step it names.
    const recIdx = k.lastIndexOf('RecordScaleInStep');
    const stepIdx = Math.max(k.indexOf('SetInstanceProtection'), k.indexOf('TerminateInstanceInGroup'));
    if (recIdx >= 0 && stepIdx >= 0) expect(recIdx).toBeLessThan(stepIdx);
    expect(ofKind(actions, 'SetDesiredCapacity')).toEqual([]);
  });

  test('cleared scale-in says ScaledIn', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', podGone: true, protected: false, lifecycle: 'Terminating' }, live], { scaleIn: rec('Terminate') }));
    expect(eventReasons(actions)).toContain('ScaledIn');
    expect(statusOf(actions)?.pools[0]?.scaleIn).toBeUndefined();
  });
});

describe('scale-in: safety stops', () => {
  test('DeletePod, the pod is no longer flushed: abort, uncordon, Warning', () => {
    const actions = plan(world([{ ord: 0, state: 'rolled', unschedulable: true }, live], { scaleIn: rec('DeletePod') }));
    expect(ofKind(actions, 'DeleteRdbPod')).toEqual([]);
    expect(ofKind(actions, 'RecordScaleInStep').map((a) => a.record)).toEqual([null]);
    expect(ofKind(actions, 'UncordonNode').map((a) => a.node)).toEqual([nodeName(0)]);
    expect(ofKind(actions, 'EmitEvent').find((e) => e.event.reason === 'ScaleInAborted')?.event.type).toBe('Warning');
  });

  test('DeletePod, the pod went live: abort', () => {
    const actions = plan(world([{ ord: 0, state: 'live', flushed: true, unschedulable: true }], { scaleIn: rec('DeletePod') }));
    expect(ofKind(actions, 'DeleteRdbPod')).toEqual([]);
    expect(ofKind(actions, 'TerminateInstanceInGroup')).toEqual([]);
  });

  test.each(['ConfirmInstance', 'Unprotect', 'Terminate'] as const)(
    '%s, an RDB pod landed on the node: abort and protect it again',
    (step) => {
      const o = world([{ ord: 0, state: 'flushed', podGone: true, protected: step === 'ConfirmInstance' }, live], { scaleIn: rec(step) });
      o.pools.equities!.pods.push({ name: podName(7), node: nodeName(0), phase: 'Running' });
      const actions = plan(o);
      expect(ofKind(actions, 'TerminateInstanceInGroup')).toEqual([]);
      expect(ofKind(actions, 'SetInstanceProtection').every((a) => a.protect)).toBe(true);
      expect(ofKind(actions, 'RecordScaleInStep').map((a) => a.record)).toEqual([null]);
      if (step !== 'ConfirmInstance') {
        expect(ofKind(actions, 'SetInstanceProtection')).toEqual([
          { kind: 'SetInstanceProtection', group: expect.any(String), instanceIds: [instanceId(0)], protect: true },
        ]);
      }
    },
  );

  test('ConfirmInstance, the instance is in no group but its node is alive: never touched', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', podGone: true, instanceGone: true }, live], { scaleIn: rec('ConfirmInstance') }));
    expect(ofKind(actions, 'SetInstanceProtection')).toEqual([]);
    expect(ofKind(actions, 'TerminateInstanceInGroup')).toEqual([]);
    expect(eventReasons(actions)).toContain('ScaleInAborted');
  });

  test('the instance being released is not protected again by the protection step', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', podGone: true, protected: false }, live], { scaleIn: rec('Terminate') }));
    expect(ofKind(actions, 'SetInstanceProtection')).toEqual([]);
  });
});

/**
 * A small world the plans act on, to run whole scale-ins and crash the
 * operator after any action: the chain must end with exactly one instance
 * terminated, the right one, and desired lowered by exactly one.
 */
class SimWorld {
  rdbs: RdbSketch[];
  status: KdbClusterStatus | undefined;
  desired: number;
  terminateCalls = 0;
  effectiveTerminations: string[] = [];
  readonly opts: WorldOptions;
  /** Terminate calls per instance: a second one for the same instance is a bug even if AWS would shrug. */
  readonly terminatesOf = new Map<string, number>();
  constructor(rdbs: RdbSketch[], opts: WorldOptions = {}) {
    this.rdbs = rdbs.map((r) => ({ ...r }));
    this.desired = rdbs.filter((r) => r.node !== null && !r.instanceGone).length;
    this.opts = opts;
  }
  observe(): Observed {
    const asg = typeof this.opts.asg === 'object' ? this.opts.asg : {};
    return world(this.rdbs, { ...this.opts, ...(this.status ? { status: this.status, scaleIn: undefined } : {}), asg: { ...asg, desired: this.desired } });
  }
  private byPod(name: string) {
    return this.rdbs.find((r) => podName(r.ord) === name);
  }
  private byInstance(id: string) {
    return this.rdbs.find((r) => instanceId(r.ord) === id);
  }
  apply(a: Action): void {
    switch (a.kind) {
      case 'UpdateStatus':
        this.status = a.status;
        break;
      case 'RecordScaleInStep': {
        const base = this.status ?? this.observe().cluster.status!;
        // As the effector writes it: the chain of a.instanceId in scaleIns, a legacy scaleIn moved in.
        const pools = base.pools.map((p) => {
          if (p.name !== a.pool) return p;
          const { scaleIn: _old, scaleIns: _all, ...rest } = p;
          const chains = applyScaleInRecord(scaleInsOf(p), a.instanceId, a.record);
          return chains.length > 0 ? { ...rest, scaleIns: chains } : rest;
        });
        this.status = { ...base, pools };
        break;
      }
      case 'DeleteRdbPod': {
        const r = this.byPod(a.pod);
        if (r) r.podGone = true;
        break;
      }
      case 'CordonNode':
        for (const r of this.rdbs) if (nodeName(r.ord) === a.node) r.unschedulable = true;
        break;
      case 'UncordonNode':
        for (const r of this.rdbs) if (nodeName(r.ord) === a.node) r.unschedulable = false;
        break;
      case 'SetInstanceProtection':
        for (const id of a.instanceIds) {
          const r = this.byInstance(id);
          if (r) r.protected = a.protect;
        }
        break;
      case 'TerminateInstanceInGroup': {
        this.terminateCalls++;
        this.terminatesOf.set(a.instanceId, (this.terminatesOf.get(a.instanceId) ?? 0) + 1);
        const r = this.byInstance(a.instanceId);
        if (r && !r.instanceGone && (r.lifecycle ?? 'InService') === 'InService') {
          // As AWS does: no decrement below MinSize.
          const min = typeof this.opts.asg === 'object' ? (this.opts.asg.min ?? 0) : 0;
          if (this.desired <= min) throw new Error(`terminate of ${a.instanceId} would take desired ${this.desired} below MinSize ${min}`);
          r.lifecycle = 'Terminating';
          this.desired -= 1;
          this.effectiveTerminations.push(a.instanceId);
        }
        break;
      }
      case 'SetDesiredCapacity':
        this.desired = Math.max(this.desired, a.value);
        break;
      default:
        break;
    }
  }
  /** Time passes: a terminating instance goes, and its node with it. */
  tick(): void {
    for (const r of this.rdbs) {
      if (r.lifecycle === 'Terminating') {
        r.instanceGone = true;
        r.nodeGone = true;
        r.lifecycle = 'Terminated';
      }
    }
  }
}

describe('scale-in: whole chain, crashing after any action', () => {
  const start = (): RdbSketch[] => [
    { ord: 0, state: 'flushed' },
    { ord: 1, state: 'rolled' },
    { ord: 2, state: 'live', mem: 20 },
  ];

  const run = (crashAt: { round: number; after: number } | undefined) => {
    const w = new SimWorld(start());
    for (let round = 0; round < 20; round++) {
      const actions = plan(w.observe());
      const upTo = crashAt && crashAt.round === round ? crashAt.after : actions.length;
      actions.slice(0, upTo).forEach((a) => w.apply(a));
      if (round % 2 === 1) w.tick();
    }
    return w;
  };

  const check = (w: SimWorld) => {
    expect(w.effectiveTerminations).toEqual([instanceId(0)]);
    expect(w.desired).toBe(2);
    expect(w.status?.pools[0]?.scaleIn).toBeUndefined();
    expect(w.status?.pools[0]?.scaleIns).toBeUndefined();
    // The rolled (unflushed) and the live RDB and their instances are untouched.
    for (const ord of [1, 2]) {
      const r = w.rdbs.find((x) => x.ord === ord)!;
      expect(r.podGone).toBeFalsy();
      expect(r.instanceGone).toBeFalsy();
      expect(r.protected ?? true).toBe(true);
    }
  };

  test('without a crash', () => {
    const w = run(undefined);
    check(w);
    expect(w.terminateCalls).toBe(1);
  });

  const crashes: { round: number; after: number }[] = [];
  for (let round = 0; round < 6; round++) for (let after = 0; after < 4; after++) crashes.push({ round, after });
  test.each(crashes)('crash in round $round after $after actions', (crashAt) => {
    check(run(crashAt));
  });
});

describe('scale-in: an instance that leaves the group at once', () => {
  // moto drops a terminated instance from the group immediately, while its
  // node is still Ready for a moment: after our own terminate that is done.
  test('after Terminate, a vanished instance with a ready node finishes the chain', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', podGone: true, instanceGone: true }, live], { scaleIn: rec('Terminate') }));
    expect(eventReasons(actions)).not.toContain('ScaleInAborted');
    expect(ofKind(actions, 'RecordScaleInStep')).toEqual([{ kind: 'RecordScaleInStep', pool: 'equities', instanceId: instanceId(0), record: null }]);
    expect(ofKind(actions, 'TerminateInstanceInGroup')).toEqual([]);
  });

  test('before Terminate, a ready node whose instance is not in the group is someone else\'s: abort', () => {
    const actions = plan(world([{ ord: 0, state: 'flushed', podGone: true, instanceGone: true }, live], { scaleIn: rec('Unprotect') }));
    expect(eventReasons(actions)).toContain('ScaleInAborted');
    expect(ofKind(actions, 'TerminateInstanceInGroup')).toEqual([]);
    expect(ofKind(actions, 'SetInstanceProtection').filter((a) => !a.protect)).toEqual([]);
  });
});

describe('scale-in reaction time: from the flushed report to the terminate', () => {
  test('the record keeps when the RDB reported flushed, and the terminate carries it', () => {
    const flushedAt = '2026-03-02T14:58:00.000Z';
    const start = plan(world([{ ord: 0, state: 'flushed', reportedAt: flushedAt }, live]));
    const first = ofKind(start, 'RecordScaleInStep')[0]?.record;
    expect(first).toMatchObject({ step: 'DeletePod', flushedAt });
    const term = plan(world([{ ord: 0, state: 'flushed', podGone: true, protected: false }, live], { scaleIn: { ...rec('Terminate'), flushedAt } }));
    expect(ofKind(term, 'TerminateInstanceInGroup')).toEqual([expect.objectContaining({ instanceId: instanceId(0), since: flushedAt })]);
  });
});

describe('scale-in: several chains at once, crashing after any action', () => {
  // End of day: four flushed RDBs, one rolled one that has not flushed, the live one.
  const start = (): RdbSketch[] => [
    { ord: 0, state: 'flushed' },
    { ord: 1, state: 'flushed' },
    { ord: 2, state: 'rolled' },
    { ord: 3, state: 'flushed' },
    { ord: 4, state: 'flushed' },
    { ord: 5, state: 'live', mem: 20 },
  ];
  const flushed = [0, 1, 3, 4];

  const run = (crashAt: { round: number; after: number } | undefined, opts: WorldOptions = {}, rdbs = start()) => {
    const w = new SimWorld(rdbs, opts);
    const perRound: string[][] = [];
    for (let round = 0; round < 20; round++) {
      const actions = plan(w.observe());
      perRound.push(ofKind(actions, 'TerminateInstanceInGroup').map((a) => a.instanceId));
      const upTo = crashAt && crashAt.round === round ? crashAt.after : actions.length;
      actions.slice(0, upTo).forEach((a) => w.apply(a));
      if (round % 2 === 1) w.tick();
    }
    return { w, perRound };
  };

  const check = (w: SimWorld, gone = flushed) => {
    expect([...w.effectiveTerminations].sort()).toEqual(gone.map((o) => instanceId(o)).sort());
    expect(w.desired).toBe(6 - gone.length);
    expect(w.status?.pools[0]?.scaleIns).toBeUndefined();
    // The unflushed and the live RDB and their instances are untouched.
    for (const ord of [2, 5]) {
      const r = w.rdbs.find((x) => x.ord === ord)!;
      expect(r.podGone).toBeFalsy();
      expect(r.instanceGone).toBeFalsy();
      expect(r.protected ?? true).toBe(true);
    }
  };

  test('without a crash, every flushed RDB\'s instance is terminated in the same pass, once', () => {
    const { w, perRound } = run(undefined);
    check(w);
    // The chains move together: all four terminates come out of one plan.
    expect(perRound.find((t) => t.length > 0)?.sort()).toEqual(flushed.map((o) => instanceId(o)).sort());
    expect(w.terminateCalls).toBe(4);
    expect([...w.terminatesOf.values()]).toEqual([1, 1, 1, 1]);
  });

  test('each chain is its own record: status holds all four, at their own steps', () => {
    const w = new SimWorld(start());
    plan(w.observe()).forEach((a) => w.apply(a));
    expect(w.status?.pools[0]?.scaleIns?.map((r) => [r.rdb, r.step])).toEqual(flushed.map((o) => [podName(o), 'DeletePod']));
  });

  const crashes: { round: number; after: number }[] = [];
  for (let round = 0; round < 6; round++) for (let after = 0; after < 12; after += 1) crashes.push({ round, after });
  test.each(crashes)('crash in round $round after $after actions', (crashAt) => {
    const { w } = run(crashAt);
    check(w);
    for (const n of w.terminatesOf.values()) expect(n).toBe(1);
  });

  test('the cap: maxParallelScaleIns 2 hands back two at a time, all four in the end', () => {
    const { w, perRound } = run(undefined, { pool: { maxParallelScaleIns: 2 } });
    check(w);
    expect(Math.max(...perRound.map((t) => t.length))).toBe(2);
  });

  test('minRdbs 3: only as many go as leave three RDBs, counting the chains in flight', () => {
    const { w } = run(undefined, { pool: { minRdbs: 3 } });
    check(w, [0, 1, 3]);
  });

  test('MinSize 4: two go, AWS is never asked to go below it', () => {
    const { w } = run(undefined, { asg: { min: 4 } });
    check(w, [0, 1]);
  });

  test('an older operator\'s single record, mid-chain, is continued beside the new chains', () => {
    // Upgraded while rdb-0's chain stood at Unprotect: its pod gone, its instance still protected.
    const rdbs = start().map((r) => (r.ord === 0 ? { ...r, podGone: true, unschedulable: true } : r));
    const { w } = run(undefined, { scaleIn: rec('Unprotect') }, rdbs);
    check(w);
    expect(w.terminatesOf.get(instanceId(0))).toBe(1);
  });
});

describe('scale-in: Terminate at most once per instance and never below MinSize in one pass', () => {
  const atTerminate = (ords: number[]): ScaleInRecord[] => ords.map((o) => rec('Terminate', o));
  const rdbs = (ords: number[]): RdbSketch[] => [...ords.map((o): RdbSketch => ({ ord: o, state: 'flushed', podGone: true, protected: false, unschedulable: true })), live];

  test('three chains at Terminate: three terminates, each naming its own instance', () => {
    const a = plan(world(rdbs([0, 1, 2]), { scaleIns: atTerminate([0, 1, 2]) }));
    expect(ofKind(a, 'TerminateInstanceInGroup').map((t) => t.instanceId)).toEqual([0, 1, 2].map((o) => instanceId(o)));
  });

  test('desired 4, MinSize 2: two terminates, the third chain aborts rather than ask AWS for less than MinSize', () => {
    const a = plan(world(rdbs([0, 1, 2]), { scaleIns: atTerminate([0, 1, 2]), asg: { min: 2 } }));
    expect(ofKind(a, 'TerminateInstanceInGroup').map((t) => t.instanceId)).toEqual([0, 1].map((o) => instanceId(o)));
    expect(eventReasons(a)).toContain('ScaleInAborted');
  });

  test('the same instance in scaleIns and in a legacy scaleIn is one chain: one terminate', () => {
    const a = plan(world(rdbs([0]), { scaleIns: atTerminate([0]), scaleIn: rec('Terminate', 0) }));
    expect(ofKind(a, 'TerminateInstanceInGroup').map((t) => t.instanceId)).toEqual([instanceId(0)]);
  });

  test('a chain whose instance is terminating already emits nothing more, and clears', () => {
    const a = plan(world([{ ord: 0, state: 'flushed', podGone: true, protected: false, lifecycle: 'Terminating' }, live], { scaleIns: atTerminate([0]) }));
    expect(ofKind(a, 'TerminateInstanceInGroup')).toEqual([]);
    expect(ofKind(a, 'RecordScaleInStep').map((r) => r.record)).toEqual([null]);
  });

  test('a chain never starts on an RDB with unflushed rows, however many slots are free', () => {
    const a = plan(world([{ ord: 0, state: 'flushed', flushed: false }, { ord: 1, state: 'rolled' }, { ord: 2, state: 'flushing' }, live], { pool: { maxParallelScaleIns: 100 } }));
    expect(ofKind(a, 'RecordScaleInStep')).toEqual([]);
    expect(ofKind(a, 'DeleteRdbPod')).toEqual([]);
  });

  test('records come before every step they name: one status write per pass', () => {
    const a = plan(world([{ ord: 0, state: 'flushed' }, { ord: 1, state: 'flushed' }, live]));
    const chain = a.filter((x) => ['RecordScaleInStep', 'CordonNode', 'DeleteRdbPod'].includes(x.kind)).map((x) => x.kind);
    expect(chain).toEqual(['RecordScaleInStep', 'RecordScaleInStep', 'CordonNode', 'DeleteRdbPod', 'CordonNode', 'DeleteRdbPod']);
  });
});
