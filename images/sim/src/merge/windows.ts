import type { SliceSubscription, SliceWindow } from '../rdb/flush.ts';
import { MergeError } from './errors.ts';

/**
 * Which slices of a day the merge takes, so each message of each pool
 * reaches the HDB once. Pure: headers in, a choice out.
 *
 * Within a pool the windows must tile (0, lastI] of the day. Two slices of
 * one pool can hold the same messages: a lost RDB's process may still run
 * on a partitioned node and flush the window its replacement flushes too,
 * or a prefix of it (it got fewer messages before it was cut off). So of
 * windows that start at the same message the widest is taken, a window lying
 * inside a taken one is left out, and anything else is refused: two windows
 * that overlap without one holding the other, one window with two different
 * row counts, a gap, or a pool ending before the day's last message would
 * put a row in twice or leave a hole, and a day merged wrong stays wrong.
 *
 * Across pools the subscriptions decide (rowOwners): a row of a table and
 * sym more than one pool subscribes to is taken from the first such pool by
 * name. The API refuses overlapping pools, but a pool removed from the spec
 * drains through the day its replacement pools start.
 */
export interface SliceInfo {
  /** File name in the day's staging folder. */
  file: string;
  rdb: string;
  pool: string;
  window: SliceWindow;
  rows: Record<string, number>;
  /** null: a slice of before version 2, which did not record it. */
  subscription: SliceSubscription | null;
}

export interface Skipped {
  file: string;
  reason: string;
}

export interface Selection {
  /** The slices to merge, in message order (firstI, then RDB name): ties of sym and time keep it. */
  take: SliceInfo[];
  skipped: Skipped[];
  /** The day's last message, where every pool's windows end. */
  lastI: number;
  pools: Record<string, { slices: string[]; subscription: SliceSubscription | null }>;
}

const w = (s: SliceInfo): string => `(${s.window.firstI}, ${s.window.lastI}]`;
const named = (s: SliceInfo): string => `${s.file} ${w(s)}`;
const isEmpty = (s: SliceInfo): boolean => s.window.lastI <= s.window.firstI;
const sameSubscription = (a: SliceSubscription | null, b: SliceSubscription | null): boolean =>
  JSON.stringify(a && { tables: [...a.tables].sort(), syms: [...a.syms].sort() }) ===
  JSON.stringify(b && { tables: [...b.tables].sort(), syms: [...b.syms].sort() });

const rowDifference = (a: SliceInfo, b: SliceInfo, more: (x: number, y: number) => boolean): string | undefined => {
  for (const t of [...new Set([...Object.keys(a.rows), ...Object.keys(b.rows)])].sort()) {
    const x = a.rows[t] ?? 0;
    const y = b.rows[t] ?? 0;
    if (more(x, y)) return `${t} has ${x} rows in ${a.file} and ${y} in ${b.file}`;
  }
  return undefined;
};

interface PoolChoice {
  take: SliceInfo[];
  skipped: Skipped[];
  end: number;
  last: SliceInfo | undefined;
}

const choosePool = (day: string, pool: string, slices: SliceInfo[]): PoolChoice => {
  const take: SliceInfo[] = [];
  const skipped: Skipped[] = [];
  const refuse = (why: string): never => {
    throw new MergeError(`day ${day}, pool ${pool}: ${why}; not merging`);
  };
  const ordered = [...slices].sort(
    (a, b) => a.window.firstI - b.window.firstI || b.window.lastI - a.window.lastI || a.file.localeCompare(b.file),
  );
  let at = 0;
  for (const s of ordered) {
    if (s.window.firstI < 0 || s.window.lastI < s.window.firstI) refuse(`slice ${named(s)} has no valid window`);
    if (isEmpty(s)) {
      // A queued RDB's slice at end of day: no message, so no row.
      const held = Object.entries(s.rows).find(([, n]) => n > 0);
      if (held) refuse(`slice ${named(s)} has an empty window but holds ${held[1]} rows of ${held[0]}`);
      skipped.push({ file: s.file, reason: 'empty window' });
      continue;
    }
    if (s.window.firstI > at) {
      const before = take.at(-1);
      refuse(`no slice holds messages (${at}, ${s.window.firstI}] (between ${before ? named(before) : 'the start of the day'} and ${named(s)}): a window is missing`);
    }
    if (s.window.firstI === at) {
      take.push(s);
      at = s.window.lastI;
      continue;
    }
    // Starts inside what is taken: it must lie inside one taken window, with no more rows.
    const holder = take.find((c) => c.window.firstI <= s.window.firstI && s.window.lastI <= c.window.lastI);
    if (!holder) {
      const crossed = take.filter((c) => c.window.firstI < s.window.lastI && s.window.firstI < c.window.lastI);
      refuse(`the window of ${named(s)} overlaps ${crossed.map(named).join(' and ')} without lying inside one: its rows cannot be told apart by message`);
    }
    const h = holder!;
    if (s.window.firstI === h.window.firstI && s.window.lastI === h.window.lastI) {
      const differ = rowDifference(s, h, (x, y) => x !== y);
      if (differ) refuse(`${s.file} and ${h.file} hold the same window ${w(s)} but ${differ}: one of them is incomplete; compare them and remove the wrong one from the staging folder`);
      skipped.push({ file: s.file, reason: `the same window as ${h.file}` });
    } else {
      const more = rowDifference(s, h, (x, y) => x > y);
      if (more) refuse(`${named(s)} lies inside ${named(h)} but holds more rows (${more})`);
      skipped.push({ file: s.file, reason: `its window lies inside ${named(h)}` });
    }
  }
  return { take, skipped, end: at, last: take.at(-1) };
};

export const selectSlices = (day: string, slices: readonly SliceInfo[]): Selection => {
  const byPool = new Map<string, SliceInfo[]>();
  for (const s of slices) byPool.set(s.pool, [...(byPool.get(s.pool) ?? []), s]);
  const choices = new Map<string, PoolChoice>();
  const pools: Selection['pools'] = {};
  for (const [pool, list] of [...byPool].sort(([a], [b]) => a.localeCompare(b))) {
    // A slice of version 1 did not record the subscription: the pool's others say it.
    const known = list.filter((s) => s.subscription !== null);
    const first = known[0];
    const other = first && known.find((s) => !sameSubscription(s.subscription, first.subscription));
    if (first && other)
      throw new MergeError(
        `day ${day}, pool ${pool}: ${first.file} and ${other.file} were written with different subscriptions (${JSON.stringify(first.subscription)} and ${JSON.stringify(other.subscription)}); not merging`,
      );
    choices.set(pool, choosePool(day, pool, list));
    pools[pool] = { slices: list.map((s) => s.file).sort(), subscription: first?.subscription ?? null };
  }
  let lastI = 0;
  let longest = '';
  for (const [pool, c] of choices) if (c.end > lastI) [lastI, longest] = [c.end, pool];
  for (const [pool, c] of choices)
    if (c.end < lastI)
      throw new MergeError(
        `day ${day}, pool ${pool}: its slices end at message ${c.end}${c.last ? ` (${named(c.last)})` : ''} but pool ${longest}'s reach ${lastI}: messages (${c.end}, ${lastI}] of pool ${pool} are in no slice; not merging a day with a hole`,
      );
  const take = [...choices.values()]
    .flatMap((c) => c.take)
    .sort((a, b) => a.window.firstI - b.window.firstI || a.rdb.localeCompare(b.rdb) || a.file.localeCompare(b.file));
  const skipped = [...choices.values()].flatMap((c) => c.skipped).sort((a, b) => a.file.localeCompare(b.file));
  return { take, skipped, lastI, pools };
};

/**
 * Which rows of `table` a taken slice gives the HDB: 'none' when a pool
 * earlier by name subscribes to all of the table's syms, else the syms an
 * earlier pool holds (left out), or null for all rows.
 */
export type RowsKept = 'none' | { leaveOut: ReadonlySet<string> | null };

export const rowOwners = (selection: Selection, table: string): Map<string, RowsKept> => {
  const covering = Object.entries(selection.pools)
    .filter(([, p]) => p.subscription && (p.subscription.tables.length === 0 || p.subscription.tables.includes(table)))
    .sort(([a], [b]) => a.localeCompare(b));
  const out = new Map<string, RowsKept>();
  for (const s of selection.take) {
    if (!selection.pools[s.pool]?.subscription) {
      out.set(s.file, { leaveOut: null });
      continue;
    }
    const earlier = covering.filter(([name]) => name < s.pool).map(([, p]) => p.subscription!);
    if (earlier.some((p) => p.syms.length === 0)) out.set(s.file, 'none');
    else {
      const syms = new Set(earlier.flatMap((p) => p.syms));
      out.set(s.file, { leaveOut: syms.size ? syms : null });
    }
  }
  return out;
};
