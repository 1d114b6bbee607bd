import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type https from 'node:https';
import { PassThrough } from 'node:stream';
import { httpsTransport, WatchStatusError, type RequestFn } from '../../operator/src/kube/https-transport.ts';
import type { WatchEvent } from '../../operator/src/kube/rest.ts';

/** A stand-in for https.request whose response the test writes chunk by chunk. */
const streaming = (status = 200) => {
  const sent: https.RequestOptions[] = [];
  let destroyed = 0;
  let res: PassThrough | undefined;
  let answered!: (r: PassThrough) => void;
  const ready = new Promise<PassThrough>((resolve) => (answered = resolve));
  const request: RequestFn = (opts, onResponse) => {
    const req = new EventEmitter() as EventEmitter & { end: () => void; destroy: () => void };
    req.destroy = () => {
      destroyed++;
      res?.destroy();
    };
    req.end = () => {
      sent.push(opts);
      setImmediate(() => {
        const r = new PassThrough() as PassThrough & Pick<IncomingMessage, 'statusCode' | 'headers'>;
        r.statusCode = status;
        r.headers = {};
        res = r;
        onResponse(r as unknown as IncomingMessage);
        answered(r);
      });
    };
    return req as unknown as ReturnType<RequestFn>;
  };
  return { request, sent, ready, destroyed: () => destroyed };
};

const target = (request: RequestFn, extra: Partial<Parameters<typeof httpsTransport>[0]> = {}) =>
  httpsTransport({ server: 'https://api.example:6443/', token: () => Promise.resolve('tok'), request, ...extra });

describe('https transport: watch', () => {
  test('events split across chunks and joined in one chunk all arrive, in order; the end of the stream resolves', async () => {
    const f = streaming();
    const t = target(f.request);
    const seen: WatchEvent[] = [];
    const done = t.watch('/api/v1/pods', { resourceVersion: '7', labelSelector: 'a=b' }, (ev) => seen.push(ev), new AbortController().signal);
    const res = await f.ready;
    res.write('{"type":"ADDED","obj');
    res.write('ect":{"n":1}}\n{"type":"MODIFIED","object":{"n":2}}\n\n{"type":"BOOKMARK",');
    res.end('"object":{"n":3}}\n');
    await done;
    expect(seen).toEqual([
      { type: 'ADDED', object: { n: 1 } },
      { type: 'MODIFIED', object: { n: 2 } },
      { type: 'BOOKMARK', object: { n: 3 } },
    ]);
    expect(f.sent[0]).toMatchObject({
      hostname: 'api.example',
      port: 6443,
      method: 'GET',
      path: '/api/v1/pods?resourceVersion=7&labelSelector=a%3Db&watch=true',
      headers: { authorization: 'Bearer tok', accept: 'application/json' },
    });
    expect(t.server).toBe('https://api.example:6443');
  });

  test('a non-200 answer rejects with its statusCode and the Status message, as client-node did (410 re-lists)', async () => {
    const f = streaming(410);
    const done = target(f.request).watch('/api/v1/pods', {}, () => undefined, new AbortController().signal);
    (await f.ready).end(JSON.stringify({ kind: 'Status', code: 410, message: 'too old resource version: 5 (9)' }));
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchStatusError);
    expect(err).toMatchObject({ statusCode: 410, message: 'watch answered 410: too old resource version: 5 (9)' });
  });

  test('a body that is not a Status is not quoted in the error', async () => {
    const f = streaming(500);
    const done = target(f.request).watch('/api/v1/pods', {}, () => undefined, new AbortController().signal);
    (await f.ready).end('secret-looking body');
    await expect(done).rejects.toThrow(/^watch answered 500$/);
  });

  test('a quiet watch ends with a TimeoutError (the informer resumes it without a re-list) and frees its socket', async () => {
    const f = streaming();
    const done = target(f.request, { watchIdleMs: 30 }).watch('/api/v1/pods', {}, () => undefined, new AbortController().signal);
    await f.ready;
    const err = await done.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect(f.destroyed()).toBeGreaterThan(0);
  });

  test('an abort resolves and closes the stream', async () => {
    const f = streaming();
    const abort = new AbortController();
    const seen: WatchEvent[] = [];
    const done = target(f.request).watch('/api/v1/pods', {}, (ev) => seen.push(ev), abort.signal);
    const res = await f.ready;
    res.write('{"type":"ADDED","object":{}}\n');
    await new Promise((r) => setImmediate(r));
    abort.abort();
    await expect(done).resolves.toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(f.destroyed()).toBeGreaterThan(0);
  });

  test('an already aborted signal sends nothing', async () => {
    const f = streaming();
    const abort = new AbortController();
    abort.abort();
    await expect(target(f.request).watch('/api/v1/pods', {}, () => undefined, abort.signal)).resolves.toBeUndefined();
    expect(f.sent).toHaveLength(0);
  });

  test('a line that is not JSON rejects (the informer re-lists rather than trust the stream)', async () => {
    const f = streaming();
    const done = target(f.request).watch('/api/v1/pods', {}, () => undefined, new AbortController().signal);
    (await f.ready).write('<html>proxy error</html>\n');
    await expect(done).rejects.toThrow('watch sent a line that is not JSON');
  });
});

describe('https transport: requests', () => {
  test('a server path prefix (an API proxy) goes before every path; no token, no authorization header', async () => {
    const f = streaming();
    const t = httpsTransport({ server: 'http://127.0.0.1:8001/k8s/clusters/c-1', request: f.request });
    const sent = t.send({ method: 'GET', path: '/api/v1/pods', headers: {}, signal: new AbortController().signal });
    (await f.ready).end('{"kind":"PodList"}');
    await expect(sent).resolves.toMatchObject({ status: 200, text: '{"kind":"PodList"}' });
    expect(f.sent[0]).toMatchObject({ hostname: '127.0.0.1', port: 8001, path: '/k8s/clusters/c-1/api/v1/pods', headers: { 'user-agent': 'kdb-operator' } });
    expect(f.sent[0]!.headers).not.toHaveProperty('authorization');
  });

  test('an empty token fails the request before anything is sent', async () => {
    const f = streaming();
    const t = httpsTransport({ server: 'https://k', token: () => Promise.resolve(' \n'), request: f.request });
    await expect(t.send({ method: 'GET', path: '/api', headers: {}, signal: new AbortController().signal })).rejects.toThrow('the API server token is empty');
    expect(f.sent).toHaveLength(0);
  });

  test('only http(s) servers', () => {
    expect(() => httpsTransport({ server: 'ftp://k' })).toThrow('the API server address must be https:// (or http://), got "ftp://k"');
  });
});
