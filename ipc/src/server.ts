// A kdb+ IPC server connection: the codec put behind a socket. It reads the
// handshake, checks the credentials, splits the stream into messages and
// hands each decoded message to the caller, answering sync requests in the
// order they came (kdb+ clients match responses by order, not by id) and
// turning a thrown error into a kdb+ error reply (type -128). A frame that
// arrived whole but does not decode is answered with an error and the
// connection goes on; a stream that lost its framing is closed.

import net from 'node:net';
import { decodeMessage } from './decode.ts';
import { encodeMessage } from './encode.ts';
import { IpcDecodeError } from './errors.ts';
import { FrameSplitter } from './frame.ts';
import { encodeServerHello, HandshakeReader, type ClientHello } from './handshake.ts';
import { DEFAULT_MAX_MESSAGE_SIZE, parseHeader } from './header.ts';
import type { QValue } from './types.ts';

/** Who is on the other end, for handlers and logs (never the password). */
export interface IpcPeer {
  user: string;
  remote: string;
  /** The capability both sides agreed on (0..3). */
  capability: number;
  /** Sends an async message to this peer (what q does with neg[.z.w]). */
  sendAsync(value: QValue): void;
}

export interface IpcServeOptions {
  /** Answers a sync request; what it throws goes back as a kdb+ error with the error's message. */
  onSync(value: QValue, peer: IpcPeer): QValue | Promise<QValue>;
  /** Handles an async message; default: ignored. What it throws is logged through onError, never answered. */
  onAsync?(value: QValue, peer: IpcPeer): void | Promise<void>;
  /** Says whether a user and password may connect; default: anyone. A refused client is closed without an answer, as q does. */
  authenticate?(user: string, password: string | undefined): boolean;
  /** Largest message accepted from the client. Default 256 MiB. */
  maxMessageSize?: number;
  /** Whether responses above 2000 bytes are compressed; default: when the peer is not on this host (what q does). */
  compress?: (peer: IpcPeer) => boolean;
  /** Something went wrong that no reply carries (a refused login, an async handler's error, a broken stream). */
  onEvent?(event: IpcServerEvent): void;
}

export type IpcServerEvent =
  | { kind: 'refused'; user: string; remote: string }
  | { kind: 'async-error'; user: string; error: Error }
  | { kind: 'bad-frame'; user: string; reason: string; message: string }
  | { kind: 'closed-broken-stream'; user: string; remote: string; message: string };

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** The message a thrown value becomes in a kdb+ error reply. */
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Serves kdb+ IPC on one accepted socket. `initial` is bytes already read
 * from it (a caller that sniffed the protocol first).
 */
export function serveIpcConnection(socket: net.Socket, options: IpcServeOptions, initial?: Buffer): void {
  const hs = new HandshakeReader();
  const frames = new FrameSplitter({ maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE });
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  let hello: ClientHello | undefined;
  let peer: IpcPeer | undefined;
  let compress = false;
  // Every message is handled after the one before it finished, so responses go out in request order.
  // While nothing is in flight a handler runs at once (most async messages are handled synchronously).
  let chain: Promise<void> = Promise.resolve();
  let busy = 0;
  const run = (task: () => Promise<void> | void) => {
    if (busy === 0) {
      const r = task();
      if (r instanceof Promise) {
        busy++;
        chain = r.finally(() => busy--);
      }
      return;
    }
    busy++;
    chain = chain.then(task).finally(() => busy--);
  };
  const event = (e: IpcServerEvent) => options.onEvent?.(e);

  const write = (value: QValue, messageType: 'response' | 'async') => {
    if (socket.destroyed) return;
    socket.write(encodeMessage(value, { messageType, compress }));
  };

  const handle = (frame: Buffer) => {
    const p = peer!;
    const header = parseHeader(frame, Number.MAX_SAFE_INTEGER);
    let value: QValue;
    try {
      value = decodeMessage(frame, { maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE }).value;
    } catch (e) {
      if (!(e instanceof IpcDecodeError)) throw e;
      event({ kind: 'bad-frame', user: p.user, reason: e.reason, message: e.message });
      if (header.messageType === 'sync') write({ kind: 'error', message: `bad message: ${e.message}` }, 'response');
      return;
    }
    if (header.messageType === 'sync') {
      run(async () => {
        let reply: QValue;
        try {
          reply = await options.onSync(value, p);
        } catch (e) {
          reply = { kind: 'error', message: errorText(e) };
        }
        try {
          write(reply, 'response');
        } catch (e) {
          // A reply the encoder refuses (a handler bug) still answers the client.
          write({ kind: 'error', message: `reply not encodable: ${errorText(e)}` }, 'response');
        }
      });
    } else if (header.messageType === 'async' && options.onAsync) {
      const onAsync = options.onAsync;
      const failed = (e: unknown) => event({ kind: 'async-error', user: p.user, error: e instanceof Error ? e : new Error(String(e)) });
      run(() => {
        try {
          const r = onAsync(value, p);
          if (r instanceof Promise) return r.catch(failed);
        } catch (e) {
          failed(e);
        }
      });
    }
    // A response from a client answers nothing we asked: ignored, as q does.
  };

  const onData = (chunk: Buffer) => {
    try {
      let rest = chunk;
      if (hello === undefined) {
        const got = hs.push(chunk);
        if (got === undefined) return;
        const auth = options.authenticate;
        if (auth !== undefined && !auth(got.hello.user, got.hello.password)) {
          event({ kind: 'refused', user: got.hello.user, remote });
          socket.destroy();
          return;
        }
        hello = got.hello;
        const reply = encodeServerHello(hello.capability);
        peer = { user: hello.user, remote, capability: reply[0]!, sendAsync: (v) => write(v, 'async') };
        compress = peer.capability >= 1 && (options.compress ? options.compress(peer) : !LOOPBACK.test(socket.remoteAddress ?? ''));
        socket.write(reply);
        rest = got.rest;
      }
      for (const f of frames.push(rest)) handle(f);
    } catch (e) {
      if (!(e instanceof IpcDecodeError)) throw e;
      event({ kind: 'closed-broken-stream', user: hello?.user ?? '', remote, message: e.message });
      socket.destroy();
    }
  };

  socket.on('data', onData);
  socket.on('error', () => {});
  if (initial !== undefined && initial.length > 0) onData(initial);
}

/** A TCP server answering kdb+ IPC on every connection. */
export function createIpcServer(options: IpcServeOptions): net.Server {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    serveIpcConnection(socket, options);
  });
}

/** Listens and resolves once bound (port 0 picks a free one: read server.address()). */
export function listen(server: net.Server, port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
