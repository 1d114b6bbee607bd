import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, write, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The tickerplant log: one entry per update message, in message order.
 *   file  = "KDBTPL02" (or "KDBTPL01", written before epochs existed) record*
 *   record = u32 LE length, u32 LE crc32(payload), payload
 * A record is a message (the update JSON as published), numbered one above
 * the message before it; or, with the top bit of the length set, an epoch
 * mark {"epoch":e,"next":n}: the log lost published messages (a tail cut
 * after a crash or by hand), and numbering goes on at n, above every number
 * ever handed out, so no number is used twice. The numbers between are lost.
 * The CRC makes a torn or garbled tail detectable at start; the length prefix
 * lets a replay skip the messages before its window without parsing them.
 */
export const LOG_MAGIC = Buffer.from('KDBTPL02');
const LOG_MAGIC_V1 = Buffer.from('KDBTPL01');
const ENTRY_HEADER = 8;
const MARK = 0x80000000;
const isMagic = (b: Buffer): boolean => b.equals(LOG_MAGIC) || b.equals(LOG_MAGIC_V1);

export const logPathFor = (dir: string, day: string): string => join(dir, `tp-${day}.log`);
export const commitPathFor = (dir: string, day: string): string => join(dir, `tp-${day}.commit`);

/** Message numbers first..last (inclusive) that were handed out and are no longer in the log. */
export type LostRange = [number, number];

export interface LogScan {
  /** The highest message number in the log (messages and epoch marks). */
  count: number;
  validBytes: number;
  totalBytes: number;
  /** Why the bytes after validBytes are not a log entry; null when the file is whole. */
  corruption: string | null;
  epoch: number;
  lost: LostRange[];
}

interface EpochMark {
  epoch: number;
  next: number;
}

const parseMark = (payload: Buffer): EpochMark | null => {
  try {
    const m = JSON.parse(payload.toString('utf8')) as EpochMark;
    return Number.isInteger(m.epoch) && Number.isInteger(m.next) ? m : null;
  } catch {
    return null;
  }
};

/** True when the window (afterI, uptoI] needs a message of a lost range. */
export const lostIn = (lost: readonly LostRange[], afterI: number, uptoI: number): LostRange | null =>
  lost.find(([a, b]) => a <= uptoI && b > afterI) ?? null;

const CHUNK = 8 * 1024 * 1024;

/** Reads the file through and counts whole entries, stopping at the first bad one. */
export const scanLog = (path: string): LogScan => {
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    const lost: LostRange[] = [];
    let epoch = 0;
    if (total < LOG_MAGIC.length) return { count: 0, validBytes: 0, totalBytes: total, corruption: 'missing header', epoch, lost };
    const head = Buffer.alloc(LOG_MAGIC.length);
    readSync(fd, head, 0, head.length, 0);
    if (!isMagic(head)) return { count: 0, validBytes: 0, totalBytes: total, corruption: 'bad header', epoch, lost };
    let pos = LOG_MAGIC.length;
    let count = 0;
    const bad = (why: string): LogScan => ({ count, validBytes: pos, totalBytes: total, corruption: why, epoch, lost });
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
      if (!ensure(pos, ENTRY_HEADER)) return bad('truncated entry header');
      const word = buf.readUInt32LE(pos - bufStart);
      const len = (word & ~MARK) >>> 0;
      const sum = buf.readUInt32LE(pos - bufStart + 4);
      if (!ensure(pos + ENTRY_HEADER, len)) return bad(`truncated entry ${count + 1} (${len} bytes announced)`);
      const off = pos + ENTRY_HEADER - bufStart;
      const payload = buf.subarray(off, off + len);
      if (crc32(payload) !== sum) return bad(`checksum mismatch in entry ${count + 1}`);
      if (word & MARK) {
        const m = parseMark(payload);
        if (!m || m.next <= count) return bad(`bad epoch mark after message ${count}`);
        if (m.next > count + 1) lost.push([count + 1, m.next - 1]);
        epoch = m.epoch;
        count = m.next - 1;
      } else count++;
      pos += ENTRY_HEADER + len;
    }
    return { count, validBytes: pos, totalBytes: total, corruption: null, epoch, lost };
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

/**
 * Appends entries; the caller counts a message only after append returns,
 * and publishes it only once a commit covers it (see commit).
 */
export class LogWriter {
  readonly path: string;
  private fd: number;
  /** Bytes in the file: where the next entry starts. */
  bytes: number;
  private commitFd = -1;
  private commitNo = 0;
  private inFlight = 0;
  private closing = false;

  constructor(path: string, commitPath?: string) {
    this.path = path;
    this.fd = openSync(path, 'a');
    this.bytes = fstatSync(this.fd).size;
    if (this.bytes === 0) this.writeAll(LOG_MAGIC);
    if (commitPath) {
      this.commitFd = openSync(commitPath, 'a+');
      closeSync(this.commitFd);
      this.commitFd = openSync(commitPath, 'r+');
      this.commitNo = readCommitFd(this.commitFd)?.n ?? 0;
    }
  }

  /** Writes an epoch mark: numbering goes on at `next`. */
  appendEpoch(epoch: number, next: number): void {
    const payload = Buffer.from(JSON.stringify({ epoch, next }));
    const out = encodeEntry(payload);
    out.writeUInt32LE((payload.length | MARK) >>> 0, 0);
    this.writeAll(out);
  }

  /**
   * Group commit: makes every entry appended so far durable (fdatasync of the
   * log), then the commit record saying so (count, bytes, feed positions),
   * off the main thread; `done` runs once both are on disk. Appends go on
   * meanwhile; the next commit covers them. What is published and what a
   * feed is told was logged never goes beyond the last commit.
   */
  commit(rec: Omit<CommitRecord, 'n'>, done: (e: Error | null) => void): void {
    const full: CommitRecord = { ...rec, n: ++this.commitNo };
    const buf = encodeCommit(full);
    this.inFlight++;
    const finish = (e: Error | null) => {
      this.inFlight--;
      if (this.closing && this.inFlight === 0) this.closeFds();
      done(e);
    };
    fdatasync(this.fd, (e) => {
      if (e) return finish(e);
      write(this.commitFd, buf, 0, buf.length, slotOffset(full.n), (e2) => {
        if (e2) return finish(e2);
        fdatasync(this.commitFd, (e3) => finish(e3));
      });
    });
  }

  /** The same as commit, on the main thread (start, end of day, stop). */
  commitSync(rec: Omit<CommitRecord, 'n'>): void {
    const full: CommitRecord = { ...rec, n: ++this.commitNo };
    fdatasyncSync(this.fd);
    const buf = encodeCommit(full);
    writeSync(this.commitFd, buf, 0, buf.length, slotOffset(full.n));
    fdatasyncSync(this.commitFd);
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
    if (this.fd < 0 || this.closing) return;
    fdatasyncSync(this.fd);
    this.closing = true;
    // A commit still running on the thread pool uses the descriptors: they are closed when it ends.
    if (this.inFlight === 0) this.closeFds();
  }

  private closeFds(): void {
    closeSync(this.fd);
    if (this.commitFd >= 0) closeSync(this.commitFd);
    this.fd = -1;
    this.commitFd = -1;
  }

  private writeAll(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.bytes += buf.length;
  }
}

/**
 * The commit record beside each day's log (tp-<day>.commit): what the last
 * group commit made durable. Two slots written in turn, each u32 length,
 * u32 crc32, JSON; the valid slot with the higher n wins, so a torn write
 * leaves the one before. It is the tickerplant's proof of what it handed
 * out: a log found shorter than `count` lost published messages.
 */
export interface CommitRecord {
  n: number;
  /** Highest message number durable in the log (and so ever published or used in a window). */
  count: number;
  /** Log length covering exactly those messages: bytes after it were never published. */
  bytes: number;
  epoch: number;
  lost: LostRange[];
  /** Per feed id, the last sequence number handled (logged or refused) within this commit. */
  feeds: Record<string, number>;
}

const SLOT = 1 << 20;
const slotOffset = (n: number): number => (n % 2) * SLOT;

const encodeCommit = (c: CommitRecord): Buffer => {
  const body = Buffer.from(JSON.stringify(c));
  if (body.length + ENTRY_HEADER > SLOT) throw new Error(`commit record of ${body.length} bytes is over ${SLOT} (too many feed ids in one day)`);
  const out = Buffer.allocUnsafe(ENTRY_HEADER + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(body), 4);
  out.set(body, ENTRY_HEADER);
  return out;
};

const readCommitFd = (fd: number): CommitRecord | null => {
  const size = fstatSync(fd).size;
  let best: CommitRecord | null = null;
  for (const off of [0, SLOT]) {
    if (size < off + ENTRY_HEADER) continue;
    const h = Buffer.alloc(ENTRY_HEADER);
    readSync(fd, h, 0, ENTRY_HEADER, off);
    const len = h.readUInt32LE(0);
    if (len === 0 || len > SLOT - ENTRY_HEADER || size < off + ENTRY_HEADER + len) continue;
    const body = Buffer.alloc(len);
    readSync(fd, body, 0, len, off + ENTRY_HEADER);
    if (crc32(body) !== h.readUInt32LE(4)) continue;
    try {
      const c = JSON.parse(body.toString('utf8')) as CommitRecord;
      if (!best || c.n > best.n) best = c;
    } catch {
      // a slot torn by a crash: the other one stands
    }
  }
  return best;
};

export const readCommit = (path: string): CommitRecord | null => {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return readCommitFd(fd);
  } finally {
    closeSync(fd);
  }
};

export class LogReadError extends Error {}
/** A window needs messages that were handed out but are no longer in the log. */
export class LostMessagesError extends LogReadError {}

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
    if (len < LOG_MAGIC.length || !isMagic(buf.subarray(0, LOG_MAGIC.length)))
      throw new LogReadError(`${path}: not a tickerplant log`);
    let off = LOG_MAGIC.length;
    let i = 0;
    let applied = 0;
    while (i < uptoI) {
      if (len - off < ENTRY_HEADER || len - off < ENTRY_HEADER + ((buf.readUInt32LE(off) & ~MARK) >>> 0)) {
        // Refill: move the partial entry to the front, grow if one entry is bigger than the buffer.
        const need = len - off >= ENTRY_HEADER ? ENTRY_HEADER + ((buf.readUInt32LE(off) & ~MARK) >>> 0) : ENTRY_HEADER;
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
      const word = buf.readUInt32LE(off);
      if (word & MARK) {
        const plen = (word & ~MARK) >>> 0;
        const m = parseMark(buf.subarray(off + ENTRY_HEADER, off + ENTRY_HEADER + plen));
        if (!m || m.next <= i) throw new LogReadError(`${path}: bad epoch mark after message ${i}`);
        const gap = lostIn([[i + 1, m.next - 1]], afterI, uptoI);
        if (m.next > i + 1 && gap)
          throw new LostMessagesError(
            `${path}: messages ${gap[0]}..${gap[1]} are lost from the log (epoch ${m.epoch} starts at ${m.next}); the window (${afterI}, ${uptoI}] needs them`,
          );
        i = m.next - 1;
        off += ENTRY_HEADER + plen;
        continue;
      }
      const plen = word;
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
