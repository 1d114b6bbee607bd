// The kdb+ IPC server and client (ipc/src/server.ts, client.ts) over a
// loopback socket: credentials, in-order answers from a slow handler,
// errors as kdb+ errors, a malformed frame answered and survived, a broken
// stream closed; and the query port's protocol sniffing.

import { afterEach, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import {
  createIpcServer,
  credentialCheck,
  encodeClientHello,
  encodeMessage,
  IpcClient,
  IpcConnectionError,
  listen,
  parseCredentials,
  q,
  QRemoteError,
  type IpcServeOptions,
  type QValue,
} from '../../ipc/src/index.ts';
import { sniffProtocol } from '../../images/sim/src/query/sniff.ts';

let server: net.Server | undefined;
afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
});

const start = async (options: IpcServeOptions): Promise<number> => {
  server = await listen(createIpcServer(options), 0, '127.0.0.1');
  return (server.address() as net.AddressInfo).port;
};

describe('credentials', () => {
  test('q -u format: user:password lines; the password may hold colons; bad lines name the line, never the content', () => {
    const users = parseCredentials('# team\nalice:s3:cret\n\nbob:pw\n', 'FILE');
    expect([...users.keys()]).toEqual(['alice', 'bob']);
    const check = credentialCheck(users);
    expect(check('alice', 's3:cret')).toBe(true);
    expect(check('alice', 's3:cre')).toBe(false);
    expect(check('alice', undefined)).toBe(false);
    expect(check('carol', 'pw')).toBe(false);
    expect(() => parseCredentials('nocolon-secret', 'FILE')).toThrow(/^FILE line 1: expected user:password/);
    expect(() => parseCredentials('nocolon-secret', 'FILE')).not.toThrow(/secret/);
    expect(() => parseCredentials('\n# only comments\n', 'FILE')).toThrow(/lists no user:password/);
  });
});

describe('server and client', () => {
  test('refuses bad credentials by closing; accepts good ones', async () => {
    const port = await start({ onSync: (v) => v, authenticate: credentialCheck(new Map([['alice', 'pw']])) });
    await expect(IpcClient.connect({ host: '127.0.0.1', port, user: 'alice', password: 'nope' })).rejects.toThrow(IpcConnectionError);
    const c = await IpcClient.connect({ host: '127.0.0.1', port, user: 'alice', password: 'pw' });
    expect(c.capability).toBe(3);
    expect(await c.sync(q.long(5))).toEqual(q.long(5));
    c.close();
  });

  test('answers in request order even when an earlier request takes longer, and a throw becomes a kdb+ error', async () => {
    const port = await start({
      onSync: async (v: QValue) => {
        if (v.kind === 'atom' && v.type === 'long' && v.value === 1n) await new Promise((r) => setTimeout(r, 30));
        if (v.kind === 'atom' && v.type === 'symbol') throw new Error(`no ${v.value}`);
        return v;
      },
    });
    const c = await IpcClient.connect({ host: '127.0.0.1', port });
    const [a, b, e] = await Promise.allSettled([c.sync(q.long(1)), c.sync(q.long(2)), c.sync(q.symbol('x'))]);
    expect(a).toEqual({ status: 'fulfilled', value: q.long(1) });
    expect(b).toEqual({ status: 'fulfilled', value: q.long(2) });
    expect(e.status).toBe('rejected');
    expect((e as PromiseRejectedResult).reason).toBeInstanceOf(QRemoteError);
    expect((e as PromiseRejectedResult).reason.message).toBe('no x');
    c.close();
  });

  test('a malformed sync message is answered with an error and the connection goes on; a broken header closes it', async () => {
    const events: string[] = [];
    const port = await start({ onSync: (v) => v, onEvent: (e) => events.push(e.kind) });
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    const closed = new Promise((r) => sock.on('close', r));
    await new Promise((r) => sock.once('connect', r));
    sock.write(encodeClientHello('u'));
    // A sync message whose type byte (77) the wire does not carry.
    const bad = Buffer.from([1, 1, 0, 0, 10, 0, 0, 0, 77, 0]);
    sock.write(bad);
    sock.write(encodeMessage(q.long(9), { messageType: 'sync' }));
    const all = () => Buffer.concat(got);
    while (all().length < 1 + 1 + 8 + 1) await new Promise((r) => setTimeout(r, 5));
    sock.write(Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]));
    await closed;
    const bytes = all();
    expect(bytes[0]).toBe(3);
    expect(bytes[9]).toBe(0x80); // -128: an error
    expect(bytes.subarray(10).toString('latin1')).toMatch(/^bad message: .*type/);
    expect(events).toEqual(['bad-frame', 'closed-broken-stream']);
  });
});

describe('query port sniffing', () => {
  test.each<[string, string, 'kdb' | 'http' | undefined]>([
    ['a kdb+ handshake', 'alice:pw\x03\x00', 'kdb'],
    ['a kdb+ handshake without user', '\x03\x00', 'kdb'],
    ['an HTTP request line', 'GET /status HTTP/1.1\r\n', 'http'],
    ['not yet telling', 'GET /sta', undefined],
  ])('%s', (_n, text, want) => {
    expect(sniffProtocol(Buffer.from(text, 'latin1'))).toBe(want);
  });
});
