import { readFile } from 'node:fs/promises';
import { RdbStatusFile } from '../api/rdb-status.ts';

export type ReadResult =
  | { kind: 'ok'; status: RdbStatusFile }
  | { kind: 'missing' }
  | { kind: 'invalid'; error: string };

/**
 * The RDB writes the file by rename, so a read sees a whole old or a whole new
 * file; an invalid one is a data-plane bug, reported but never acted on.
 */
export const readStatusFile = async (path: string): Promise<ReadResult> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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
  const parsed = RdbStatusFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'invalid', error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'ok', status: parsed.data };
};
