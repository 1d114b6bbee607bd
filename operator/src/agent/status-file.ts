import { open } from 'node:fs/promises';
import { RdbStatusFile } from '../api/rdb-status.ts';

export type ReadResult =
  | { kind: 'ok'; status: RdbStatusFile }
  | { kind: 'missing' }
  | { kind: 'invalid'; error: string };

/** A status file is a few hundred bytes; a long-lived RDB's flush history keeps it far below this. */
export const MAX_STATUS_FILE_BYTES = 1024 * 1024;

/** Validates a decoded status file; a refusal names the field (what the agent logs). */
export const parseStatusFile = (json: unknown): { ok: true; status: RdbStatusFile } | { ok: false; error: string } => {
  const parsed = RdbStatusFile.safeParse(json);
  if (parsed.success) return { ok: true, status: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
};

/**
 * The RDB writes the file by rename, so a read sees a whole old or a whole new
 * file; an invalid one is a data-plane bug, reported but never acted on. The
 * read is bounded: a runaway writer cannot make the agent load gigabytes.
 */
export const readStatusFile = async (path: string): Promise<ReadResult> => {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      // Sized from the file, not the bound: a 1 MiB buffer every tick kept megabytes of the
      // agent resident on every server (bench/agent-memory.ts). Still read to the end, bounded.
      const size = Math.min((await fh.stat()).size, MAX_STATUS_FILE_BYTES) + 1;
      const parts: Buffer[] = [];
      let n = 0;
      for (let buf = Buffer.allocUnsafe(size); ; buf = Buffer.allocUnsafe(Math.min(64 * 1024, MAX_STATUS_FILE_BYTES + 1 - n))) {
        const r = await fh.read(buf, 0, buf.length, n);
        if (r.bytesRead === 0) break;
        parts.push(buf.subarray(0, r.bytesRead));
        n += r.bytesRead;
        if (n > MAX_STATUS_FILE_BYTES) return { kind: 'invalid', error: `(root): larger than ${MAX_STATUS_FILE_BYTES} bytes` };
      }
      text = Buffer.concat(parts, n).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { kind: 'invalid', error: `not JSON: ${(e as Error).message}` };
  }
  const r = parseStatusFile(json);
  return r.ok ? { kind: 'ok', status: r.status } : { kind: 'invalid', error: r.error };
};
