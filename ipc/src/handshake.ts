// The connection handshake. A client sends "user:password", one capability
// byte and a NUL (q 3.x sends capability 3: compression, timestamps,
// timespans and guids; older clients send no capability byte). The server
// answers with one byte, the lower of the client's capability and its own,
// or refuses by closing the connection without answering.

import { IpcDecodeError, IpcEncodeError } from './errors.ts';

/** The protocol version this codec speaks (kdb+ 3.x). */
export const CAPABILITY = 3;
/** A handshake longer than this without its NUL is refused. */
export const DEFAULT_MAX_HANDSHAKE = 1024;

export interface ClientHello {
  user: string;
  /** Undefined when the client sent no ':' (user only). */
  password: string | undefined;
  /** 0 when the client sent no capability byte. */
  capability: number;
}

/** What a client sends: "user:password", the capability byte, NUL. */
export function encodeClientHello(user: string, password?: string, capability: number = CAPABILITY): Buffer {
  if (user.includes(':') || user.includes('\0')) throw new IpcEncodeError('user', 'a handshake user cannot contain ":" or NUL');
  if (password?.includes('\0')) throw new IpcEncodeError('password', 'a handshake password cannot contain NUL');
  if (!Number.isInteger(capability) || capability < 0 || capability > 6) throw new IpcEncodeError('capability', `a handshake capability must be 0..6, got ${capability}`);
  const text = Buffer.from(password === undefined ? user : `${user}:${password}`, 'utf8');
  return Buffer.concat(capability === 0 ? [text, Buffer.of(0)] : [text, Buffer.of(capability, 0)]);
}

/** Parses the bytes a client sent before its NUL (the NUL excluded). */
export function parseClientHello(bytes: Uint8Array): ClientHello {
  let end = bytes.length;
  let capability = 0;
  // A capability is a control byte; printable text is all credentials (an old client's).
  const last = bytes[end - 1];
  if (last !== undefined && last >= 1 && last < 32) {
    capability = last;
    end--;
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0
    ? { user: text, password: undefined, capability }
    : { user: text.slice(0, colon), password: text.slice(colon + 1), capability };
}

/** The server's one-byte answer accepting a client. */
export function encodeServerHello(clientCapability: number, serverCapability: number = CAPABILITY): Buffer {
  return Buffer.of(Math.min(clientCapability, serverCapability));
}

/**
 * Collects a client's handshake from the first bytes of a connection.
 * push() answers undefined until the NUL arrives, then the hello and any
 * bytes that came after it (the start of the first message).
 */
export class HandshakeReader {
  private readonly max: number;
  private readonly parts: Buffer[] = [];
  private size = 0;

  constructor(maxLength: number = DEFAULT_MAX_HANDSHAKE) {
    this.max = maxLength;
  }

  push(chunk: Uint8Array): { hello: ClientHello; rest: Buffer } | undefined {
    const nul = chunk.indexOf(0);
    const upto = nul < 0 ? chunk.length : nul;
    if (this.size + upto > this.max) {
      throw new IpcDecodeError('bad-handshake', `handshake longer than ${this.max} bytes without its terminating NUL`);
    }
    this.parts.push(Buffer.from(chunk.subarray(0, upto)));
    this.size += upto;
    if (nul < 0) return undefined;
    const hello = parseClientHello(Buffer.concat(this.parts));
    return { hello, rest: Buffer.from(chunk.subarray(nul + 1)) };
  }
}
