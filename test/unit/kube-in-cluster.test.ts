import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { KubeApiError } from '../../operator/src/kube/errors.ts';
import {
  MAX_RESPONSE_BYTES,
  inClusterAddress,
  inClusterTransport,
} from '../../operator/src/kube/in-cluster.ts';
import { flatHeaders, type RequestFn } from '../../operator/src/kube/https-transport.ts';
import { RestClient } from '../../operator/src/kube/rest.ts';
import type { TransportRequest } from '../../operator/src/kube/rest.ts';
import { realClock } from '../../operator/src/runtime/clock.ts';

const ENV = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-in-cluster-'));
  writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n(not parsed until a connection)\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'token'), 'token-1\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** The connection fails instead of answering. */
  error?: Error;
}

/** A stand-in for https.request: records the options and body, answers from the script. */
const fakeRequest = (answers: Answer[]) => {
  const sent: Array<{ opts: https.RequestOptions; body: string | undefined }> = [];
  const request: RequestFn = (opts, onResponse) => {
    const req = new EventEmitter() as EventEmitter & { end: (body?: string) => void; destroy: () => void };
    req.destroy = () => undefined;
    req.end = (body) => {
      sent.push({ opts, body });
      const a = answers.shift() ?? { error: new Error('no more scripted answers') };
      setImmediate(() => {
        if (a.error) {
          req.emit('error', a.error);
          return;
        }
        const res = new PassThrough() as PassThrough & Pick<IncomingMessage, 'statusCode' | 'headers'>;
        res.statusCode = a.status ?? 200;
        res.headers = (a.headers ?? {}) as IncomingMessage['headers'];
        onResponse(res as unknown as IncomingMessage);
        res.end(a.body ?? '');
      });
    };
    return req as unknown as ReturnType<RequestFn>;
  };
  return { request, sent };
};

const get = (path = '/api/v1/namespaces/ns/pods/p'): TransportRequest => ({
  method: 'GET',
  path,
  headers: { accept: 'application/json' },
  signal: new AbortController().signal,
});

describe('in-cluster address', () => {
  test('from the kubelet env; IPv6 in brackets in the server URL', () => {
    expect(inClusterAddress(ENV)).toEqual({ host: '10.96.0.1', port: 443, server: 'https://10.96.0.1:443' });
    expect(inClusterAddress({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' })).toEqual({
      host: 'fd00::1',
      port: 6443,
      server: 'https://[fd00::1]:6443',
    });
  });

  test('missing or bad values are refused by name', () => {
    expect(() => inClusterAddress({})).toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set/);
    expect(() => inClusterAddress({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'https' })).toThrow(
      'KUBERNETES_SERVICE_PORT must be a TCP port (1-65535), got "https"',
    );
    expect(() => inClusterAddress({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '70000' })).toThrow(/TCP port/);
  });
});

describe('request building', () => {
  test('bearer token, the caller headers, content-length in bytes, the abort signal', async () => {
    const f = fakeRequest([{ body: '{}' }]);
    const t = inClusterTransport({ env: ENV, dir, request: f.request });
    const signal = new AbortController().signal;
    const body = JSON.stringify({ metadata: { annotations: { a: 'é' } } });
    await t.send({ method: 'PATCH', path: '/api/v1/namespaces/ns/pods/p?fieldManager=x', headers: { 'content-type': 'application/merge-patch+json' }, body, signal });
    expect(f.sent[0]!.opts).toMatchObject({
      hostname: '10.96.0.1',
      port: 443,
      method: 'PATCH',
      path: '/api/v1/namespaces/ns/pods/p?fieldManager=x',
      headers: {
        'user-agent': 'kdb-operator',
        'content-type': 'application/merge-patch+json',
        authorization: 'Bearer token-1',
        'content-length': String(body.length + 1),
      },
      signal,
    });
  });

  test('no body, no content-length', async () => {
    const f = fakeRequest([{ body: '{}' }]);
    await inClusterTransport({ env: ENV, dir, request: f.request }).send(get());
    expect(f.sent[0]!.opts.headers).toEqual({ 'user-agent': 'kdb-operator', accept: 'application/json', authorization: 'Bearer token-1' });
  });

  test('an IPv6 service address is sent unbracketed', async () => {
    const f = fakeRequest([{ body: '{}' }]);
    await inClusterTransport({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, dir, request: f.request }).send(get());
    expect(f.sent[0]!.opts).toMatchObject({ hostname: 'fd00::1', port: 6443 });
  });

  test('response headers lower-case, repeated ones joined', () => {
    expect(flatHeaders({ 'retry-after': '3', 'set-cookie': ['a=1', 'b=2'], x: undefined })).toEqual({ 'retry-after': '3', 'set-cookie': 'a=1, b=2' });
  });
});

describe('in-cluster transport', () => {
  test('the token is re-read for every request (the kubelet rotates it in place)', async () => {
    const f = fakeRequest([{ body: '{}' }, { body: '{}' }]);
    const t = inClusterTransport({ env: ENV, dir, request: f.request });
    await t.send(get());
    writeFileSync(join(dir, 'token'), 'token-2');
    await t.send(get());
    expect(f.sent.map((s) => (s.opts.headers as Record<string, string>).authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(t.server).toBe('https://10.96.0.1:443');
  });

  test('status, headers and body come back as they are; the body is sent', async () => {
    const f = fakeRequest([{ status: 201, headers: { 'Content-Type': 'application/json' }, body: Buffer.from('{"kind":"Pod"}') }]);
    const t = inClusterTransport({ env: ENV, dir, request: f.request });
    const res = await t.send({ ...get(), method: 'PATCH', body: '{"x":1}' });
    expect(res).toEqual({ status: 201, headers: { 'content-type': 'application/json' }, text: '{"kind":"Pod"}' });
    expect(f.sent[0]!.body).toBe('{"x":1}');
  });

  test('an empty or missing token fails the request, not the process', async () => {
    const f = fakeRequest([]);
    writeFileSync(join(dir, 'token'), '  \n');
    const t = inClusterTransport({ env: ENV, dir, request: f.request });
    await expect(t.send(get())).rejects.toThrow(`service account token ${dir}/token is empty`);
    rmSync(join(dir, 'token'));
    await expect(t.send(get())).rejects.toThrow(/ENOENT/);
    expect(f.sent).toHaveLength(0);
  });

  test('a missing CA is a clear error at start', () => {
    rmSync(join(dir, 'ca.crt'));
    expect(() => inClusterTransport({ env: ENV, dir })).toThrow(`cannot read the API server's CA ${dir}/ca.crt`);
  });

  test("an answer over the agent's bound is refused", async () => {
    const f = fakeRequest([{ body: Buffer.alloc(MAX_RESPONSE_BYTES + 1, 32) }]);
    const t = inClusterTransport({ env: ENV, dir, request: f.request, maxResponseBytes: MAX_RESPONSE_BYTES });
    await expect(t.send(get())).rejects.toThrow(`answer larger than ${MAX_RESPONSE_BYTES} bytes`);
  });

  test('a watch authenticates as a request does (the operator in its pod watches; the agent never does)', async () => {
    const f = fakeRequest([{ body: '{"type":"ADDED","object":{"kind":"Pod"}}\n' }]);
    const t = inClusterTransport({ env: ENV, dir, request: f.request });
    const seen: unknown[] = [];
    await t.watch('/api/v1/pods', { resourceVersion: '5' }, (ev) => seen.push(ev), new AbortController().signal);
    expect(seen).toEqual([{ type: 'ADDED', object: { kind: 'Pod' } }]);
    expect(f.sent[0]!.opts).toMatchObject({ method: 'GET', path: '/api/v1/pods?resourceVersion=5&watch=true', headers: { authorization: 'Bearer token-1' } });
  });
});

describe('through RestClient: errors as kube/rest.ts maps them', () => {
  const client = (answers: Answer[], maxRetries = 0) => {
    const f = fakeRequest(answers);
    // Zero backoff: a retry happens at once, nothing waits on time.
    const rest = new RestClient({ transport: inClusterTransport({ env: ENV, dir, request: f.request }), clock: realClock, maxRetries, backoffBaseMs: 0, backoffMaxMs: 0 });
    return { rest, f };
  };

  test('a 409 Status is a KubeApiError with its reason, not retried', async () => {
    const { rest, f } = client([{ status: 409, body: JSON.stringify({ kind: 'Status', reason: 'Conflict', message: 'the object has been modified' }) }], 3);
    const err = await rest.request({ method: 'PATCH', path: '/api/v1/namespaces/ns/pods/p', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 409, reason: 'Conflict', verb: 'PATCH', path: '/api/v1/namespaces/ns/pods/p' });
    expect(f.sent).toHaveLength(1);
  });

  test('a 404 is a KubeApiError NotFound', async () => {
    const { rest } = client([{ status: 404, body: JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'pods "p" not found' }) }]);
    await expect(rest.request({ method: 'GET', path: '/api/v1/namespaces/ns/pods/p' })).rejects.toMatchObject({ statusCode: 404, reason: 'NotFound' });
  });

  test('a lost connection is statusCode 0, with the cause in the message', async () => {
    const { rest } = client([{ error: Object.assign(new Error('connect ECONNREFUSED 10.96.0.1:443'), { code: 'ECONNREFUSED' }) }]);
    const err = await rest.request({ method: 'GET', path: '/api/v1/namespaces/ns/pods/p' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 0 });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  test('a 503 then 200 is retried to success', async () => {
    const { rest, f } = client([{ status: 503, body: '' }, { status: 200, body: '{"ok":true}' }], 2);
    await expect(rest.request({ method: 'GET', path: '/api/v1/namespaces/ns/pods/p' })).resolves.toEqual({ ok: true });
    expect(f.sent).toHaveLength(2);
  });
});
