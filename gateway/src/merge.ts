// The parts' answers as one table: each part is in time order (the query
// API's promise), so they merge like sorted runs; rows of one time keep part
// order (HDB days, then RDBs in message order), so the whole answer is in
// time order and, within a time, in the order the rows were published.

import type { QTable, QValue } from '../../ipc/src/index.ts';

export class MergeShapeError extends Error {}

type Store = { length: number; [i: number]: unknown };

/** Rows of a part whose sym is in `exclude` left out. */
export function dropSyms(t: QTable, exclude: ReadonlySet<string>): QTable {
  const si = t.columns.indexOf('sym');
  const sym = t.data[si];
  if (si < 0 || sym?.kind !== 'vector' || sym.type !== 'symbol') throw new MergeShapeError('a part has no sym column to leave rows out by');
  const keep: number[] = [];
  sym.values.forEach((s, r) => {
    if (!exclude.has(s)) keep.push(r);
  });
  if (keep.length === sym.values.length) return t;
  return { kind: 'table', columns: t.columns, data: t.data.map((c) => pick(c, keep.map((r): [number, number] => [0, r]), [c])) };
}

/** A column of the rows `order` ([part, row] pairs) from the parts' columns of one name. */
function pick(first: QValue, order: readonly [number, number][], cols: readonly QValue[]): QValue {
  if (first.kind === 'list') {
    return { kind: 'list', values: order.map(([p, r]) => (cols[p] as { values: QValue[] }).values[r]!) };
  }
  if (first.kind !== 'vector' || first.type === 'char') throw new MergeShapeError(`a part's column is ${first.kind === 'vector' ? 'a string' : `a ${first.kind}`}, not a vector`);
  const src = cols.map((c) => (c as { values: Store }).values);
  const proto = src[0]!;
  const out: Store = Array.isArray(proto) ? new Array(order.length) : new (proto.constructor as new (n: number) => Store)(order.length);
  for (let k = 0; k < order.length; k++) {
    const [p, r] = order[k]!;
    out[k] = src[p]![r];
  }
  return { kind: 'vector', type: first.type, values: out } as QValue;
}

/** The parts as one table in time order, with `columns` (time need not be among them: it is used, then left out). */
export function mergeByTime(parts: readonly QTable[], columns: readonly string[]): QTable {
  if (parts.length === 0) throw new MergeShapeError('no parts to merge');
  const times = parts.map((t, p) => {
    const c = t.data[t.columns.indexOf('time')];
    if (c?.kind !== 'vector' || c.type !== 'timestamp') throw new MergeShapeError(`part ${p} has no timestamp time column`);
    return c.values;
  });
  for (const [p, t] of parts.entries())
    for (const name of columns) if (!t.columns.includes(name)) throw new MergeShapeError(`part ${p} has no column ${name}`);
  const total = times.reduce((n, t) => n + t.length, 0);
  const order: [number, number][] = new Array(total);
  const at = parts.map(() => 0);
  // Few parts (a handful of RDBs and the HDB): a linear pick of the smallest head is cheaper than a heap.
  for (let k = 0; k < total; k++) {
    let best = -1;
    let bestTime = 0n;
    for (let p = 0; p < parts.length; p++) {
      if (at[p]! >= times[p]!.length) continue;
      const t = times[p]![at[p]!]!;
      if (best < 0 || t < bestTime) {
        best = p;
        bestTime = t;
      }
    }
    order[k] = [best, at[best]!];
    at[best]!++;
  }
  const data = columns.map((name) => {
    const cols = parts.map((t) => t.data[t.columns.indexOf(name)]!);
    const kinds = new Set(cols.map((c) => (c.kind === 'vector' ? c.type : c.kind)));
    // An empty part's string column may come as an empty list of another kind; the rest must agree.
    if (kinds.size > 1) {
      const nonEmpty = cols.filter((c) => (c as { values: Store }).values.length > 0);
      if (new Set(nonEmpty.map((c) => (c.kind === 'vector' ? c.type : c.kind))).size > 1) throw new MergeShapeError(`column ${name} has different types in different parts`);
    }
    const lead = cols.find((c) => (c as { values: Store }).values.length > 0) ?? cols[0]!;
    return pick(lead, order, cols);
  });
  return { kind: 'table', columns: [...columns], data };
}
