// A kdb+ IPC client: connects with credentials, sends sync requests and
// resolves each with the response (in order: a kdb+ server answers in the
// order it was asked), sends async messages, and fails every waiting
// request when the connection goes.

import net from 'node:net';
import { decodeMessage } from './decode.ts';
import { encodeMessage } from './encode.ts';
import { FrameSplitter } from './frame.ts';
import { encodeClientHello } from './handshake.ts';
import { DEFAULT_MAX_MESSAGE_SIZE } from './header.ts';
import type { QValue } from './types.ts';

/** The server answered a sync request with a kdb+ error (type -128). */
export class QRemoteError extends Error {
  override readonly name = 'QRemoteError';
}

/** The connection could not be made, was refused at the handshake, or closed with requests waiting. */
export class IpcConnectionError extends Error {
  override readonly name = 'IpcConnectionError';
}

export interface IpcConnectOptions {
  host: string;
  port: number;
  user?: string;
  password?: string;
  /** Gives up connecting (TCP and handshake) after this long. Default 10 s. */
  connectTimeoutMs?: number;
  maxMessageSize?: number;
  /** Compress what is sent above 2000 bytes (for a peer on another host). */
  compress?: boolean;
  /** Asynchronous messages the server sends (e.g. an error back to a feed). */
  onAsync?(value: QValue): void;
}

interface Waiting {
  resolve(v: QValue): void;
  reject(e: Error): void;
}

export class IpcClient {
  private readonly socket: net.Socket;
  private readonly frames: FrameSplitter;
  private readonly waiting: Waiting[] = [];
  private readonly compress: boolean;
  private closedWith: Error | undefined;
  /** Capability the server agreed on. */
  readonly capability: number;
  readonly where: string;

  private constructor(socket: net.Socket, capability: number, options: IpcConnectOptions, rest: Buffer) {
    this.socket = socket;
    this.capability = capability;
    this.where = `${options.host}:${options.port}`;
    this.compress = options.compress ?? false;
    this.frames = new FrameSplitter({ maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE });
    const onData = (chunk: Buffer) => {
      try {
        for (const f of this.frames.push(chunk)) {
          const m = decodeMessage(f, { maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE });
          if (m.messageType === 'response') {
            const w = this.waiting.shift();
            if (w === undefined) continue;
            if (m.value.kind === 'error') w.reject(new QRemoteError(m.value.message));
            else w.resolve(m.value);
          } else options.onAsync?.(m.value);
        }
      } catch (e) {
        this.fail(new IpcConnectionError(`${this.where}: unreadable message from the server: ${(e as Error).message}`));
        socket.destroy();
      }
    };
    socket.on('data', onData);
    socket.on('close', () => this.fail(new IpcConnectionError(`${this.where}: connection closed`)));
    socket.on('error', (e) => this.fail(new IpcConnectionError(`${this.where}: ${e.message}`)));
    if (rest.length > 0) onData(rest);
  }

  static connect(options: IpcConnectOptions): Promise<IpcClient> {
    return new Promise((resolve, reject) => {
      const where = `${options.host}:${options.port}`;
      const socket = net.connect(options.port, options.host);
      socket.setNoDelay(true);
      let done = false;
      const timer = setTimeout(() => finish(new IpcConnectionError(`${where}: no handshake answer within ${options.connectTimeoutMs ?? 10_000} ms`)), options.connectTimeoutMs ?? 10_000);
      const finish = (err: Error | null, client?: IpcClient) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off('data', onData);
        if (err) {
          socket.destroy();
          reject(err);
        } else resolve(client!);
      };
      const onData = (chunk: Buffer) => finish(null, new IpcClient(socket, chunk[0]!, options, chunk.subarray(1)));
      socket.on('data', onData);
      socket.once('connect', () => socket.write(encodeClientHello(options.user ?? '', options.password)));
      socket.once('error', (e) => finish(new IpcConnectionError(`${where}: ${e.message}`)));
      // q closes a connection whose credentials it refuses, without a word.
      socket.once('close', () => finish(new IpcConnectionError(`${where}: closed during the handshake (credentials refused?)`)));
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Sends a sync request; resolves with the response, rejects with QRemoteError for a kdb+ error. */
  sync(value: QValue): Promise<QValue> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const bytes = encodeMessage(value, { messageType: 'sync', compress: this.compress });
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(bytes);
    });
  }

  async(value: QValue): void {
    if (this.closedWith) throw this.closedWith;
    this.socket.write(encodeMessage(value, { messageType: 'async', compress: this.compress }));
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private fail(e: Error): void {
    if (this.closedWith) return;
    this.closedWith = e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }
}
