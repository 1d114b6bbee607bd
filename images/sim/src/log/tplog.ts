import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The tickerplant log: one entry per update message, in message order, so
 * entry k (1-based) is message k of the day.
 *   file  = "KDBTPL01" entry*
 *   entry = u32 LE payload length, u32 LE crc32(payload), payload (the update JSON as published)
 * The CRC makes a torn or garbled tail detectable at start; the length prefix
 * lets a replay skip the messages before its window without parsing them.
 */
export const LOG_MAGIC = Buffer.from('KDBTPL01');
const ENTRY_HEADER = 8;

export const logPathFor = (dir: string, day: string): string => join(dir, `tp-${day}.log`);

export interface LogScan {
  count: number;
  validBytes: number;
  totalBytes: number;
  /** Why the bytes after validBytes are not a log entry; null when the file is whole. */
  corruption: string | null;
}

const CHUNK = 8 * 1024 * 1024;

/** Reads the file through and counts whole entries, stopping at the first bad one. */
export const scanLog = (path: string): LogScan => {
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    if (total < LOG_MAGIC.length) return { count: 0, validBytes: 0, totalBytes: total, corruption: 'missing header' };
    const head = Buffer.alloc(LOG_MAGIC.length);
    readSync(fd, head, 0, head.length, 0);
    if (!head.equals(LOG_MAGIC)) return { count: 0, validBytes: 0, totalBytes: total, corruption: 'bad header' };
    let pos = LOG_MAGIC.length;
    let count = 0;
    let buf = Buffer.alloc(CHUNK);
    let bufStart = pos;
    let bufLen = 0;
    const ensure = (from: number, len: number): boolean => {
      if (from + len > total) return false;
      if (from >= bufStart && from + len <= bufStart + bufLen) return true;
      if (len > buf.length) buf = Buffer.alloc(len);
      bufStart = from;
      bufLen = readSync(fd, buf, 0, Math.min(buf.length, total - from), from);
      return bufLen >= len;
    };
    while (pos < total) {
      if (!ensure(pos, ENTRY_HEADER)) return { count, validBytes: pos, totalBytes: total, corruption: 'truncated entry header' };
      const len = buf.readUInt32LE(pos - bufStart);
      const sum = buf.readUInt32LE(pos - bufStart + 4);
      if (!ensure(pos + ENTRY_HEADER, len))
        return { count, validBytes: pos, totalBytes: total, corruption: `truncated entry ${count + 1} (${len} bytes announced)` };
      const off = pos + ENTRY_HEADER - bufStart;
      if (crc32(buf.subarray(off, off + len)) !== sum)
        return { count, validBytes: pos, totalBytes: total, corruption: `checksum mismatch in entry ${count + 1}` };
      pos += ENTRY_HEADER + len;
      count++;
    }
    return { count, validBytes: pos, totalBytes: total, corruption: null };
  } finally {
    closeSync(fd);
  }
};

export const truncateLog = (path: string, bytes: number): void => {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, bytes);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

export const encodeEntry = (payload: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(ENTRY_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, ENTRY_HEADER);
  return out;
};

/** Appends entries; the caller counts a message only after append returns. */
export class LogWriter {
  readonly path: string;
  private fd: number;

  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, 'a');
    if (fstatSync(this.fd).size === 0) this.writeAll(LOG_MAGIC);
  }

  /** Writes a batch of messages in one system call. */
  append(payloads: readonly Uint8Array[]): void {
    if (payloads.length === 1) return this.writeAll(encodeEntry(payloads[0]!));
    let size = 0;
    for (const p of payloads) size += ENTRY_HEADER + p.length;
    const out = Buffer.allocUnsafe(size);
    let off = 0;
    for (const p of payloads) {
      out.writeUInt32LE(p.length, off);
      out.writeUInt32LE(crc32(p), off + 4);
      out.set(p, off + ENTRY_HEADER);
      off += ENTRY_HEADER + p.length;
    }
    this.writeAll(out);
  }

  /** Before handing a reader a window, so a reader on another NFS/EFS client sees the bytes. */
  sync(): void {
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  private writeAll(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }
}

export class LogReadError extends Error {}

/**
 * Replays messages afterI < i <= uptoI (the window, see window.ts) in order,
 * calling onMessage with each payload. Entries before the window are skipped
 * by their length alone. onMessage returns false to stop early (a roll
 * during replay). Reading is chunked and awaits between chunks so the
 * process stays responsive (status file, queries) through a long replay.
 */
export const replayLog = async (
  path: string,
  afterI: number,
  uptoI: number,
  onMessage: (i: number, payload: Buffer) => boolean,
  chunkBytes = CHUNK,
): Promise<{ applied: number; stoppedAt: number; stoppedEarly: boolean }> => {
  if (uptoI <= afterI) return { applied: 0, stoppedAt: afterI, stoppedEarly: false };
  const fh = await open(path, 'r');
  try {
    let buf = Buffer.alloc(chunkBytes);
    let pos = 0; // file offset of buf[0]
    let len = (await fh.read(buf, 0, buf.length, 0)).bytesRead;
    if (len < LOG_MAGIC.length || !buf.subarray(0, LOG_MAGIC.length).equals(LOG_MAGIC))
      throw new LogReadError(`${path}: not a tickerplant log`);
    let off = LOG_MAGIC.length;
    let i = 0;
    let applied = 0;
    while (i < uptoI) {
      if (len - off < ENTRY_HEADER || len - off < ENTRY_HEADER + buf.readUInt32LE(off)) {
        // Refill: move the partial entry to the front, grow if one entry is bigger than the buffer.
        const need = len - off >= ENTRY_HEADER ? ENTRY_HEADER + buf.readUInt32LE(off) : ENTRY_HEADER;
        const rest = len - off;
        if (need > buf.length) {
          const bigger = Buffer.alloc(need * 2);
          buf.copy(bigger, 0, off, len);
          buf = bigger;
        } else {
          // onMessage has consumed every payload before this point, so the buffer can be reused.
          buf.copyWithin(0, off, len);
        }
        pos += off;
        off = 0;
        const r = (await fh.read(buf, rest, buf.length - rest, pos + rest)).bytesRead;
        len = rest + r;
        if (r === 0) throw new LogReadError(`${path}: ends at message ${i}, window needs up to ${uptoI}`);
        continue;
      }
      const plen = buf.readUInt32LE(off);
      i++;
      if (i > afterI) {
        const payload = buf.subarray(off + ENTRY_HEADER, off + ENTRY_HEADER + plen);
        if (crc32(payload) !== buf.readUInt32LE(off + 4)) throw new LogReadError(`${path}: checksum mismatch in message ${i}`);
        applied++;
        if (!onMessage(i, payload)) return { applied, stoppedAt: i, stoppedEarly: true };
      }
      off += ENTRY_HEADER + plen;
    }
    return { applied, stoppedAt: i, stoppedEarly: false };
  } finally {
    await fh.close();
  }
};
