import type { SimEvent } from './simulate.ts';

/**
 * Read from the event log alone, independently of the simulator's own safety
 * counters: every instance terminated, with the RDBs that ever ran on it that
 * had not flushed (a 'flushed' event that does not go on live) before the
 * terminate, and any that did something after flushing (went live, rolled).
 */
export const terminationsOfUnflushed = (log: readonly SimEvent[]): { instanceId: string; h: number; rdbs: string[] }[] => {
  const flushed = new Set<string>();
  const bad: { instanceId: string; h: number; rdbs: string[] }[] = [];
  for (const e of log) {
    const rdb = typeof e.rdb === 'string' ? e.rdb : undefined;
    if (e.kind === 'flushed' && rdb && e.goesOn === false) flushed.add(rdb);
    if ((e.kind === 'live' || e.kind === 'roll' || e.kind === 'queued') && rdb) flushed.delete(rdb);
    if (e.kind === 'terminate') {
      const rdbs = (e.rdbs as string[]).filter((r) => !flushed.has(r));
      if (rdbs.length > 0) bad.push({ instanceId: String(e.instanceId), h: e.h, rdbs });
    }
  }
  return bad;
};
