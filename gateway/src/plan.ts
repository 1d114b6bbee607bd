// Where one getData goes: pure, purviews in, parts out (or why the query
// cannot be answered whole). The rules:
//
// - A day the HDB has is asked of the HDB only; a day it lacks, of the RDBs
//   holding it.
// - Within a pool and day the RDB windows (firstI, lastI] must tile the day
//   from message 0: each message is in exactly one of them. Of two RDBs
//   starting at the same message (a lost RDB and its replacement) the one
//   further on is taken. A gap (an RDB lost and not yet replaced) fails the
//   query when its rows could be in the range, by the neighbours' times
//   (message order is time order when the tickerplant stamps time, and for
//   a feed that sends in time order); an RDB still replaying its window
//   makes the caller wait and plan again.
// - Across pools a table and sym more than one pool subscribes to is taken
//   from the first such pool by name (the merge's rule, merge/windows.ts).
// - A rolled RDB whose rows of the table lie outside the range is skipped;
//   the live RDB never is (its rows keep coming).
// - A finished day that is in no RDB any more and not yet in the HDB
//   (flushed, merge pending) fails the query if the range can reach it: by
//   the day's span when the trading day is known (KDB_EOD_TIME, KDB_TZ as on
//   the tickerplant), else by the times either side of it (refuses more).

import { timestampToMsBound } from '../../images/sim/src/query/columns.ts';
import type { HdbPurview, RdbPurview, TableRange } from '../../images/sim/src/query/purview.ts';
import type { GetDataRequest } from '../../images/sim/src/query/request.ts';

export interface RdbSource {
  /** host:port, as the gateway reaches it. */
  endpoint: string;
  purview: RdbPurview;
}

export interface HdbSource {
  endpoint: string;
  purview: HdbPurview;
}

export interface Part {
  kind: 'rdb' | 'hdb';
  endpoint: string;
  /** For errors and the answer's provenance: "rdb r3 (pool1)" or "hdb". */
  label: string;
  /** Rows of these syms are another pool's (an earlier one by name): left out of this part's answer. */
  excludeSyms?: ReadonlySet<string>;
}

export type Plan = { ok: true; parts: Part[] } | { ok: false; retry: boolean; message: string };

const HOLDS = new Set(['live', 'rolled', 'replaying', 'flushing']);

const subscribesTo = (p: RdbPurview, table: string) => p.subscription.tables.length === 0 || p.subscription.tables.includes(table);
const rangeOf = (p: RdbPurview, table: string): TableRange | undefined => p.tables.find((t) => t.table === table);
const label = (p: RdbPurview) => `rdb ${p.name} (${p.pool})`;

/** Whether rows with times in [lo, hi] (null: unbounded) can fall in [from, to). */
const meets = (lo: number | null, hi: number | null, from: number | undefined, to: number | undefined): boolean =>
  !(from !== undefined && hi !== null && hi < from) && !(to !== undefined && lo !== null && lo >= to);

/** The instants [start, end) in epoch ms a trading day covers. */
export type DaySpan = (day: string) => [number, number];

export function planGetData(req: GetDataRequest, rdbs: readonly RdbSource[], hdb: HdbSource | undefined, daySpan?: DaySpan): Plan {
  const from = req.start === undefined ? undefined : timestampToMsBound(req.start);
  const to = req.end === undefined ? undefined : timestampToMsBound(req.end);
  const parts: Part[] = [];
  const hdbDays = new Set(hdb?.purview.days ?? []);

  if (hdb) {
    const ranges = hdb.purview.tables.filter((t) => t.table === req.table && t.rows > 0);
    if (ranges.some((t) => meets(t.firstTime, t.lastTime, from, to))) parts.push({ kind: 'hdb', endpoint: hdb.endpoint, label: 'hdb' });
  }

  const days = [...new Set(rdbs.map((r) => r.purview.day))].sort();
  const today = days.at(-1);
  // Days that ended and were flushed, are not in the HDB yet, and no RDB holds rows of any more: their merge is pending.
  const flushedDays = new Set(rdbs.flatMap((r) => r.purview.flushed.filter((f) => f.rows > 0).map((f) => f.day)));
  for (const day of [...new Set([...days, ...flushedDays])].sort()) {
    if (day === today || hdbDays.has(day) || !flushedDays.has(day)) continue;
    const holding = rdbs.filter((r) => r.purview.day === day && HOLDS.has(r.purview.state) && r.purview.tables.some((t) => t.rows > 0));
    if (holding.length > 0) continue;
    const pending = { ok: false as const, retry: false, message: `getData: day ${day} has ended and its RDBs flushed it, but the HDB does not have it yet (merge pending): the range reaches it; ask again once merged` };
    if (daySpan) {
      const [start, end] = daySpan(day);
      // [start, end) against [from, to): half-open both.
      if ((to === undefined || to > start) && (from === undefined || from < end)) return pending;
      continue;
    }
    const hdbLast = hdb?.purview.tables.filter((t) => t.table === req.table && t.lastTime !== null && t.day < day).reduce<number | null>((m, t) => Math.max(m ?? -Infinity, t.lastTime!), null) ?? null;
    const todayFirst = rdbs
      .filter((r) => r.purview.day === today)
      .map((r) => rangeOf(r.purview, req.table)?.firstTime ?? null)
      .reduce<number | null>((m, t) => (t === null ? m : Math.min(m ?? Infinity, t)), null);
    if (meets(hdbLast, todayFirst, from, to)) return pending;
  }

  for (const day of days) {
    if (hdbDays.has(day)) continue;
    const ofDay = rdbs.filter((r) => r.purview.day === day && HOLDS.has(r.purview.state) && subscribesTo(r.purview, req.table));
    const pools = [...new Set(ofDay.map((r) => r.purview.pool))].sort();
    const claimed = new Set<string>();
    let claimedAll = false;
    for (const pool of pools) {
      if (claimedAll) break;
      const members = ofDay.filter((r) => r.purview.pool === pool);
      const chosen = tile(members);
      const syms = members[0]!.purview.subscription.syms;
      const exclude = syms.length === 0 ? new Set(claimed) : new Set(syms.filter((s) => claimed.has(s)));
      const asked = req.syms;
      // A pool that holds none of the asked syms is not asked.
      const reach = (asked === undefined || syms.length === 0 || asked.some((s) => syms.includes(s))) && !(asked !== undefined && asked.every((s) => exclude.has(s)));
      for (let k = 0; k < chosen.length; k++) {
        const r = chosen[k]!;
        const p = r.purview;
        const next = chosen[k + 1];
        if (p.state === 'replaying' && reach) return { ok: false, retry: true, message: `getData: ${label(p)} is still replaying its window (${p.firstI}, ${p.lastI ?? 'open'}]` };
        if (next !== undefined && p.lastI !== null && next.purview.firstI > p.lastI && reach) {
          const lo = rangeOf(p, req.table)?.lastTime ?? null;
          const hi = rangeOf(next.purview, req.table)?.firstTime ?? null;
          if (meets(lo, hi, from, to))
            return { ok: false, retry: true, message: `getData: pool ${pool} of ${day} has no RDB holding messages (${p.lastI}, ${next.purview.firstI}] (lost, its replacement not yet replaying), and the range can reach them` };
        }
        if (!reach) continue;
        if (p.state !== 'live') {
          const t = rangeOf(p, req.table);
          if (t === undefined || t.rows === 0 || !meets(t.firstTime, t.lastTime, from, to)) continue;
        }
        parts.push({ kind: 'rdb', endpoint: r.endpoint, label: label(p), ...(exclude.size > 0 ? { excludeSyms: exclude } : {}) });
      }
      if (chosen.length > 0 && chosen[0]!.purview.firstI > 0 && reach) {
        const hi = rangeOf(chosen[0]!.purview, req.table)?.firstTime ?? null;
        if (meets(null, hi, from, to))
          return { ok: false, retry: true, message: `getData: pool ${pool} of ${day} has no RDB holding messages (0, ${chosen[0]!.purview.firstI}], and the range can reach them` };
      }
      if (syms.length === 0) claimedAll = true;
      else for (const s of syms) claimed.add(s);
    }
  }
  return { ok: true, parts };
}

/**
 * The RDBs of one pool and day whose windows tile it, in message order: of
 * those starting at the same message the one that reaches furthest (a
 * closed window over an open one being replayed), then by name.
 */
export function tile(members: readonly RdbSource[]): RdbSource[] {
  const reach = (r: RdbSource) => (r.purview.lastI === null ? Number.MAX_SAFE_INTEGER : r.purview.lastI);
  const ready = (r: RdbSource) => (r.purview.state === 'replaying' ? 0 : 1);
  const sorted = [...members].sort(
    (a, b) => a.purview.firstI - b.purview.firstI || ready(b) - ready(a) || reach(b) - reach(a) || a.purview.name.localeCompare(b.purview.name),
  );
  const out: RdbSource[] = [];
  let upTo = -1;
  for (const r of sorted) {
    if (out.length > 0 && r.purview.firstI === out.at(-1)!.purview.firstI) continue;
    // A window lying inside one taken (a lost RDB's prefix) adds nothing.
    if (r.purview.firstI < upTo) continue;
    out.push(r);
    upTo = reach(r);
  }
  return out;
}
