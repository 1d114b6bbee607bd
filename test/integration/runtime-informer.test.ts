// Informer against the real API server: sees create/update/delete, and keeps
// working after its connections are cut.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Resources } from '../../operator/src/kube/index.ts';
import type { Informer, KubeClient, V1ConfigMap } from '../../operator/src/kube/index.ts';
import { CuttableProxy, apiServerAddress, createNamespace, deleteNamespace, stackClient, testLogger, waitFor } from './runtime-env.ts';

let client: KubeClient;
let ns: string;
const informers: Informer<V1ConfigMap>[] = [];

const cm = (name: string, data: Record<string, string>, labels: Record<string, string> = { app: 'runtime-it' }): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels },
  data,
});

beforeAll(async () => {
  client = stackClient();
  ns = await createNamespace(client, 'rt-informer');
}, 30_000);

afterAll(async () => {
  for (const i of informers) await i.stop();
  await deleteNamespace(client, ns);
});

describe('Informer on the stack', () => {
  it('sees create, update and delete of ConfigMaps, scoped by namespace and label selector', async () => {
    await client.api.create(cm('pre-existing', { a: '1' }));
    const inf = client.informer<V1ConfigMap>({ resource: Resources.ConfigMap, namespace: ns, labelSelector: 'app=runtime-it' });
    informers.push(inf);
    const log: string[] = [];
    inf.onAdd((o) => log.push(`add ${o.metadata?.name}`));
    inf.onUpdate((o) => log.push(`update ${o.metadata?.name} ${JSON.stringify(o.data)}`));
    inf.onDelete((o) => log.push(`delete ${o.metadata?.name}`));
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get(`${ns}/pre-existing`)?.data).toEqual({ a: '1' });

    await client.api.create(cm('c1', { v: '1' }));
    await client.api.create(cm('ignored', { v: '1' }, { app: 'other' }));
    await waitFor('add c1', () => inf.get(`${ns}/c1`));
    await client.api.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', name: 'c1', namespace: ns }, { data: { v: '2' } });
    await waitFor('update c1', () => inf.get(`${ns}/c1`)?.data?.v === '2');
    await client.api.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'c1', namespace: ns });
    await waitFor('delete c1', () => inf.get(`${ns}/c1`) === undefined);

    expect(log).toEqual(['add pre-existing', 'add c1', 'update c1 {"v":"2"}', 'delete c1']);
    expect(inf.get(`${ns}/ignored`)).toBeUndefined();
    // Objects from the list and from watch events look alike: strings, apiVersion/kind set.
    const listed = inf.get(`${ns}/pre-existing`)!;
    expect(typeof listed.metadata?.creationTimestamp).toBe('string');
    expect(listed).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  }, 30_000);

  it('restarts after its connections are cut and catches up with changes made meanwhile', async () => {
    const proxy = await new CuttableProxy(apiServerAddress(client)).listen();
    try {
      const viaProxy = stackClient({ server: `https://127.0.0.1:${proxy.port}`, logger: testLogger() });
      const inf = viaProxy.informer<V1ConfigMap>({ resource: Resources.ConfigMap, namespace: ns, backoffBaseMs: 200, backoffMaxMs: 2000 });
      informers.push(inf);
      inf.start();
      await inf.waitForSync();
      await client.api.create(cm('before-cut', { v: '1' }));
      await waitFor('before-cut', () => inf.get(`${ns}/before-cut`));

      // Cut and refuse connections for a while: the watch fails and so do re-list attempts.
      proxy.refuse(true);
      const cut = proxy.cut();
      expect(cut).toBeGreaterThan(0);
      await client.api.create(cm('during-outage', { v: '1' }));
      await client.api.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'before-cut', namespace: ns });
      await new Promise((r) => setTimeout(r, 1500));
      expect(inf.get(`${ns}/during-outage`)).toBeUndefined();
      proxy.refuse(false);

      await waitFor('catch up after outage', () => inf.get(`${ns}/during-outage`) && inf.get(`${ns}/before-cut`) === undefined, 20_000);
      expect(inf.restarts()).toBeGreaterThanOrEqual(1);
      // And it keeps watching.
      await client.api.create(cm('after', { v: '1' }));
      await waitFor('after', () => inf.get(`${ns}/after`));
      console.log(`informer recovered after cutting ${cut} connection(s); restarts=${inf.restarts()}`);
    } finally {
      await proxy.close();
    }
  }, 40_000);
});
