// The health/metrics endpoint, and a controller wired to an informer on the stack.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Resources } from '../../operator/src/kube/index.ts';
import type { KubeClient, V1ConfigMap } from '../../operator/src/kube/index.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { startHealthServer } from '../../operator/src/runtime/http.ts';
import type { HealthServer } from '../../operator/src/runtime/http.ts';
import { createMetrics } from '../../operator/src/runtime/metrics.ts';
import { createNamespace, deleteNamespace, stackClient, testLogger, waitFor } from './runtime-env.ts';

let admin: KubeClient;
let ns: string;
let http: HealthServer | undefined;

beforeAll(async () => {
  admin = stackClient();
  ns = await createNamespace(admin, 'rt-http');
}, 30_000);

afterAll(async () => {
  await http?.close();
  await deleteNamespace(admin, ns);
});

describe('health server and metrics', () => {
  it('serves /healthz, /readyz gated on informer sync, and /metrics with the operator counters', async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    const client = stackClient({ metrics });
    const inf = client.informer<V1ConfigMap>({ resource: Resources.ConfigMap, namespace: ns });
    const reconciled: string[] = [];
    const controller = new Controller({
      name: 'kdbcluster',
      metrics,
      logger: testLogger(),
      reconcile: async (key) => {
        reconciled.push(key);
        if (key.endsWith('/bad')) throw new Error('bad object');
        return key.endsWith('/slow') ? { requeueAfterMs: 60_000 } : undefined;
      },
    });
    inf.onChange((o) => controller.enqueue(`${o.metadata?.namespace}/${o.metadata?.name}`));
    let leading = true;
    http = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      readyChecks: {
        informers: () => inf.hasSynced() || 'configmaps not synced',
        leaderElection: () => leading || 'lost',
      },
    });
    const base = `http://127.0.0.1:${http.port()}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('informers: configmaps not synced');

    inf.start();
    await inf.waitForSync();
    controller.start();
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    leading = false;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    leading = true;

    for (const name of ['good', 'bad', 'slow']) {
      await admin.api.create<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
      await client.api.create<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-2`, namespace: ns } });
    }
    await waitFor('reconciles', () => reconciled.filter((k) => k.endsWith('/bad')).length >= 2 && reconciled.includes(`${ns}/slow`));
    metrics.recordAwsCall('SetDesiredCapacity', 'success');
    metrics.recordAwsCall('SetDesiredCapacity', 'throttled');
    metrics.recordScaleEvent('pool-a', 'out');
    metrics.observeReaction('out', 1.5);

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/kdb_operator_reconcile_total\{controller="kdbcluster",result="success"\} [1-9]/);
    expect(text).toMatch(/kdb_operator_reconcile_total\{controller="kdbcluster",result="error"\} [2-9]/);
    expect(text).toMatch(/kdb_operator_reconcile_total\{controller="kdbcluster",result="requeue"\} 1/);
    expect(text).toContain('kdb_operator_reconcile_duration_seconds_bucket');
    expect(text).toContain('kdb_operator_workqueue_depth');
    expect(text).toContain('kdb_operator_aws_calls_total{operation="SetDesiredCapacity",outcome="throttled"} 1');
    expect(text).toContain('kdb_operator_scale_events_total{pool="pool-a",direction="out"} 1');
    expect(text).toContain('kdb_operator_reaction_seconds_bucket{le="2",direction="out"} 1');
    expect(text).toMatch(/kdb_operator_kube_requests_total\{verb="POST",code="201"\} 3/);
    expect(text).toContain('kdb_operator_process_cpu_seconds_total');

    await controller.stop(5000);
    await inf.stop();
  }, 30_000);
});
