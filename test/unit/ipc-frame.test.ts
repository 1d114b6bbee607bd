// The frame splitter cuts a byte stream into whole messages however the
// stream is chunked, refuses bad or oversize lengths from the header alone,
// and with the handshake reader serves a real loopback socket.

import { describe, expect, test } from '@jest/globals';
import net from 'node:net';
import {
  decodeMessage,
  encodeClientHello,
  encodeMessage,
  encodeServerHello,
  FrameSplitter,
  HandshakeReader,
  IpcDecodeError,
  parseClientHello,
  q,
} from '../../ipc/src/index.ts';

const messages = [
  encodeMessage(q.list(q.symbol('.u.upd'), q.symbol('trade'), q.table({ sym: q.symbols(['a', 'b']), px: q.floats([1, 2]) }))),
  encodeMessage(q.long(7), { messageType: 'sync' }),
  encodeMessage(q.symbols(Array(3000).fill('AAPL')), { compress: true, messageType: 'response' }),
];
const stream = Buffer.concat(messages);

describe('FrameSplitter', () => {
  test('one byte at a time', () => {
    const s = new FrameSplitter();
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...s.push(stream.subarray(i, i + 1)));
    expect(frames).toEqual(messages);
    expect(s.buffered).toBe(0);
  });

  test('all at once, and in seeded random chunks', () => {
    expect(new FrameSplitter().push(stream)).toEqual(messages);
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const s = new FrameSplitter();
      const frames: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = 1 + Math.floor(next() * 40);
        frames.push(...s.push(stream.subarray(at, at + n)));
        at += n;
      }
      expect(frames).toEqual(messages);
    }
  });

  test('a partial message is held and counted', () => {
    const s = new FrameSplitter();
    expect(s.push(messages[0]!.subarray(0, 5))).toEqual([]);
    expect(s.buffered).toBe(5);
    expect(s.push(messages[0]!.subarray(5, 20))).toEqual([]);
    expect(s.buffered).toBe(20);
    expect(s.push(messages[0]!.subarray(20))).toEqual([messages[0]]);
  });

  test('frames are copies: reusing the chunk does not change them', () => {
    const chunk = Buffer.from(messages[1]!);
    const [frame] = new FrameSplitter().push(chunk);
    chunk.fill(0);
    expect(decodeMessage(frame!).value).toEqual(q.long(7));
  });

  test('an oversize length is refused from the header, before the body arrives, and the splitter stays failed', () => {
    const s = new FrameSplitter({ maxMessageSize: 1024 });
    const header = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32LE(1_000_000_000, 4);
    let err: unknown;
    try {
      s.push(header);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpcDecodeError);
    expect((err as IpcDecodeError).reason).toBe('oversize');
    expect((err as Error).message).toMatch(/1000000000 bytes, above the maximum of 1024/);
    expect(s.failed).toBe(err);
    expect(() => s.push(messages[1]!)).toThrow(err as Error);
  });

  test('a header declaring a large message holds only what has arrived, not what was declared', () => {
    const s = new FrameSplitter({ maxMessageSize: 512 * 1024 * 1024 });
    const header = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32LE(400 * 1024 * 1024, 4);
    const before = process.memoryUsage().arrayBuffers;
    const held = Array.from({ length: 20 }, () => new FrameSplitter({ maxMessageSize: 512 * 1024 * 1024 }));
    for (const h of held) expect(h.push(Buffer.concat([header, Buffer.alloc(100)]))).toEqual([]);
    expect(s.push(header)).toEqual([]);
    // Twenty 400 MiB declarations would be 8 GiB if allocated up front.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(held[0]!.buffered).toBe(108);
  });

  test.each<[string, number[], string]>([
    ['length below 9', [1, 0, 0, 0, 8, 0, 0, 0], 'bad-length'],
    ['length 0', [1, 0, 0, 0, 0, 0, 0, 0], 'bad-length'],
    ['endianness byte 7', [7, 0, 0, 0, 20, 0, 0, 0], 'bad-header'],
    ['message type 9', [1, 9, 0, 0, 20, 0, 0, 0], 'bad-header'],
  ])('%s is refused', (_n, header, reason) => {
    expect(() => new FrameSplitter().push(Buffer.from(header))).toThrow(expect.objectContaining({ reason }));
  });

  test('a big-endian header frames by its big-endian length', () => {
    const be = Buffer.from('000100000000000dfa00000001', 'hex');
    expect(new FrameSplitter().push(Buffer.concat([be, be]))).toEqual([be, be]);
  });
});

describe('handshake', () => {
  test('client hello: "user:password", capability 3, NUL', () => {
    expect(encodeClientHello('alice', 'pa:ss').toString('latin1')).toBe('alice:pa:ss\x03\x00');
    expect(encodeClientHello('bob').toString('latin1')).toBe('bob\x03\x00');
    expect(encodeClientHello('bob', 'x', 0).toString('latin1')).toBe('bob:x\x00');
    expect(() => encodeClientHello('a:b', 'x')).toThrow(/user cannot contain/);
  });

  test('parsing: the password may hold colons; an old client sends no capability byte', () => {
    expect(parseClientHello(Buffer.from('alice:pa:ss\x03', 'latin1'))).toEqual({ user: 'alice', password: 'pa:ss', capability: 3 });
    expect(parseClientHello(Buffer.from('alice:secret', 'latin1'))).toEqual({ user: 'alice', password: 'secret', capability: 0 });
    expect(parseClientHello(Buffer.from('alice\x06', 'latin1'))).toEqual({ user: 'alice', password: undefined, capability: 6 });
    expect(parseClientHello(Buffer.alloc(0))).toEqual({ user: '', password: undefined, capability: 0 });
  });

  test('the server answers the lower capability', () => {
    expect([...encodeServerHello(6)]).toEqual([3]);
    expect([...encodeServerHello(1)]).toEqual([1]);
    expect([...encodeServerHello(0)]).toEqual([0]);
  });

  test('the reader collects a hello split over chunks and hands back what follows the NUL', () => {
    const r = new HandshakeReader();
    const bytes = Buffer.concat([encodeClientHello('alice', 'secret'), messages[1]!]);
    expect(r.push(bytes.subarray(0, 4))).toBeUndefined();
    expect(r.push(bytes.subarray(4, 9))).toBeUndefined();
    const got = r.push(bytes.subarray(9));
    expect(got?.hello).toEqual({ user: 'alice', password: 'secret', capability: 3 });
    expect(got?.rest).toEqual(messages[1]);
  });

  test('a hello that never ends is refused at the length cap', () => {
    const r = new HandshakeReader(64);
    expect(r.push(Buffer.alloc(60, 0x41))).toBeUndefined();
    expect(() => r.push(Buffer.alloc(10, 0x41))).toThrow(expect.objectContaining({ reason: 'bad-handshake' }));
  });
});

describe('over a loopback socket', () => {
  /** A toy server: checks credentials, then answers each sync message with the value it got. */
  function serve(password: string): Promise<net.Server> {
    const server = net.createServer((sock) => {
      const hs = new HandshakeReader();
      const frames = new FrameSplitter({ maxMessageSize: 1 << 20 });
      let open = false;
      sock.on('data', (chunk) => {
        try {
          let rest: Buffer = chunk;
          if (!open) {
            const got = hs.push(chunk);
            if (got === undefined) return;
            if (got.hello.password !== password) return void sock.destroy();
            open = true;
            sock.write(encodeServerHello(got.hello.capability));
            rest = got.rest;
          }
          for (const f of frames.push(rest)) {
            const m = decodeMessage(f);
            if (m.messageType === 'sync') sock.write(encodeMessage(m.value, { messageType: 'response' }));
          }
        } catch (e) {
          if (!(e instanceof IpcDecodeError)) throw e;
          sock.destroy();
        }
      });
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
  }

  function connect(server: net.Server, user: string, password: string, then: Buffer[]): Promise<{ cap: number | undefined; replies: Buffer[] }> {
    const { port } = server.address() as net.AddressInfo;
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      const frames = new FrameSplitter();
      let cap: number | undefined;
      const replies: Buffer[] = [];
      sock.on('connect', () => sock.write(encodeClientHello(user, password)));
      sock.on('data', (chunk) => {
        let rest = chunk;
        if (cap === undefined) {
          cap = chunk[0];
          rest = chunk.subarray(1);
          for (const m of then) sock.write(m);
        }
        replies.push(...frames.push(rest));
        if (replies.length === then.length) sock.end();
      });
      sock.on('close', () => resolve({ cap, replies }));
      sock.on('error', reject);
    });
  }

  test('accepts good credentials with capability 3 and answers sync messages; refuses a bad password by closing', async () => {
    const server = await serve('secret');
    try {
      const asks = [encodeMessage(q.symbols(['a', 'b']), { messageType: 'sync' }), encodeMessage(q.long(1), { messageType: 'sync' })];
      const ok = await connect(server, 'alice', 'secret', asks);
      expect(ok.cap).toBe(3);
      expect(ok.replies.map((r) => decodeMessage(r))).toEqual([
        { messageType: 'response', value: q.symbols(['a', 'b']), littleEndian: true, compressed: false },
        { messageType: 'response', value: q.long(1), littleEndian: true, compressed: false },
      ]);
      const refused = await connect(server, 'alice', 'wrong', []);
      expect(refused).toEqual({ cap: undefined, replies: [] });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
