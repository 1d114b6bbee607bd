// The 8-byte message header: endianness (0 big, 1 little), message type
// (0 async, 1 sync, 2 response), compression flag (0 or 1), a reserved byte,
// then the total message length, header included, as a 32-bit integer in the
// message's endianness.

import { IpcDecodeError } from './errors.ts';
import { MESSAGE_TYPE_BY_CODE, type MessageType } from './types.ts';

export const HEADER_SIZE = 8;
/** The smallest message: a header and one type byte with its payload, e.g. (::) is 10 bytes; no value fits in fewer than 9. */
export const MIN_MESSAGE_SIZE = HEADER_SIZE + 1;
/** Unless told otherwise, messages (and what a compressed one declares it decompresses to) are refused above this. */
export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024;

export interface Header {
  littleEndian: boolean;
  messageType: MessageType;
  compressed: boolean;
  /** Total length of the message on the wire, header included. */
  length: number;
}

/** Parses and checks a header; `bytes` must hold at least 8 bytes. */
export function parseHeader(bytes: Uint8Array, maxSize: number = DEFAULT_MAX_MESSAGE_SIZE): Header {
  if (bytes.length < HEADER_SIZE) throw new IpcDecodeError('truncated', `a header needs 8 bytes, got ${bytes.length}`, 0);
  const e = bytes[0]!;
  if (e !== 0 && e !== 1) throw new IpcDecodeError('bad-header', `endianness byte is ${e}, not 0 (big) or 1 (little)`, 0);
  const mt = bytes[1]!;
  const messageType = MESSAGE_TYPE_BY_CODE[mt];
  if (messageType === undefined) throw new IpcDecodeError('bad-header', `message type byte is ${mt}, not 0 (async), 1 (sync) or 2 (response)`, 1);
  const cf = bytes[2]!;
  if (cf !== 0 && cf !== 1) throw new IpcDecodeError('bad-header', `compression byte is ${cf}, not 0 or 1`, 2);
  const littleEndian = e === 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const length = dv.getUint32(4, littleEndian);
  if (length < MIN_MESSAGE_SIZE) {
    throw new IpcDecodeError('bad-length', `header declares a message of ${length} bytes, below the minimum of ${MIN_MESSAGE_SIZE}`, 4);
  }
  if (length > maxSize) {
    throw new IpcDecodeError('oversize', `header declares a message of ${length} bytes, above the maximum of ${maxSize}`, 4);
  }
  return { littleEndian, messageType, compressed: cf === 1, length };
}
