import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { QueueTable } from './subscriber-queue.ts';

/**
 * The subscriber table on the tickerplant's volume, rewritten atomically on
 * every change, so a restarted tickerplant knows every queue, live RDB and
 * rolled window it had.
 */
export class StateStore {
  readonly path: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'subscribers.json');
  }

  load(): QueueTable | null {
    if (!existsSync(this.path)) return null;
    const data = JSON.parse(readFileSync(this.path, 'utf8')) as { version?: number; table?: QueueTable };
    if (data.version !== 1 || !data.table) throw new Error(`${this.path}: unknown subscriber table format`);
    return data.table;
  }

  save(table: QueueTable): void {
    writeFileAtomic(this.path, JSON.stringify({ version: 1, table }, null, 1));
  }
}
