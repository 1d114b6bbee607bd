// The typed helpers against the real API server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isConflict, registerResource } from '../../operator/src/kube/index.ts';
import type { CoreV1Event, KubeClient, KubeObject, V1ConfigMap, V1CustomResourceDefinition, V1Pod } from '../../operator/src/kube/index.ts';
import { createNamespace, deleteNamespace, stackClient, uniqueName, waitFor } from './runtime-env.ts';

let client: KubeClient;
let ns: string;
const GROUP = 'runtime-test.kdb-operator.dev';
const crdName = `widgets.${GROUP}`;

interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

beforeAll(async () => {
  client = stackClient();
  ns = await createNamespace(client, 'rt-api');
}, 30_000);

afterAll(async () => {
  await client.api.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crdName }).catch(() => undefined);
  await deleteNamespace(client, ns);
});

const cmRef = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: ns });

describe('KubeApi on the stack', () => {
  it('server-side apply of a ConfigMap: creates, updates, owns its fields, forces conflicts', async () => {
    const desired = (data: Record<string, string>): V1ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: ns }, data });
    const created = await client.api.apply(desired({ a: '1' }));
    expect(created.data).toEqual({ a: '1' });
    expect(created.metadata?.managedFields?.some((f) => f.manager === 'kdb-operator' && f.operation === 'Apply')).toBe(true);
    // Another manager takes field a.
    await client.api.apply(desired({ a: 'theirs', b: '2' }), { fieldManager: 'someone-else', force: true });
    // Without force our apply conflicts; with force (the default) we win field a and drop nothing of theirs.
    const err = await client.api.apply(desired({ a: '1' }), { force: false }).catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    const forced = await client.api.apply(desired({ a: '1' }));
    expect(forced.data).toEqual({ a: '1', b: '2' });
  });

  it('createIfAbsent, merge patch, delete with a uid precondition', async () => {
    const obj: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cia', namespace: ns }, data: { v: '1' } };
    const first = await client.api.createIfAbsent(obj);
    expect(first.created).toBe(true);
    const second = await client.api.createIfAbsent({ ...obj, data: { v: 'ignored' } });
    expect(second).toMatchObject({ created: false, object: { data: { v: '1' } } });
    const patched = await client.api.mergePatch<V1ConfigMap>(cmRef('cia'), { data: { w: '2' } });
    expect(patched.data).toEqual({ v: '1', w: '2' });
    const wrongUid = await client.api.delete(cmRef('cia'), { uid: 'not-this-one' }).catch((e: unknown) => e);
    expect(isConflict(wrongUid)).toBe(true);
    expect(await client.api.delete(cmRef('cia'), { uid: first.object.metadata!.uid!, propagationPolicy: 'Background' })).toBe(true);
    expect(await client.api.get(cmRef('cia'))).toBeUndefined();
    expect(await client.api.delete(cmRef('cia'))).toBe(false);
  });

  it('adds and removes finalizers without dropping others', async () => {
    await client.api.create<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fin', namespace: ns, finalizers: ['example.com/other'] } });
    await client.api.addFinalizer(cmRef('fin'), 'kdb-operator.dev/cleanup');
    await client.api.addFinalizer(cmRef('fin'), 'kdb-operator.dev/cleanup');
    expect((await client.api.get<V1ConfigMap>(cmRef('fin')))?.metadata?.finalizers).toEqual(['example.com/other', 'kdb-operator.dev/cleanup']);
    await client.api.removeFinalizer(cmRef('fin'), 'example.com/other');
    await client.api.delete(cmRef('fin'));
    // Held by our finalizer until we remove it.
    expect((await client.api.get<V1ConfigMap>(cmRef('fin')))?.metadata?.deletionTimestamp).toBeDefined();
    await client.api.removeFinalizer(cmRef('fin'), 'kdb-operator.dev/cleanup');
    await waitFor('gone', async () => (await client.api.get(cmRef('fin'))) === undefined);
  });

  it('sets pod conditions by strategic merge, leaving others alone', async () => {
    await client.api.createIfAbsent({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    const pod = await client.api.create<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rdb-0', namespace: ns },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'rdb', image: 'ghcr.io/kdb-operator/sim:test' }], nodeName: 'no-such-node' },
    });
    const withReady = await client.api.strategicMergePatch<V1Pod>(
      { apiVersion: 'v1', kind: 'Pod', name: 'rdb-0', namespace: ns },
      { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Starting' }] } },
      { subresource: 'status' },
    );
    const r1 = await client.api.setPodConditions(withReady, [{ type: 'kdb-operator.dev/Live', status: 'True', reason: 'Live', message: 'live' }]);
    expect(r1.changed).toBe(true);
    const r2 = await client.api.setPodConditions(r1.pod, [{ type: 'kdb-operator.dev/Live', status: 'True', reason: 'Live', message: 'live' }]);
    expect(r2.changed).toBe(false);
    const r3 = await client.api.setPodConditions(r1.pod, [
      { type: 'kdb-operator.dev/Live', status: 'False', reason: 'Rolled' },
      { type: 'kdb-operator.dev/Rolled', status: 'True', reason: 'Rolled' },
    ]);
    const types = (r3.pod.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();
    expect(types).toEqual(['Ready=False', 'kdb-operator.dev/Live=False', 'kdb-operator.dev/Rolled=True']);
    expect(pod.metadata?.uid).toBe(r3.pod.metadata?.uid);
  });

  it('applies a custom resource and merge-patches its status subresource (kind found by discovery)', async () => {
    const crd: V1CustomResourceDefinition = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group: GROUP,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    await client.api.apply(crd);
    await waitFor(
      'CRD established',
      async () =>
        (await client.api.get<V1CustomResourceDefinition>({ apiVersion: crd.apiVersion!, kind: crd.kind!, name: crdName }))?.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        ),
      20_000,
    );
    const name = uniqueName('w');
    const ref = { apiVersion: `${GROUP}/v1`, kind: 'Widget', name, namespace: ns };
    const w = await waitFor('apply widget', () =>
      client.api.apply<Widget>({ apiVersion: ref.apiVersion, kind: 'Widget', metadata: { name, namespace: ns }, spec: { size: 3 } }).catch(() => undefined),
    );
    expect(w.spec).toEqual({ size: 3 });
    const st = await client.api.patchStatus<Widget>(ref, { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] });
    expect(st.status?.phase).toBe('Ready');
    // Status written through /status survives a spec apply.
    const again = await client.api.apply<Widget>({ apiVersion: ref.apiVersion, kind: 'Widget', metadata: { name, namespace: ns }, spec: { size: 4 } });
    expect(again.status?.phase).toBe('Ready');
    registerResource({ group: GROUP, version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true });
  }, 40_000);

  it('records Events and de-duplicates repeats into a count', async () => {
    const involved = await client.api.create<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'evented', namespace: ns } });
    const rec = client.eventRecorder({ component: 'kdb-operator', instance: 'test' });
    await rec.warning(involved, 'ScaleOutFailed', 'AWS throttled');
    await rec.warning(involved, 'ScaleOutFailed', 'AWS throttled');
    await rec.warning(involved, 'ScaleOutFailed', 'AWS throttled');
    await rec.normal(involved, 'ScaledOut', 'desired 1 -> 2');
    const events = await client.api.list<CoreV1Event>(
      { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
      { namespace: ns, fieldSelector: `involvedObject.name=evented` },
    );
    const byReason = Object.fromEntries(events.items.map((e) => [e.reason, e]));
    expect(events.items).toHaveLength(2);
    expect(byReason.ScaleOutFailed).toMatchObject({
      type: 'Warning',
      count: 3,
      message: 'AWS throttled',
      involvedObject: { kind: 'ConfigMap', name: 'evented', uid: involved.metadata?.uid },
      source: { component: 'kdb-operator' },
    });
    expect(byReason.ScaledOut).toMatchObject({ type: 'Normal', count: 1 });
  });
});
