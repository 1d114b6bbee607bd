// Status is the operator's memory: what it stops writing must go, and what
// the API server drops (a CRD older than the operator prunes unknown fields)
// must be said, not silently forgotten and acted on again.
import { describe, expect, test } from '@jest/globals';
import { KdbCluster, KdbClusterStatus } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { Effector, StatusConflictError, StatusPrunedError } from '../../operator/src/controllers/kdbcluster/effect.ts';
import type { EventRecorder, KubeApi } from '../../operator/src/kube/index.ts';
import { mergePatchFrom, prunedFields } from '../../operator/src/kube/index.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';

describe('mergePatchFrom', () => {
  test('fields left out become null, nested objects are diffed, arrays and values replaced', () => {
    const prev = { phase: 'Running', mergePending: 'x', windDown: { reason: 'Hibernation', step: 'Done', day: '2026-03-02' }, pools: [{ name: 'a' }] };
    const next = { phase: 'Running', windDown: { reason: 'Deletion', step: 'ScalingIn' }, pools: [] };
    expect(mergePatchFrom(prev, next)).toEqual({ phase: 'Running', mergePending: null, windDown: { reason: 'Deletion', step: 'ScalingIn', day: null }, pools: [] });
  });

  test('applied as RFC 7386 says, the patch turns prev into next', () => {
    const apply = (target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> => {
      const out = { ...target };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete out[k];
        else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k]))
          out[k] = apply(out[k] as Record<string, unknown>, v as Record<string, unknown>);
        else out[k] = v;
      }
      return out;
    };
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{}, { a: 1 }],
      [{ a: 1, b: { c: 2, d: 3 } }, { b: { c: 4 } }],
      [{ a: [1, 2], b: 'x' }, { a: [3] }],
      [{ a: { b: { c: 1 } } }, { a: {} }],
    ];
    for (const [prev, next] of cases) expect(apply(prev, mergePatchFrom(prev, next))).toEqual(next);
  });

  test('prunedFields names what the stored object lacks', () => {
    expect(prunedFields({ phase: 'Running', windDown: { step: 'Done' }, gone: undefined }, { phase: 'Running' })).toEqual(['windDown']);
    expect(prunedFields({ phase: 'Running' }, undefined)).toEqual(['phase']);
  });
});

describe('the status write', () => {
  const cluster = KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', resourceVersion: '7' },
    spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
    status: { phase: 'Running', mergePending: 'waiting', conditions: [], pools: [] },
  });
  const status = KdbClusterStatus.parse({
    phase: 'Deleting',
    conditions: [],
    pools: [],
    windDown: { reason: 'Deletion', step: 'WritingDown', since: '2026-03-02T15:00:00Z', writeDown: true },
  });
  const effectorWith = (stores: (patch: Record<string, unknown>) => Record<string, unknown>) => {
    const patches: unknown[] = [];
    const events: string[] = [];
    const api = {
      mergePatch: async (_ref: unknown, body: { status: Record<string, unknown> }) => {
        patches.push(body);
        return { metadata: { resourceVersion: '8' }, status: stores(body.status) };
      },
    } as unknown as KubeApi;
    const recorder = { record: async (_o: unknown, type: string, reason: string, message: string) => void events.push(`${type} ${reason}: ${message}`) } as unknown as EventRecorder;
    return { patches, events, effector: new Effector({ api, aws: {} as Aws, events: recorder, log: silentLogger(), agentServiceAccount: 'a' }, cluster) };
  };

  test('a field no longer written is removed (null in the patch)', async () => {
    const { patches, effector } = effectorWith((s) => s);
    await effector.run([{ kind: 'UpdateStatus', status }]);
    expect(patches[0]).toMatchObject({ metadata: { resourceVersion: '7' }, status: { phase: 'Deleting', mergePending: null } });
  });

  test('a field the API server dropped fails the pass with a Warning that names it and the fix', async () => {
    const { events, effector } = effectorWith(({ windDown: _w, ...rest }) => rest);
    await expect(effector.run([{ kind: 'UpdateStatus', status }])).rejects.toBeInstanceOf(StatusPrunedError);
    expect(events).toEqual([expect.stringMatching(/^Warning CrdOutdated: the API server dropped status\.windDown: .*apply crds\/kdbclusters\.kdb-operator\.dev\.yaml/)]);
  });

  test('a 409 (the informer\'s copy was a step behind) is a conflict to plan again from, not a failure', async () => {
    const api = {
      mergePatch: async () => {
        throw Object.assign(new Error('Conflict'), { code: 409, statusCode: 409 });
      },
    } as unknown as KubeApi;
    const effector = new Effector({ api, aws: {} as Aws, events: {} as EventRecorder, log: silentLogger(), agentServiceAccount: 'a' }, cluster);
    await expect(effector.run([{ kind: 'UpdateStatus', status }, { kind: 'EmitEvent', event: { type: 'Normal', reason: 'X', message: 'y' } }])).rejects.toBeInstanceOf(StatusConflictError);
  });
});

describe('the scale-in record write', () => {
  const legacy = { rdb: 'markets-main-rdb-0', instanceId: 'i-0', node: 'n-0', step: 'Unprotect' as const, startedAt: '2026-03-02T15:00:00Z' };
  const cluster = KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', resourceVersion: '7' },
    spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
    // Written by an operator older than parallel scale-ins.
    status: { phase: 'ScalingIn', conditions: [], pools: [{ name: 'main', scaleIn: legacy }] },
  });
  const chain = (i: number, step: 'DeletePod' | 'Terminate' = 'DeletePod') => ({
    rdb: `markets-main-rdb-${i}`,
    instanceId: `i-${i}`,
    node: `n-${i}`,
    step,
    startedAt: '2026-03-02T15:01:00Z',
  });
  const effectorWith = (stores: (status: Record<string, unknown>) => Record<string, unknown> = (s) => s) => {
    const patches: { status: { pools: Record<string, unknown>[] } }[] = [];
    const calls: string[] = [];
    const events: string[] = [];
    const api = {} as KubeApi;
    (api as unknown as { mergePatch: unknown }).mergePatch = async (ref: { name: string; subresource?: string }, body: { status?: { pools: Record<string, unknown>[] }; spec?: unknown }, o?: { subresource?: string }) => {
      if (o?.subresource !== 'status') {
        calls.push(`patch ${ref.name}`);
        return {};
      }
      patches.push(body as { status: { pools: Record<string, unknown>[] } });
      calls.push('patch status');
      return { metadata: { resourceVersion: String(8 + patches.length) }, status: stores(body.status as Record<string, unknown>) };
    };
    const recorder = { record: async (_o: unknown, type: string, reason: string, message: string) => void events.push(`${type} ${reason}: ${message}`) } as unknown as EventRecorder;
    return { patches, calls, events, effector: new Effector({ api, aws: {} as Aws, events: recorder, log: silentLogger(), agentServiceAccount: 'a' }, cluster) };
  };

  test('consecutive records are one status write holding every chain; the legacy scaleIn moves into scaleIns', async () => {
    const { patches, calls, effector } = effectorWith();
    await effector.run([
      { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-0', record: { ...legacy, step: 'Terminate' } },
      { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-1', record: chain(1) },
      { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-2', record: chain(2) },
      { kind: 'CordonNode', node: 'n-1' },
    ]);
    expect(calls).toEqual(['patch status', 'patch n-1']);
    const pool = patches[0]!.status.pools[0]!;
    expect(pool.scaleIn).toBeUndefined();
    expect(pool.scaleIns).toEqual([{ ...legacy, step: 'Terminate' }, chain(1), chain(2)]);
  });

  test('a record cleared is removed from the list; the last one cleared leaves no scaleIns at all', async () => {
    const { patches, effector } = effectorWith();
    await effector.run([
      { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-1', record: chain(1) },
      { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-0', record: null },
      { kind: 'EmitEvent', event: { type: 'Normal', reason: 'X', message: 'y' } },
      { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-1', record: null },
    ]);
    expect(patches).toHaveLength(2);
    expect(patches[0]!.status.pools[0]!.scaleIns).toEqual([chain(1)]);
    expect(patches[1]!.status.pools[0]).toEqual({ name: 'main', queued: [], rolled: [], rdbs: [] });
  });

  test('a CRD that prunes scaleIns fails the pass with a Warning, before any step runs', async () => {
    const { calls, events, effector } = effectorWith((s) => ({ ...s, pools: (s.pools as Record<string, unknown>[]).map(({ scaleIns: _x, ...p }) => p) }));
    await expect(
      effector.run([
        { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-1', record: chain(1) },
        { kind: 'CordonNode', node: 'n-1' },
      ]),
    ).rejects.toBeInstanceOf(StatusPrunedError);
    expect(calls).toEqual(['patch status']);
    expect(events).toEqual([expect.stringMatching(/^Warning CrdOutdated: the API server dropped status\.pools\[\]\.scaleIns \(pool main\)/)]);
  });
});
