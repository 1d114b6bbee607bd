// Splits a TCP byte stream into whole kdb+ messages by the header's length
// field. A length below the minimum or above the configured maximum is
// refused as soon as the header arrives, before anything is buffered for
// the body, and a body is held as the pieces that arrived (memory grows with
// what the peer actually sent, not with what it declared); after a refusal
// the stream has lost its framing, so the splitter stays failed and the
// caller should close the connection.

import { IpcDecodeError } from './errors.ts';
import { DEFAULT_MAX_MESSAGE_SIZE, HEADER_SIZE, parseHeader } from './header.ts';

export interface FrameSplitterOptions {
  /** Largest message accepted, in bytes (header included). Default 256 MiB. */
  maxMessageSize?: number;
}

export class FrameSplitter {
  private readonly maxSize: number;
  private readonly head = Buffer.alloc(HEADER_SIZE);
  private headFill = 0;
  /** Length of the message being collected, once its header is in. */
  private length: number | undefined;
  private parts: Buffer[] = [];
  private bodyFill = 0;
  private failure: IpcDecodeError | undefined;

  constructor(options: FrameSplitterOptions = {}) {
    this.maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held for a message not yet complete. */
  get buffered(): number {
    return this.length === undefined ? this.headFill : this.bodyFill;
  }

  /** The error that stopped this splitter, if one did. */
  get failed(): IpcDecodeError | undefined {
    return this.failure;
  }

  /**
   * Takes the next bytes from the stream and answers every message they
   * complete, each a Buffer of exactly the length its header declares.
   * Throws an IpcDecodeError ('bad-header', 'bad-length' or 'oversize') on
   * a header it refuses, and again on every later call.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    const frames: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.length === undefined) {
        const take = Math.min(HEADER_SIZE - this.headFill, chunk.length - at);
        this.head.set(chunk.subarray(at, at + take), this.headFill);
        this.headFill += take;
        at += take;
        if (this.headFill < HEADER_SIZE) break;
        try {
          this.length = parseHeader(this.head, this.maxSize).length;
        } catch (e) {
          this.failure = e as IpcDecodeError;
          throw e;
        }
        this.parts = [Buffer.from(this.head)];
        this.bodyFill = HEADER_SIZE;
        this.headFill = 0;
      }
      const take = Math.min(this.length - this.bodyFill, chunk.length - at);
      if (take > 0) this.parts.push(Buffer.from(chunk.subarray(at, at + take)));
      this.bodyFill += take;
      at += take;
      if (this.bodyFill === this.length) {
        frames.push(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length));
        this.length = undefined;
        this.parts = [];
        this.bodyFill = 0;
      }
    }
    return frames;
  }
}
