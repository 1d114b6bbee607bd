import type { SimEvent } from './simulate.ts';

/**
 * Read from the event log alone, independently of the simulator's own safety
 * counters: every instance terminated, with the RDBs that ever ran on it that
 * had not flushed before the terminate, and any that did something after
 * flushing (went live, rolled, took data). A live RDB that flushed and went
 * on live counts as flushed until it takes its first message of the new day.
 */
export const terminationsOfUnflushed = (log: readonly SimEvent[]): { instanceId: string; h: number; rdbs: string[] }[] => {
  const flushed = new Set<string>();
  const bad: { instanceId: string; h: number; rdbs: string[] }[] = [];
  for (const e of log) {
    const rdb = typeof e.rdb === 'string' ? e.rdb : undefined;
    if (e.kind === 'flushed' && rdb) flushed.add(rdb);
    if ((e.kind === 'live' || e.kind === 'roll' || e.kind === 'queued' || e.kind === 'took') && rdb) flushed.delete(rdb);
    if (e.kind === 'terminate') {
      const rdbs = (e.rdbs as string[]).filter((r) => !flushed.has(r));
      if (rdbs.length > 0) bad.push({ instanceId: String(e.instanceId), h: e.h, rdbs });
    }
  }
  return bad;
};
