// Typed errors for everything the codec refuses. A peer's bytes are
// untrusted: every refusal is one of these, never a RangeError from a buffer
// read or an allocation the peer sized.

export type DecodeReason =
  | 'truncated' // the bytes end before the value or the declared length does
  | 'bad-length' // a header length below the minimum, or a negative count
  | 'oversize' // a declared length above the configured maximum
  | 'bad-header' // an endianness byte other than 0/1, a message type other than 0/1/2, a compression flag other than 0/1
  | 'unknown-type' // a type byte the wire format does not carry
  | 'bad-attribute' // an attribute byte other than 0..4
  | 'bad-shape' // a table that is not a dictionary of symbols to equal-length columns, and the like
  | 'bad-compression' // a compressed payload that does not decompress to the size it declares
  | 'too-deep' // nesting deeper than the configured cap
  | 'trailing-bytes' // bytes left after the value within the declared length
  | 'bad-handshake'; // a handshake without its terminating NUL, or too long

export class IpcDecodeError extends Error {
  override readonly name = 'IpcDecodeError';
  readonly reason: DecodeReason;
  /** Byte offset in the message (after decompression, for a compressed one) where the problem was found. */
  readonly offset: number | undefined;

  constructor(reason: DecodeReason, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.reason = reason;
    this.offset = offset;
  }
}

/** A value the encoder cannot put on the wire; the message names the path to the field. */
export class IpcEncodeError extends Error {
  override readonly name = 'IpcEncodeError';
  readonly path: string;

  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}
