import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let seq = 0;
const tempPathFor = (path: string): string => join(dirname(path), `.${basename(path)}.${process.pid}.${seq++}.tmp`);

/**
 * Replace a file so a reader (or a crash) sees the whole old or the whole new
 * content. `durable` adds fsync of the file and its folder, for data that must
 * survive a machine crash (state, slices); the status file only needs rename.
 */
export const writeFileAtomic = (path: string, data: string | Uint8Array, durable = true): void =>
  writeFileAtomicStream(path, (write) => write(data), durable);

/**
 * writeFileAtomic for data produced piece by piece: a whole day's slice
 * rendered as one string would need several times the RDB's data in memory
 * at the moment the RDB is fullest (end of day).
 */
export const writeFileAtomicStream = (
  path: string,
  produce: (write: (chunk: string | Uint8Array) => void) => void,
  durable = true,
): void => {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    produce((chunk) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      // writeSync may write part of the buffer: go on from the bytes written.
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    });
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (durable) fsyncDir(dirname(path));
};

export const fsyncDir = (dir: string): void => {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  }
};
