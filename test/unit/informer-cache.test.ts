// What the informers keep: only what reconcile reads, for a firm of 200 clusters.
import { describe, expect, test } from '@jest/globals';
import { INFORMER_SELECTORS } from '../../operator/src/controllers/kdbcluster/index.ts';
import { Informer, LAST_APPLIED, stripForCache, stripNodeForCache } from '../../operator/src/kube/informer.ts';
import type { ListWatcher } from '../../operator/src/kube/api.ts';
import { Resources } from '../../operator/src/kube/resources.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import { FakeClock } from '../../operator/src/runtime/clock.ts';
import { LABEL } from '../../operator/src/specs/names.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';

const managedFields = [{ manager: 'kubelet', operation: 'Update', fieldsV1: { 'f:status': { 'f:conditions': {} } } }];

describe('stripForCache', () => {
  test('drops managedFields and kubectl\'s last-applied copy, keeps every other annotation, label and field', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        resourceVersion: '5',
        uid: 'u',
        labels: { a: 'b' },
        annotations: { [LAST_APPLIED]: '{"huge":true}', 'kdb-operator.dev/rdb-status': '{"state":"flushed"}' },
        managedFields,
      },
      spec: { nodeName: 'n' },
      status: { phase: 'Running' },
    };
    const kept = stripForCache(pod);
    expect(kept).toEqual({
      ...pod,
      metadata: { name: 'p', namespace: 'ns', resourceVersion: '5', uid: 'u', labels: { a: 'b' }, annotations: { 'kdb-operator.dev/rdb-status': '{"state":"flushed"}' } },
    });
    // Pure: the input is untouched.
    expect(pod.metadata.managedFields).toBe(managedFields);
    expect(pod.metadata.annotations[LAST_APPLIED]).toBeDefined();
  });

  test('an object with nothing to drop is returned as is', () => {
    const o = { metadata: { name: 'x', annotations: { k: 'v' } } } as KubeObject;
    expect(stripForCache(o)).toBe(o);
  });

  test('an RDB pod as the operator builds it reads the same stripped (the planner\'s inputs are all kept)', () => {
    const cluster = KdbCluster.parse({
      apiVersion: 'kdb-operator.dev/v1alpha1',
      kind: 'KdbCluster',
      metadata: { name: 'markets', namespace: 'trading', uid: 'c-uid' },
      spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
    });
    const built = rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 3, agentServiceAccount: 'a' }) as KubeObject;
    const served = { ...built, metadata: { ...built.metadata, managedFields } } as KubeObject;
    expect(stripForCache(served)).toEqual(built);
  });
});

describe('stripNodeForCache', () => {
  test('drops the image list too; labels, annotations, providerID, unschedulable and conditions stay', () => {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n', labels: { [LABEL.nodeGroup]: 'rdb' }, annotations: { 'karpenter.sh/do-not-disrupt': 'true' }, managedFields },
      spec: { providerID: 'aws:///us-east-1a/i-0123', unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], images: Array.from({ length: 300 }, (_, i) => ({ names: [`img-${i}`], sizeBytes: i })) },
    };
    expect(stripNodeForCache(node)).toEqual({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n', labels: { [LABEL.nodeGroup]: 'rdb' }, annotations: { 'karpenter.sh/do-not-disrupt': 'true' } },
      spec: { providerID: 'aws:///us-east-1a/i-0123', unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  });
});

describe('informer selectors', () => {
  test('pods: the project\'s only; nodes: those of an EKS node group (what observe matches pools by)', () => {
    expect(INFORMER_SELECTORS.managed).toBe('app.kubernetes.io/managed-by=kdb-operator');
    expect(INFORMER_SELECTORS.nodes).toBe(LABEL.nodeGroup);
    expect(INFORMER_SELECTORS.nodes).toBe('eks.amazonaws.com/nodegroup');
  });
});

describe('the informer caches stripped objects', () => {
  test('listed and watched objects lose managedFields; a transform given replaces the default', async () => {
    let emit: ((ev: { type: string; object: KubeObject }) => void) | undefined;
    const lw = {
      list: async () => ({ items: [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '1', managedFields } }], resourceVersion: '1' }),
      watch: (_r: unknown, _o: unknown, onEvent: (ev: { type: string; object: KubeObject }) => void, signal: AbortSignal) =>
        new Promise<void>((resolve) => {
          emit = onEvent;
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
    } as unknown as ListWatcher;
    const inf = new Informer<KubeObject>(lw, { resource: Resources.ConfigMap, clock: new FakeClock(), random: () => 0.5 });
    inf.start();
    await inf.waitForSync();
    expect(inf.get('ns/a')?.metadata).toEqual({ name: 'a', namespace: 'ns', resourceVersion: '1' });
    await new Promise((r) => setImmediate(r));
    emit!({ type: 'MODIFIED', object: { metadata: { name: 'a', namespace: 'ns', resourceVersion: '2', managedFields } as KubeObject['metadata'] } });
    expect(inf.get('ns/a')?.metadata).toEqual({ name: 'a', namespace: 'ns', resourceVersion: '2' });
    await inf.stop();

    const named = new Informer<KubeObject>(lw, { resource: Resources.ConfigMap, clock: new FakeClock(), random: () => 0.5, transform: (o) => ({ ...o, kind: 'Seen' }) });
    named.start();
    await named.waitForSync();
    expect(named.get('ns/a')?.kind).toBe('Seen');
    await named.stop();
  });
});
