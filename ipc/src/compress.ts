// The kdb+ IPC compression: an LZ77 variant with a 256-entry hash of byte
// pairs, eight items per flag byte. A compressed message keeps the 8-byte
// header with byte 2 set to 1 and the compressed length at bytes 4..7,
// then the uncompressed length (header included) at bytes 8..11, then the
// flag-and-item stream. Same algorithm as KX's c.java compress()/uncompress()
// and c.js uncompress(); the compressor must make q's exact bytes, because
// both sides rebuild the same hash table from the bytes already seen.

import { IpcDecodeError } from './errors.ts';

const HEADER = 8;
const COMPRESSED_START = 12;

function readU32(b: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number, littleEndian: boolean): void {
  if (littleEndian) {
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = (v >>> 24) & 0xff;
  } else {
    b[at] = (v >>> 24) & 0xff;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }
}

/**
 * Decompresses a whole compressed message (header included) into the whole
 * uncompressed message, whose header says uncompressed. Refuses, with
 * reason 'bad-compression' or 'oversize', a declared size below a header
 * or above `maxSize`, a stream that ends early, runs past the declared
 * size, leaves bytes over, or refers back to a position never written.
 */
export function decompress(msg: Uint8Array, maxSize: number): Uint8Array {
  if (msg.length < COMPRESSED_START + 1) {
    throw new IpcDecodeError('bad-compression', `compressed message of ${msg.length} bytes is shorter than its 12-byte preamble plus data`);
  }
  const le = msg[0] === 1;
  const size = readU32(msg, HEADER, le);
  if (size <= HEADER) {
    throw new IpcDecodeError('bad-compression', `compressed message declares an uncompressed size of ${size} bytes, no more than its header`, HEADER);
  }
  if (size > maxSize) {
    throw new IpcDecodeError('oversize', `compressed message declares an uncompressed size of ${size} bytes, above the maximum of ${maxSize}`, HEADER);
  }
  const end = msg.length;
  const dst = new Uint8Array(size);
  const table = new Int32Array(256);
  let s = HEADER;
  let p = HEADER;
  let d = COMPRESSED_START;
  let flags = 0;
  let bit = 0;
  while (s < size) {
    if (bit === 0) {
      if (d >= end) throw new IpcDecodeError('bad-compression', `compressed data ends after ${end} bytes, with ${size - s} of ${size} bytes still to produce`, d);
      flags = msg[d++]!;
      bit = 1;
    }
    let n = 0;
    const isMatch = (flags & bit) !== 0;
    if (isMatch) {
      if (d + 2 > end) throw new IpcDecodeError('bad-compression', 'compressed data ends inside a back-reference', d);
      let r = table[msg[d++]!]!;
      // Positions below the header are never hashed, so such a reference
      // points at bytes the sender never had.
      if (r < HEADER) throw new IpcDecodeError('bad-compression', `back-reference to position ${r}, which no byte seen so far hashes to`, d - 1);
      n = msg[d++]!;
      if (s + 2 + n > size) {
        throw new IpcDecodeError('bad-compression', `back-reference of ${n + 2} bytes at ${s} runs past the declared size of ${size}`, d - 2);
      }
      dst[s++] = dst[r++]!;
      dst[s++] = dst[r++]!;
      for (let m = 0; m < n; m++) dst[s + m] = dst[r + m]!;
    } else {
      if (d >= end) throw new IpcDecodeError('bad-compression', 'compressed data ends inside a literal run', d);
      dst[s++] = msg[d++]!;
    }
    while (p < s - 1) {
      table[dst[p]! ^ dst[p + 1]!] = p;
      p++;
    }
    if (isMatch) {
      s += n;
      p = s;
    }
    bit = bit === 128 ? 0 : bit * 2;
  }
  if (d !== end) {
    throw new IpcDecodeError('bad-compression', `compressed data decoded to its ${size} bytes with ${end - d} bytes left over`, d);
  }
  dst[0] = msg[0]!;
  dst[1] = msg[1]!;
  dst[2] = 0;
  dst[3] = msg[3]!;
  writeU32(dst, 4, size, le);
  return dst;
}

/** q compresses a message to a remote peer only above this size. */
export const COMPRESSION_THRESHOLD = 2000;

/**
 * Compresses a whole uncompressed message (header included) the way q does,
 * or answers undefined when the result would not be under half the input,
 * which is when q sends the message as it is.
 */
export function compress(msg: Uint8Array): Uint8Array | undefined {
  const t = msg.length;
  if (t < HEADER + 1) return undefined;
  const le = msg[0] === 1;
  const out = new Uint8Array(Math.floor(t / 2));
  const e = out.length;
  if (e < COMPRESSED_START + 17) return undefined;
  out.set(msg.subarray(0, 4), 0);
  out[2] = 1;
  writeU32(out, HEADER, t, le);
  const table = new Int32Array(256);
  let bit = 0;
  let flags = 0;
  let h0 = 0;
  let h = 0;
  let c = COMPRESSED_START;
  let d = COMPRESSED_START;
  let p = 0;
  let pending = 0;
  let s = HEADER;
  while (s < t) {
    if (bit === 0) {
      // A block of eight items writes at most 17 bytes; stop once that might not fit.
      if (d > e - 17) return undefined;
      bit = 1;
      out[c] = flags;
      c = d++;
      flags = 0;
    }
    // The order matters: near the end h keeps its previous value, as in q.
    let literal = s > t - 3;
    if (!literal) {
      h = (msg[s]! ^ msg[s + 1]!) & 0xff;
      p = table[h]!;
      literal = p === 0 || msg[s] !== msg[p];
    }
    if (pending > 0) {
      table[h0] = pending;
      pending = 0;
    }
    if (literal) {
      h0 = h;
      pending = s;
      out[d++] = msg[s++]!;
    } else {
      table[h] = s;
      flags |= bit;
      p += 2;
      s += 2;
      const r = s;
      const q = Math.min(s + 255, t);
      while (msg[p] === msg[s] && ++s < q) ++p;
      out[d++] = h;
      out[d++] = s - r;
    }
    bit = bit === 128 ? 0 : bit * 2;
  }
  out[c] = flags;
  writeU32(out, 4, d, le);
  return out.slice(0, d);
}
