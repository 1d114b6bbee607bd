// The steps of separate scale-in chains run side by side (one lane per
// chain); within a chain, and for everything that names no chain, the plan's
// order holds and a failure stops what follows.
import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { Effector } from '../../operator/src/controllers/kdbcluster/effect.ts';
import { scaleInLanes } from '../../operator/src/controllers/kdbcluster/scale-in-lanes.ts';
import type { EventRecorder, KubeApi } from '../../operator/src/kube/index.ts';
import type { Action, ActionOf } from '../../operator/src/planner/types.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';

const record = (n: number, step: 'DeletePod' | 'Unprotect' | 'Terminate'): ActionOf<'RecordScaleInStep'> => ({
  kind: 'RecordScaleInStep',
  pool: 'main',
  instanceId: `i-${n}`,
  record: { rdb: `markets-main-rdb-${n}`, instanceId: `i-${n}`, node: `node-${n}`, step, startedAt: '2026-12-01T16:00:00Z' },
});
const cordon = (n: number): Action => ({ kind: 'CordonNode', node: `node-${n}` });
const del = (n: number): Action => ({ kind: 'DeleteRdbPod', pool: 'main', pod: `markets-main-rdb-${n}`, reason: 'ScaleIn', precondition: { uid: `u${n}`, resourceVersion: '1' } });
const unprotect = (n: number): Action => ({ kind: 'SetInstanceProtection', group: 'rdb', instanceIds: [`i-${n}`], protect: false });
const terminate = (n: number): Action => ({ kind: 'TerminateInstanceInGroup', group: 'rdb', instanceId: `i-${n}`, decrement: true });
const status: Action = { kind: 'UpdateStatus', status: { conditions: [], pools: [] } as never };

describe('scaleInLanes', () => {
  test('one lane per chain, in plan order within it, named by instance, node or RDB pod', () => {
    const batch = [record(1, 'DeletePod'), record(2, 'Unprotect'), record(3, 'DeletePod')];
    const after = [cordon(1), del(1), unprotect(2), cordon(3), del(3), status];
    expect(scaleInLanes(batch, after)).toEqual({ lanes: [[cordon(1), del(1)], [unprotect(2)], [cordon(3), del(3)]], taken: 5 });
  });

  test('the lanes end at the first action of no chain of the batch; what follows keeps plan order', () => {
    const batch = [record(1, 'Terminate'), record(2, 'Terminate')];
    const other: Action = { kind: 'SetInstanceProtection', group: 'rdb', instanceIds: ['i-9'], protect: true };
    expect(scaleInLanes(batch, [terminate(1), other, terminate(2)])).toEqual({ lanes: [[terminate(1)]], taken: 1 });
    // A pod delete for another reason, or a protection change naming several instances, is nobody's lane.
    const lost: Action = { kind: 'DeleteRdbPod', pool: 'main', pod: 'markets-main-rdb-1', reason: 'Lost' };
    expect(scaleInLanes(batch, [lost, terminate(1)]).taken).toBe(0);
    expect(scaleInLanes(batch, [{ kind: 'SetInstanceProtection', group: 'rdb', instanceIds: ['i-1', 'i-2'], protect: false }]).taken).toBe(0);
  });

  test('a pod of the same name in another pool is not the chain\'s', () => {
    const other: Action = { kind: 'DeleteRdbPod', pool: 'other', pod: 'markets-main-rdb-1', reason: 'ScaleIn', precondition: { uid: 'x', resourceVersion: '1' } };
    expect(scaleInLanes([record(1, 'DeletePod')], [other]).taken).toBe(0);
  });

  test('a cleared record still names its instance (an abort puts its protection back in its lane)', () => {
    const cleared: ActionOf<'RecordScaleInStep'> = { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-4', record: null };
    const reprotect: Action = { kind: 'SetInstanceProtection', group: 'rdb', instanceIds: ['i-4'], protect: true };
    expect(scaleInLanes([cleared], [reprotect])).toEqual({ lanes: [[reprotect]], taken: 1 });
  });
});

const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1', resourceVersion: '7' },
  spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
});

/** Calls as they start and end; `gate` holds a call until the test lets it go, `fail` makes it throw. */
const world = (o: { gate?: Record<string, Promise<void>>; fail?: Set<string> } = {}) => {
  const log: string[] = [];
  const call = async (name: string) => {
    log.push(`start ${name}`);
    await o.gate?.[name];
    if (o.fail?.has(name)) {
      log.push(`failed ${name}`);
      throw new Error(`${name} failed`);
    }
    log.push(`end ${name}`);
  };
  const api = {
    mergePatch: async (_ref: unknown, body: { status?: unknown }) => {
      await call('status');
      return { metadata: { resourceVersion: '8' }, status: body.status };
    },
    delete: async (ref: { name: string }) => {
      await call(`delete ${ref.name}`);
      return true;
    },
  } as unknown as KubeApi;
  const aws = {
    autoScaling: {
      terminateInstanceInGroup: async (id: string) => {
        await call(`terminate ${id}`);
        return { outcome: 'terminated' };
      },
      setInstanceProtection: async (_g: string, ids: string[], protect: boolean) => {
        await call(`protect ${ids.join(',')} ${protect}`);
        return {};
      },
    },
  } as unknown as Aws;
  const events = { record: async () => {}, warning: async () => {} } as unknown as EventRecorder;
  return { log, deps: { api, aws, events, log: silentLogger(), agentServiceAccount: 'a' } };
};

const deferred = () => {
  let release!: () => void;
  const p = new Promise<void>((r) => (release = r));
  return { p, release };
};

describe('the effector runs the chains side by side', () => {
  test('a slow step of one chain does not hold up another chain\'s terminate', async () => {
    const slow = deferred();
    const w = world({ gate: { 'delete markets-main-rdb-1': slow.p } });
    const run = new Effector(w.deps, cluster).run([record(1, 'DeletePod'), record(2, 'Terminate'), del(1), terminate(2), status]);
    // Chain 2 finishes while chain 1's delete is still out; the status write after the lanes waits for both.
    for (let k = 0; k < 50 && !w.log.includes('end terminate i-2'); k++) await new Promise((r) => setImmediate(r));
    expect(w.log).toEqual(['start status', 'end status', 'start delete markets-main-rdb-1', 'start terminate i-2', 'end terminate i-2']);
    slow.release();
    await run;
    expect(w.log.slice(5)).toEqual(['end delete markets-main-rdb-1', 'start status', 'end status']);
  });

  test('within a chain the order holds: unprotect ends before its terminate starts', async () => {
    const w = world();
    await new Effector(w.deps, cluster).run([record(1, 'Terminate'), record(2, 'Terminate'), unprotect(1), terminate(1), unprotect(2), terminate(2)]);
    for (const n of [1, 2]) expect(w.log.indexOf(`end protect i-${n} false`)).toBeLessThan(w.log.indexOf(`start terminate i-${n}`));
  });

  test('a failed step stops its own chain and the rest of the plan, never another chain', async () => {
    const w = world({ fail: new Set(['protect i-1 false']) });
    await expect(
      new Effector(w.deps, cluster).run([record(1, 'Terminate'), record(2, 'Terminate'), unprotect(1), terminate(1), unprotect(2), terminate(2), status]),
    ).rejects.toThrow('protect i-1 false failed');
    expect(w.log).not.toContain('start terminate i-1');
    expect(w.log).toContain('end terminate i-2');
    // The one status write is the records'; the plan's own status after the lanes never ran.
    expect(w.log.filter((l) => l === 'start status')).toHaveLength(1);
  });

  test('with the stop signal up, no lane runs an irreversible step', async () => {
    const w = world();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await new Effector({ ...w.deps, signal: ac.signal }, cluster).run([record(1, 'Terminate'), record(2, 'Terminate'), terminate(1), terminate(2), status]);
    expect(w.log).toEqual(['start status', 'end status']);
  });
});
