// The permission tables of operator/src/kube/permissions.ts: how a request
// maps to RBAC attributes, that the guard refuses what a table does not grant,
// and that the KubeApi paths the operator and agent use stay inside their
// tables. The chart is compared with the tables in test/integration/chart.test.ts.
import { RestKubeApi } from '../../operator/src/kube/api.ts';
import { EventRecorder } from '../../operator/src/kube/events.ts';
import { kubeLeaseStore } from '../../operator/src/kube/lease.ts';
import { AGENT_PERMISSIONS, OPERATOR_PERMISSIONS, grantKeys, guardTransport, requestAttributes } from '../../operator/src/kube/permissions.ts';
import type { Permission } from '../../operator/src/kube/permissions.ts';
import { Resources } from '../../operator/src/kube/resources.ts';
import { RestClient } from '../../operator/src/kube/rest.ts';
import type { Transport, TransportRequest, TransportResponse } from '../../operator/src/kube/rest.ts';
import { KubeApiError } from '../../operator/src/kube/errors.ts';
import { createKubeClient } from '../../operator/src/kube/index.ts';
import { kdbClusterController } from '../../operator/src/controllers/kdbcluster/index.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';

describe('requestAttributes: a request as RBAC sees it', () => {
  test.each([
    ['GET', '/api/v1/namespaces/m/pods/p1', false, { group: '', resource: 'pods', verb: 'get', namespace: 'm', name: 'p1' }],
    ['GET', '/api/v1/pods?labelSelector=a%3Db&limit=500', false, { group: '', resource: 'pods', verb: 'list' }],
    ['GET', '/api/v1/pods', true, { group: '', resource: 'pods', verb: 'watch' }],
    ['GET', '/api/v1/nodes?watch=true', false, { group: '', resource: 'nodes', verb: 'watch' }],
    ['PATCH', '/api/v1/namespaces/m/pods/p1/status', false, { group: '', resource: 'pods/status', verb: 'patch', namespace: 'm', name: 'p1' }],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/kdb-system/leases/kdb-operator-leader', false,
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'kdb-system', name: 'kdb-operator-leader' }],
    ['POST', '/apis/batch/v1/namespaces/m/jobs', false, { group: 'batch', resource: 'jobs', verb: 'create', namespace: 'm' }],
    ['DELETE', '/api/v1/namespaces/m/pods/p1', false, { group: '', resource: 'pods', verb: 'delete', namespace: 'm', name: 'p1' }],
    ['DELETE', '/api/v1/namespaces/m/pods', false, { group: '', resource: 'pods', verb: 'deletecollection', namespace: 'm' }],
    ['PATCH', '/api/v1/persistentvolumes/pv-1', false, { group: '', resource: 'persistentvolumes', verb: 'patch', name: 'pv-1' }],
    ['GET', '/api/v1/namespaces/kube-system', false, { group: '', resource: 'namespaces', verb: 'get', name: 'kube-system' }],
    ['PATCH', '/apis/kdb-operator.dev/v1alpha1/namespaces/m/kdbclusters/x/status', false,
      { group: 'kdb-operator.dev', resource: 'kdbclusters/status', verb: 'patch', namespace: 'm', name: 'x' }],
  ] as const)('%s %s (watch %s)', (method, path, watch, want) => {
    expect(requestAttributes(method, path, watch)).toEqual(want);
  });

  test('discovery and /version are not resource requests', () => {
    for (const p of ['/apis/kdb-operator.dev/v1alpha1', '/api/v1', '/apis', '/version', '/healthz']) expect(requestAttributes('GET', p)).toBeUndefined();
  });
});

describe('the tables', () => {
  const all: Array<[string, readonly Permission[]]> = [['OPERATOR_PERMISSIONS', OPERATOR_PERMISSIONS], ['AGENT_PERMISSIONS', AGENT_PERMISSIONS]];
  test.each(all)('%s: no wildcard, no secrets, every grant says why, no verb listed twice', (_name, table) => {
    const keys = table.flatMap((p) => p.verbs.map((v) => `${p.group}/${p.resource}:${v}`));
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of table) {
      expect(`${p.group}/${p.resource}/${p.verbs.join()}`).not.toMatch(/\*|secrets/);
      expect(p.why.length).toBeGreaterThan(10);
    }
  });

  test('the operator never updates whole KdbClusters, deletes volumes or touches any Lease but its own', () => {
    const keys = grantKeys(OPERATOR_PERMISSIONS);
    for (const k of ['kdb-operator.dev/kdbclusters:update', 'kdb-operator.dev/kdbclusters/status:update', '/persistentvolumes:delete', '/nodes:delete', '/pods:update'])
      expect(keys).not.toContain(k);
    const leases = OPERATOR_PERMISSIONS.filter((p) => p.resource === 'leases');
    expect(leases.every((p) => p.scope !== 'cluster')).toBe(true);
    expect(leases.filter((p) => p.scope === 'namespace').flatMap((p) => p.verbs)).toEqual(['create']);
  });
});

// A stand-in API server for the request shapes only: echoes bodies, 409 on a create when told.
const recording = (opts: { conflictOnCreate?: boolean } = {}) => {
  const requests: TransportRequest[] = [];
  const transport: Transport = {
    server: 'https://fake',
    async send(req): Promise<TransportResponse> {
      requests.push(req);
      if (req.method === 'POST' && opts.conflictOnCreate) return { status: 409, headers: {}, text: JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', code: 409 }) };
      const body = req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {};
      const metadata = { name: 'x', namespace: 'm', resourceVersion: '7', finalizers: [] as string[], ...(body.metadata as object | undefined) };
      return { status: 200, headers: {}, text: JSON.stringify({ apiVersion: 'v1', kind: 'Thing', ...body, metadata }) };
    },
    // A watch stays open until its informer stops.
    watch: (_path, _query, _onEvent, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
  };
  return { transport, requests };
};

// Every grant the paths below exercised, per table: compared with the table at the end.
const runs: Array<{ table: readonly Permission[]; used: Set<string> }> = [];
const guarded = (table: readonly Permission[], opts?: { conflictOnCreate?: boolean }) => {
  const inner = recording(opts);
  const guard = guardTransport(inner.transport, table, 'TABLE');
  runs.push({ table, used: guard.used });
  return { api: new RestKubeApi(new RestClient({ transport: guard, maxRetries: 0 })), sent: inner.requests, used: guard.used };
};

describe('guardTransport', () => {
  test('a request the table does not grant is answered 403 Forbidden before it is sent, naming the table', async () => {
    const { api, sent } = guarded(OPERATOR_PERMISSIONS);
    const err = await api.delete({ ...Resources.PersistentVolume, name: 'pv-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(403);
    expect((err as KubeApiError).reason).toBe('Forbidden');
    expect((err as KubeApiError).message).toContain('delete persistentvolumes is not in TABLE (operator/src/kube/permissions.ts)');
    expect(sent).toEqual([]);
  });

  test('a watch the table does not grant is refused too', async () => {
    const guard = guardTransport(recording().transport, AGENT_PERMISSIONS, 'AGENT_PERMISSIONS');
    await expect(guard.watch('/api/v1/pods', {}, () => undefined, new AbortController().signal)).rejects.toThrow(/watch pods is not in AGENT_PERMISSIONS/);
  });

  test('implied grants (checked by the API server, never requested) do not let a request through', async () => {
    const { api } = guarded(OPERATOR_PERMISSIONS);
    await expect(api.replace({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name: 'x', namespace: 'm' } }, {})).rejects.toThrow(/update kdb-operator.dev\/kdbclusters is not in/);
  });
});

describe('the KubeApi paths the processes use stay inside their tables', () => {
  test('operator: lease, events, finalizers, createIfAbsent, apply, pod create/delete, node and volume patches, status', async () => {
    const { api, sent, used } = guarded(OPERATOR_PERMISSIONS);
    const lease = kubeLeaseStore(api, 'kdb-system', 'kdb-operator-leader');
    const record = { holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 };
    await lease.get(new AbortController().signal);
    await lease.create(record, new AbortController().signal);
    await lease.update(record, '7', new AbortController().signal);
    const events = new EventRecorder({ api, component: 'kdb-operator' });
    const cluster = { apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name: 'x', namespace: 'm', uid: 'u' } };
    await events.record(cluster, 'Normal', 'R', 'm');
    await events.record(cluster, 'Normal', 'R', 'm');
    await api.addFinalizer({ ...Resources.KdbCluster, namespace: 'm', name: 'x' }, 'kdb-operator.dev/cleanup');
    await api.mergePatch({ ...Resources.KdbCluster, namespace: 'm', name: 'x' }, { status: {} }, { subresource: 'status' });
    await api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'tp', namespace: 'm' } });
    await api.apply({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'tp', namespace: 'm' } });
    await api.apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'rdb', namespace: 'm' } });
    // EnsureGateway, DeleteGateway (spec.gateway).
    await api.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gw', namespace: 'm' } });
    await api.delete({ ...Resources.Deployment, namespace: 'm', name: 'gw' });
    await api.delete({ ...Resources.Service, namespace: 'm', name: 'gw' });
    await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rdb-1', namespace: 'm' } });
    await api.delete({ ...Resources.Pod, namespace: 'm', name: 'rdb-1' });
    await api.mergePatch({ ...Resources.Node, name: 'n1' }, { spec: { unschedulable: true } });
    await api.jsonPatch({ ...Resources.PersistentVolume, name: 'pv' }, [{ op: 'remove', path: '/spec/claimRef/uid' }]);
    await api.list(Resources.Pod, { fieldSelector: 'spec.nodeName=n1' });
    expect(sent.length).toBeGreaterThanOrEqual(19);
    expect([...used].sort()).toEqual([
      '/events:create', '/events:patch', '/nodes:patch', '/persistentvolumes:patch', '/pods:create', '/pods:delete', '/pods:list', '/services:delete', '/services:patch',
      'apps/deployments:delete', 'apps/deployments:patch', 'apps/statefulsets:patch', 'coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:update',
      'kdb-operator.dev/kdbclusters/status:patch', 'kdb-operator.dev/kdbclusters:get', 'kdb-operator.dev/kdbclusters:patch', 'policy/poddisruptionbudgets:patch',
    ]);
  });

  test('operator: the controller\'s informers list and watch inside the table', async () => {
    const guard = guardTransport(recording().transport, OPERATOR_PERMISSIONS, 'OPERATOR_PERMISSIONS');
    runs.push({ table: OPERATOR_PERMISSIONS, used: guard.used });
    const kube = createKubeClient({ transport: guard, permissions: { table: OPERATOR_PERMISSIONS, name: 'OPERATOR_PERMISSIONS' } });
    // Informers never call AWS; the reconciler (not run here) does.
    const { informers } = kdbClusterController({ kube, aws: {} as Aws, log: silentLogger(), agentServiceAccount: 'kdb-rdb-agent' });
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync()));
    await Promise.all(informers.map((i) => i.stop()));
    const resources = ['kdb-operator.dev/kdbclusters', '/pods', '/nodes', 'apps/statefulsets', 'apps/deployments', '/services', '/persistentvolumeclaims', '/persistentvolumes', 'batch/jobs'];
    expect([...guard.used].sort()).toEqual(resources.flatMap((r) => [`${r}:list`, `${r}:watch`]).sort());
  });

  test('operator: createIfAbsent of an existing claim, volume and Job is a create then a get', async () => {
    const { api, used } = guarded(OPERATOR_PERMISSIONS, { conflictOnCreate: true });
    for (const o of [
      { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' } },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'm' } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'm' } },
    ]) expect((await api.createIfAbsent(o)).created).toBe(false);
    expect([...used].sort()).toEqual(['/persistentvolumeclaims:create', '/persistentvolumeclaims:get', '/persistentvolumes:create', '/persistentvolumes:get', 'batch/jobs:create', 'batch/jobs:get']);
  });

  test('agent: get its pod, patch the annotations, patch its conditions', async () => {
    const { api, used } = guarded(AGENT_PERMISSIONS);
    const pod = (await api.get({ ...Resources.Pod, namespace: 'm', name: 'x' }))!;
    await api.mergePatch({ ...Resources.Pod, namespace: 'm', name: 'x' }, { metadata: { annotations: { a: '1' } } });
    await api.setPodConditions(pod, [{ type: 'kdb-operator.dev/Live', status: 'True' }]);
    expect([...used].sort()).toEqual(['/pods/status:patch', '/pods:get', '/pods:patch']);
  });

  test.each([['OPERATOR_PERMISSIONS', OPERATOR_PERMISSIONS], ['AGENT_PERMISSIONS', AGENT_PERMISSIONS]] as const)(
    '%s: every grant is exercised by one of the paths above (none is left over)', (_name, table) => {
      const used = new Set(runs.filter((r) => r.table === table).flatMap((r) => [...r.used]));
      expect([...grantKeys(table.filter((p) => !p.implied))].filter((k) => !used.has(k))).toEqual([]);
    },
  );
});
