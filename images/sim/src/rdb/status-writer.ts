import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RdbStatusFile } from '../../../../operator/src/api/rdb-status.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export type { RdbStatusFile };

/** The reporting contract: one small JSON file, replaced by rename (no fsync: it lives on an emptyDir). */
export class StatusWriter {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  write(status: RdbStatusFile): void {
    writeFileAtomic(this.path, JSON.stringify(status), false);
  }
}
