import { FakeClock, flushMicrotasks } from '../../operator/src/runtime/clock.ts';
import { KubeApiError, isAlreadyExists, isConflict, isNotFound } from '../../operator/src/kube/errors.ts';
import { RestClient, parseRetryAfter } from '../../operator/src/kube/rest.ts';
import type { Transport, TransportRequest, TransportResponse } from '../../operator/src/kube/rest.ts';
import { RestKubeApi } from '../../operator/src/kube/api.ts';

type Step = TransportResponse | Error;
const json = (status: number, body: unknown, headers: Record<string, string> = {}): TransportResponse => ({
  status,
  headers,
  text: JSON.stringify(body),
});

const scripted = (steps: Step[]) => {
  const requests: Array<TransportRequest & { at: number }> = [];
  let clockRef: FakeClock | undefined;
  const transport: Transport = {
    server: 'https://fake',
    async send(req) {
      requests.push({ ...req, at: clockRef?.now() ?? 0 });
      const step = steps.shift();
      if (step === undefined) throw new Error('no more scripted responses');
      if (step instanceof Error) throw step;
      return step;
    },
    watch: () => Promise.resolve(),
  };
  return { transport, requests, bind: (c: FakeClock) => (clockRef = c) };
};

/** Run `p` while moving the fake clock until it settles. */
const drive = async <T>(clock: FakeClock, p: Promise<T>, stepMs = 50, maxMs = 600_000): Promise<T> => {
  let settled = false;
  const out = p.finally(() => (settled = true));
  out.catch(() => {});
  for (let t = 0; !settled && t < maxMs; t += stepMs) await clock.advanceAsync(stepMs);
  return out;
};

describe('RestClient retries', () => {
  test('429 waits Retry-After then succeeds', async () => {
    const clock = new FakeClock();
    const s = scripted([json(429, { reason: 'TooManyRequests' }, { 'retry-after': '3' }), json(200, { ok: 1 })]);
    s.bind(clock);
    const rest = new RestClient({ transport: s.transport, clock, random: () => 0 });
    const out = await drive(clock, rest.request<{ ok: number }>({ method: 'GET', path: '/api/v1/pods' }));
    expect(out).toEqual({ ok: 1 });
    expect(s.requests[1]!.at - s.requests[0]!.at).toBe(3000);
  });

  test('5xx and connection errors retry with growing jittered backoff; 4xx does not retry', async () => {
    const clock = new FakeClock();
    const s = scripted([json(503, {}), new TypeError('fetch failed'), json(500, {}), json(201, { created: true })]);
    s.bind(clock);
    const rest = new RestClient({ transport: s.transport, clock, random: () => 1, backoffBaseMs: 200 });
    const out = await drive(clock, rest.request({ method: 'POST', path: '/x', body: { a: 1 } }), 10);
    expect(out).toEqual({ created: true });
    const gaps = s.requests.slice(1).map((r, i) => r.at - s.requests[i]!.at);
    expect(gaps).toEqual([200, 400, 800]);
    expect(s.requests[0]!.headers['content-type']).toBe('application/json');
    expect(s.requests[0]!.body).toBe('{"a":1}');

    const s2 = scripted([json(404, { reason: 'NotFound', message: 'pods "x" not found' })]);
    const rest2 = new RestClient({ transport: s2.transport, clock });
    const err = await rest2.request({ method: 'GET', path: '/api/v1/namespaces/ns/pods/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isNotFound(err)).toBe(true);
    expect((err as KubeApiError).message).toContain('pods "x" not found');
    expect(s2.requests).toHaveLength(1);
  });

  test('gives up after maxRetries with the last error', async () => {
    const clock = new FakeClock();
    const s = scripted([json(500, {}), json(500, {}), json(500, { message: 'etcd down' })]);
    const rest = new RestClient({ transport: s.transport, clock, maxRetries: 2 });
    const err = await drive(clock, rest.request({ method: 'GET', path: '/x' })).catch((e: unknown) => e);
    expect((err as KubeApiError).statusCode).toBe(500);
    expect((err as KubeApiError).message).toContain('etcd down');
    expect(s.requests).toHaveLength(3);
  });

  test('client-side rate limit: burst then qps', async () => {
    const clock = new FakeClock();
    const steps = Array.from({ length: 10 }, () => json(200, {}));
    const s = scripted(steps);
    s.bind(clock);
    const rest = new RestClient({ transport: s.transport, clock, qps: 2, burst: 4 });
    await drive(clock, Promise.all(Array.from({ length: 8 }, () => rest.request({ method: 'GET', path: '/x' }))), 10);
    const at = s.requests.map((r) => r.at - s.requests[0]!.at);
    expect(at).toEqual([0, 0, 0, 0, 500, 1000, 1500, 2000]);
  });

  test('caller abort stops retrying', async () => {
    const clock = new FakeClock();
    const s = scripted([json(503, {}), json(503, {}), json(503, {})]);
    const rest = new RestClient({ transport: s.transport, clock });
    const ac = new AbortController();
    const p = rest.request({ method: 'GET', path: '/x', signal: ac.signal }).catch((e: unknown) => e);
    await flushMicrotasks();
    ac.abort(new Error('stop'));
    expect(((await p) as Error).message).toBe('stop');
    expect(s.requests).toHaveLength(1);
  });

  test('parseRetryAfter', () => {
    expect(parseRetryAfter('2', 0)).toBe(2);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6);
  });
});

describe('RestKubeApi requests', () => {
  const ok = (body: unknown = {}) => json(200, body);

  test('apply sends an apply patch as kdb-operator with force, without server fields', async () => {
    const s = scripted([ok({ kind: 'ConfigMap' })]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    await api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'ns', resourceVersion: '5', managedFields: [{ manager: 'x' }] },
      data: { a: '1' },
    } as never);
    const r = s.requests[0]!;
    expect(r.method).toBe('PATCH');
    expect(r.path).toBe('/api/v1/namespaces/ns/configmaps/c?fieldManager=kdb-operator&force=true');
    expect(r.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(JSON.parse(r.body!)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { a: '1' } });
  });

  test('patchStatus of a custom resource is a merge patch on /status', async () => {
    const s = scripted([ok()]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    await api.patchStatus({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', name: 'k', namespace: 'ns' }, { phase: 'Ready' });
    expect(s.requests[0]!.path).toBe('/apis/kdb-operator.dev/v1alpha1/namespaces/ns/kdbclusters/k/status');
    expect(s.requests[0]!.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(s.requests[0]!.body!)).toEqual({ status: { phase: 'Ready' } });
  });

  test('setPodConditions: strategic merge of only the changed conditions; no request when unchanged', async () => {
    const s = scripted([ok({ kind: 'Pod' })]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns' },
      status: {
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
          { type: 'kdb-operator.dev/Live', status: 'True', reason: 'Live', lastTransitionTime: '2026-01-01T00:00:00Z' },
        ],
      },
    };
    const same = await api.setPodConditions(pod, [{ type: 'kdb-operator.dev/Live', status: 'True', reason: 'Live' }]);
    expect(same.changed).toBe(false);
    expect(s.requests).toHaveLength(0);
    const res = await api.setPodConditions(
      pod,
      [
        { type: 'kdb-operator.dev/Live', status: 'False', reason: 'Rolled' },
        { type: 'kdb-operator.dev/Rolled', status: 'True', reason: 'Rolled' },
      ],
      Date.parse('2026-02-02T10:00:00Z'),
    );
    expect(res.changed).toBe(true);
    const r = s.requests[0]!;
    expect(r.path).toBe('/api/v1/namespaces/ns/pods/p/status');
    expect(r.headers['content-type']).toBe('application/strategic-merge-patch+json');
    expect(JSON.parse(r.body!)).toEqual({
      status: {
        conditions: [
          { type: 'kdb-operator.dev/Live', status: 'False', reason: 'Rolled', lastTransitionTime: '2026-02-02T10:00:00Z' },
          { type: 'kdb-operator.dev/Rolled', status: 'True', reason: 'Rolled', lastTransitionTime: '2026-02-02T10:00:00Z' },
        ],
      },
    });
  });

  test('delete sends uid precondition and propagation policy; 404 means already gone', async () => {
    const s = scripted([ok({ kind: 'Status' }), json(404, { reason: 'NotFound' })]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' };
    expect(await api.delete(ref, { uid: 'u1', propagationPolicy: 'Background', gracePeriodSeconds: 0 })).toBe(true);
    expect(JSON.parse(s.requests[0]!.body!)).toEqual({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      preconditions: { uid: 'u1' },
      propagationPolicy: 'Background',
      gracePeriodSeconds: 0,
    });
    expect(await api.delete(ref)).toBe(false);
  });

  test('createIfAbsent returns the existing object on AlreadyExists', async () => {
    const s = scripted([json(409, { reason: 'AlreadyExists' }), ok({ metadata: { name: 'c', uid: 'old' } })]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    const r = await api.createIfAbsent({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } });
    expect(r).toEqual({ created: false, object: { metadata: { name: 'c', uid: 'old' } } });
    expect(s.requests.map((x) => x.method)).toEqual(['POST', 'GET']);
  });

  test('addFinalizer is conditional on resourceVersion and retries a conflict', async () => {
    const s = scripted([
      ok({ metadata: { name: 'k', resourceVersion: '1', finalizers: ['other'] } }),
      json(409, { reason: 'Conflict' }),
      ok({ metadata: { name: 'k', resourceVersion: '2', finalizers: ['other', 'third'] } }),
      ok({ metadata: { name: 'k', resourceVersion: '3' } }),
    ]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    await api.addFinalizer({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', name: 'k', namespace: 'ns' }, 'kdb-operator.dev/cleanup');
    expect(JSON.parse(s.requests[3]!.body!)).toEqual({
      metadata: { finalizers: ['other', 'third', 'kdb-operator.dev/cleanup'], resourceVersion: '2' },
    });
  });

  test('list follows continue tokens and fills in apiVersion/kind', async () => {
    const s = scripted([
      ok({ metadata: { resourceVersion: '10', continue: 'c1' }, items: [{ metadata: { name: 'a' } }] }),
      ok({ metadata: { resourceVersion: '10' }, items: [{ metadata: { name: 'b' } }] }),
    ]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    const list = await api.list({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, { namespace: 'ns', labelSelector: 'a=b' });
    expect(list.resourceVersion).toBe('10');
    expect(list.items).toEqual([
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' } },
    ]);
    expect(s.requests[1]!.path).toContain('continue=c1');
    expect(s.requests[0]!.path).toBe('/api/v1/namespaces/ns/pods?labelSelector=a%3Db&limit=500');
  });

  test('unknown kinds are resolved through discovery', async () => {
    const s = scripted([
      ok({ resources: [{ name: 'widgets', kind: 'Widget', namespaced: false }, { name: 'widgets/status', kind: 'Widget', namespaced: false }] }),
      ok({ metadata: { name: 'w' } }),
    ]);
    const api = new RestKubeApi(new RestClient({ transport: s.transport }));
    expect(await api.get({ apiVersion: 'example.com/v2', kind: 'Widget', name: 'w' })).toEqual({ metadata: { name: 'w' } });
    expect(s.requests.map((r) => r.path)).toEqual(['/apis/example.com/v2', '/apis/example.com/v2/widgets/w']);
  });

  test('error predicates', () => {
    const e = (statusCode: number, reason: string) => new KubeApiError({ statusCode, reason, message: '', verb: 'GET', path: '/' });
    expect(isAlreadyExists(e(409, 'AlreadyExists'))).toBe(true);
    expect(isAlreadyExists(e(409, 'Conflict'))).toBe(false);
    expect(isConflict(e(409, 'Conflict'))).toBe(true);
  });
});

describe('wire types', () => {
  test('timestamps are strings, keys keep their JSON names, fields stay optional', () => {
    const pod: import('../../operator/src/kube/types.ts').V1Pod = { metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z' } };
    // @ts-expect-error a Date is not what the API server sends
    const bad: import('../../operator/src/kube/types.ts').V1Pod = { metadata: { creationTimestamp: new Date() } };
    const crd: import('../../operator/src/kube/types.ts').V1CustomResourceDefinition = {
      spec: {
        group: 'g',
        scope: 'Namespaced',
        names: { plural: 'ws', kind: 'W' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    const list: import('../../operator/src/kube/types.ts').V1ListMeta = { continue: 'token' };
    expect([pod, bad, crd, list]).toHaveLength(4);
  });
});
