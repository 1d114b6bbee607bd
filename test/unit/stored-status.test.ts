import { describe, expect, test } from '@jest/globals';
import type { Aws } from '../../operator/src/aws/index.ts';
import { kdbClusterReconciler } from '../../operator/src/controllers/kdbcluster/reconciler.ts';
import type { Observer } from '../../operator/src/controllers/kdbcluster/observe.ts';
import {
  INVALID_STATUS,
  mayRunWhileStatusUnreadable,
  readStoredStatus,
  unreadableStatusWrite,
} from '../../operator/src/controllers/kdbcluster/stored-status.ts';
import type { EventRecorder, KubeApi, KubeObject, Store } from '../../operator/src/kube/index.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Action, Observed } from '../../operator/src/planner/types.ts';
import type { ReconcileContext } from '../../operator/src/runtime/controller.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';
import { T0, instanceId, nodeName, ofKind, podName, world } from '../fixtures/planner.ts';
import type { RdbSketch } from '../fixtures/planner.ts';

const rdbEntry = (name: string, state: string) => ({ name, state, firstI: 0, lastI: 100 });
const scaleIn = (step: string) => ({ rdb: podName(0), instanceId: instanceId(0), node: nodeName(0), step, startedAt: '2026-03-02T14:00:00.000Z' });

/** A stored status as a newer operator (or a hand edit) could leave it. */
const rawStatus = (o: { step?: string; state?: string; conditions?: unknown } = {}) => ({
  phase: 'Running',
  conditions: o.conditions ?? [],
  pools: [
    {
      name: 'equities',
      queued: [],
      rolled: [],
      rdbs: [rdbEntry(podName(1), o.state ?? 'flushed'), rdbEntry(podName(2), 'rolled')],
      scaleIn: scaleIn(o.step ?? 'Terminate'),
      nextOrdinal: 9,
    },
  ],
  mergedDay: '2026-03-01',
});

describe('reading the stored status', () => {
  test('a valid status reads whole, with no errors', () => {
    const r = readStoredStatus(rawStatus());
    expect(r.errors).toEqual([]);
    expect(r.status?.pools[0]?.scaleIn?.step).toBe('Terminate');
  });

  test('no status yet is not an error', () => {
    expect(readStoredStatus(undefined)).toEqual({ status: undefined, errors: [] });
  });

  test('an unknown RDB state: the field is named, that entry is dropped, the rest of the memory kept', () => {
    const r = readStoredStatus(rawStatus({ state: 'hibernating' }));
    expect(r.errors.map((e) => e.field)).toEqual(['status.pools[0].rdbs[0].state']);
    const pool = r.status?.pools[0];
    expect(pool?.rdbs.map((e) => e.name)).toEqual([podName(2)]);
    expect(pool?.nextOrdinal).toBe(9);
    expect(pool?.scaleIn?.step).toBe('Terminate');
    expect(r.status?.mergedDay).toBe('2026-03-01');
  });

  test('an unknown scale-in step: named, and the record is not believed', () => {
    const r = readStoredStatus(rawStatus({ step: 'Drain' }));
    expect(r.errors.map((e) => e.field)).toEqual(['status.pools[0].scaleIn.step']);
    expect(r.status?.pools[0]?.scaleIn).toBeUndefined();
    expect(r.status?.pools[0]?.rdbs).toHaveLength(2);
  });

  test('a status that is not an object at all', () => {
    const r = readStoredStatus('garbage');
    expect(r.status).toBeUndefined();
    expect(r.errors.map((e) => e.field)).toEqual(['status']);
  });

  test('bad conditions: the good ones are kept', () => {
    const good = { type: 'Ready', status: 'True', lastTransitionTime: '2026-03-02T14:00:00Z', reason: 'Ready', message: 'ok' };
    const r = readStoredStatus(rawStatus({ conditions: [good, { ...good, type: 'Degraded', reason: 'not a reason!' }] }));
    expect(r.errors.map((e) => e.field)).toEqual(['status.conditions[1].reason']);
    expect(r.status?.conditions).toEqual([good]);
  });
});

describe('what runs while the status cannot be read', () => {
  const rows: [Action, boolean][] = [
    [{ kind: 'EnsureRdbPod', pool: 'p', name: 'n', ordinal: 1 }, true],
    [{ kind: 'EnsureTickerplant', reason: 'r' }, true],
    [{ kind: 'EnsureStorageVolumes', fileSystemId: 'fs' }, true],
    [{ kind: 'DeleteRdbPod', pool: 'p', pod: 'n', reason: 'Lost' }, true],
    [{ kind: 'SetDesiredCapacity', group: 'g', value: 3, observed: 2, reason: 'r' }, true],
    [{ kind: 'SetInstanceProtection', group: 'g', instanceIds: ['i'], protect: true }, true],
    [{ kind: 'EmitEvent', event: { type: 'Warning', reason: 'RdbLost', message: 'm' } }, true],
    [{ kind: 'RequeueAfter', ms: 1 }, true],
    [{ kind: 'DeleteRdbPod', pool: 'p', pod: 'n', reason: 'ScaleIn', precondition: { uid: 'u', resourceVersion: '1' } }, false],
    [{ kind: 'SetInstanceProtection', group: 'g', instanceIds: ['i'], protect: false }, false],
    [{ kind: 'TerminateInstanceInGroup', group: 'g', instanceId: 'i', decrement: true }, false],
    [{ kind: 'RecordScaleInStep', pool: 'p', instanceId: 'i', record: null }, false],
    [{ kind: 'CordonNode', node: 'n' }, false],
    [{ kind: 'UncordonNode', node: 'n' }, false],
    [{ kind: 'EnsureMergeJob', day: '2026-03-02', job: 'j' }, false],
    [{ kind: 'EmitEvent', event: { type: 'Normal', reason: 'ScaleInStarted', message: 'm' } }, false],
    [{ kind: 'EmitEvent', event: { type: 'Normal', reason: 'Recovered', message: 'm' } }, false],
  ];
  test.each(rows.map(([a, ok]) => [a.kind === 'EmitEvent' ? `EmitEvent ${a.event.reason}` : JSON.stringify(a), a, ok] as const))('%s', (_n, a, ok) => {
    expect(mayRunWhileStatusUnreadable(a)).toBe(ok);
  });

  test('UpdateStatus never runs: it would overwrite the memory a human can still repair', () => {
    const o = world([{ ord: 0, state: 'live' }]);
    const update = plan(o).find((a) => a.kind === 'UpdateStatus');
    expect(update).toBeDefined();
    expect(mayRunWhileStatusUnreadable(update!)).toBe(false);
  });
});

describe('the Degraded write', () => {
  const errors = [{ field: 'status.pools[0].scaleIn.step', message: 'Invalid option' }];
  test('names the field and the fix; once written, not written or announced again', () => {
    const first = unreadableStatusWrite({ clusterName: 'demo', errors, rawStatus: rawStatus({ step: 'Drain' }), base: [], now: T0, generation: 3 });
    const degraded = first.status.conditions.find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: INVALID_STATUS, observedGeneration: 3 });
    expect(degraded?.message).toMatch(/^status cannot be read: status\.pools\[0\]\.scaleIn\.step: Invalid option\. Scale-in and merges wait/);
    expect(degraded?.message).toMatch(/kubectl patch kdb demo --subresource=status/);
    expect(first).toMatchObject({ changed: true, announce: true, status: { phase: 'Degraded' } });
    const stored = { ...rawStatus({ step: 'Drain' }), ...first.status };
    const later = new Date(T0.getTime() + 60_000);
    expect(unreadableStatusWrite({ clusterName: 'demo', errors, rawStatus: stored, base: first.status.conditions, now: later, generation: 3 })).toMatchObject({
      changed: false,
      announce: false,
    });
  });
});

// ---- the reconciler: a bad status degrades the cluster and the Kubernetes side goes on

interface Calls {
  patches: { subresource?: string; body: Record<string, unknown> }[];
  created: string[];
  deleted: { name: string; opts?: unknown }[];
  aws: string[];
  events: { type: string; reason: string; message: string }[];
}

const harness = (raw: Record<string, unknown>, observedWorld: Observed) => {
  const calls: Calls = { patches: [], created: [], deleted: [], aws: [], events: [] };
  let obj = { ...raw } as KubeObject & { status?: unknown };
  const api = {
    apply: async (o: KubeObject) => o,
    list: async () => ({ items: [] }),
    create: async (o: KubeObject) => {
      calls.created.push(`${o.kind}/${o.metadata?.name}`);
      return o;
    },
    createIfAbsent: async (o: KubeObject) => ({ object: o, created: true }),
    delete: async (ref: { name: string }, opts?: unknown) => {
      calls.deleted.push({ name: ref.name, ...(opts ? { opts } : {}) });
      return true;
    },
    mergePatch: async (_ref: unknown, body: Record<string, unknown>, opts?: { subresource?: string }) => {
      calls.patches.push({ ...(opts?.subresource ? { subresource: opts.subresource } : {}), body });
      const status = body.status as Record<string, unknown> | undefined;
      obj = { ...obj, status: { ...(obj.status as object), ...status }, metadata: { ...obj.metadata, resourceVersion: String(Number(obj.metadata?.resourceVersion ?? 1) + 1) } };
      return obj;
    },
  } as unknown as KubeApi;
  const record = (_o: unknown, type: string, reason: string, message: string) => {
    calls.events.push({ type, reason, message });
    return Promise.resolve();
  };
  const events = { record, warning: (o: unknown, r: string, m: string) => record(o, 'Warning', r, m), normal: (o: unknown, r: string, m: string) => record(o, 'Normal', r, m) } as unknown as EventRecorder;
  const aws = {
    autoScaling: {
      setDesiredCapacity: async (g: string, v: number) => {
        calls.aws.push(`SetDesiredCapacity ${g} ${v}`);
        return { wrote: true, previous: v - 1, desired: v };
      },
      setInstanceProtection: async (_g: string, ids: string[], protect: boolean) => {
        calls.aws.push(`SetInstanceProtection ${ids.join(',')} ${protect}`);
        return {};
      },
      terminateInstanceInGroup: async (id: string) => {
        calls.aws.push(`TerminateInstanceInGroup ${id}`);
        return { outcome: 'terminated' };
      },
      suspendAZRebalance: async () => calls.aws.push('SuspendAZRebalance'),
      protectNewInstances: async () => calls.aws.push('ProtectNewInstances'),
      invalidate: () => undefined,
    },
    efs: {},
  } as unknown as Aws;
  const clusters: Store<KubeObject> = { get: () => obj, list: () => [obj], hasSynced: () => true };
  const observer = {
    observe: async (cluster: Observed['cluster'], now: Date): Promise<Observed> => ({ ...observedWorld, cluster, now }),
    forgetEfs: () => undefined,
  } as unknown as Observer;
  const reconcile = kdbClusterReconciler({ api, aws, clusters, observer, events, agentServiceAccount: 'kdb-rdb-agent', now: () => T0 });
  const ctx = { log: silentLogger(), retries: 0, signal: new AbortController().signal } as ReconcileContext;
  return { calls, run: () => reconcile('kdb/demo', ctx), current: () => obj };
};

/** The cluster as stored: spec as the API server holds it, the status raw. */
const storedCluster = (o: Observed, status: unknown): Record<string, unknown> => ({
  apiVersion: o.cluster.apiVersion,
  kind: o.cluster.kind,
  metadata: { ...o.cluster.metadata, uid: 'cluster-uid', resourceVersion: '10', finalizers: ['kdb-operator.dev/cleanup'] },
  spec: o.cluster.spec,
  status,
});

describe('reconcile with a status it cannot read', () => {
  // RDB 0 was being scaled in (pod deleted, instance unprotected); RDB 1 flushed (a candidate);
  // RDB 3 was lost holding data; the live RDB 5 is past scaleThreshold (a queued RDB is due).
  const rdbs: RdbSketch[] = [
    { ord: 0, state: 'flushed', podGone: true, protected: false },
    { ord: 1, state: 'flushed' },
    { ord: 3, state: 'rolled', phase: 'Failed' },
    { ord: 5, state: 'live', mem: 70 },
  ];

  test.each([
    ['an unknown scale-in step (the record itself unreadable)', rawStatus({ step: 'Drain' }), 'status.pools[0].scaleIn.step'],
    ['a valid record at Terminate, an unknown RDB state beside it', rawStatus({ state: 'hibernating' }), 'status.pools[0].rdbs[0].state'],
  ])('%s: Degraded naming the field; pods created and replaced; nothing deleted for scale-in, nothing unprotected or terminated', async (_n, status, field) => {
    const o = world(rdbs);
    const h = harness(storedCluster(o, status), o);
    await expect(h.run()).resolves.toBeDefined();

    // Degraded, naming the field, through a patch of phase and conditions only.
    const statusPatches = h.calls.patches.filter((p) => p.subresource === 'status');
    expect(statusPatches).toHaveLength(1);
    const written = statusPatches[0]!.body.status as { phase: string; conditions: { type: string; status: string; reason: string; message: string }[] };
    expect(Object.keys(written).sort()).toEqual(['conditions', 'phase']);
    expect(written.phase).toBe('Degraded');
    expect(written.conditions.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: INVALID_STATUS, message: expect.stringContaining(field) });
    expect(h.calls.events.filter((e) => e.reason === INVALID_STATUS)).toEqual([{ type: 'Warning', reason: INVALID_STATUS, message: expect.stringContaining(field) }]);

    // The Kubernetes side goes on: the lost RDB's replacement and the queued RDB are created.
    expect(h.calls.created.filter((c) => c.startsWith('Pod/'))).toHaveLength(2);
    expect(h.calls.deleted.map((d) => d.name)).toEqual([podName(3)]);
    // Never an irreversible scale-in step from a record it could not read.
    expect(h.calls.aws.filter((c) => c.startsWith('TerminateInstanceInGroup') || c.endsWith(' false'))).toEqual([]);
    // The stored pools are left as they were for a human to repair.
    expect((h.current().status as { pools: unknown }).pools).toEqual(status.pools);

    // The next pass: same state, no second write, no second Warning.
    const before = { patches: h.calls.patches.length, events: h.calls.events.filter((e) => e.reason === INVALID_STATUS).length };
    await h.run();
    expect(h.calls.patches.filter((p) => p.subresource === 'status')).toHaveLength(before.patches);
    expect(h.calls.events.filter((e) => e.reason === INVALID_STATUS)).toHaveLength(before.events);
  });

  test('the same world with a readable status does scale in: the filter is what held it back', async () => {
    const o = world(rdbs);
    const h = harness(storedCluster(o, rawStatus()), o);
    await h.run();
    expect(h.calls.aws).toContain(`TerminateInstanceInGroup ${instanceId(0)}`);
    expect(h.calls.events.some((e) => e.reason === INVALID_STATUS)).toBe(false);
  });

  test('an invalid RDB report warns once across reconciles and blocks nothing', async () => {
    const o = world([{ ord: 5, state: 'live', mem: 70 }]);
    const pods = o.pools.equities!.pods.map((p) => ({ ...p, invalidReport: { field: 'kdb-operator.dev/memory-percent', message: 'must be a whole, non-negative percent such as "42"', fingerprint: 'f1' } }));
    const bad = { ...o, pools: { equities: { ...o.pools.equities!, pods } } };
    const h = harness(storedCluster(o, rawStatus()), bad);
    await h.run();
    await h.run();
    await h.run();
    expect(h.calls.events.filter((e) => e.reason === 'InvalidRdbReport')).toEqual([
      { type: 'Warning', reason: 'InvalidRdbReport', message: expect.stringContaining(`RDB pod ${podName(5)} reported an invalid kdb-operator.dev/memory-percent`) },
    ]);
    expect(h.calls.patches.some((p) => p.subresource === 'status')).toBe(true);
  });
});

// Keep ofKind referenced for readers of the filter table above: the planner's own output feeds it.
test('the filtered plan of a scale-in world keeps no scale-in step', () => {
  const o = world([{ ord: 0, state: 'flushed' }, { ord: 5, state: 'live' }]);
  const actions = plan(o).filter(mayRunWhileStatusUnreadable);
  expect(ofKind(actions, 'RecordScaleInStep')).toEqual([]);
  expect(ofKind(actions, 'DeleteRdbPod')).toEqual([]);
  expect(ofKind(actions, 'CordonNode')).toEqual([]);
});
