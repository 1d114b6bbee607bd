// The reference data plane keeps columns as JS values (a timestamp is
// milliseconds since the Unix epoch, see schema.ts); kdb+ IPC carries them
// as typed vectors (a timestamp is nanoseconds since 2000.01.01). These
// convert one to the other, by the schema's column type.

import { INF, NULL, q, timestampFromUnixNanos, timestampToUnixNanos, type QValue } from '../../../../ipc/src/index.ts';
import type { Column, ColumnType } from '../schema.ts';

/** A kdb+ timestamp from epoch milliseconds (a fraction of a millisecond kept to the nanosecond). */
export const msToTimestamp = (ms: number): bigint => {
  const whole = Math.floor(ms);
  return timestampFromUnixNanos(BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6)));
};

/**
 * Epoch milliseconds from a kdb+ timestamp. The reference holds times as
 * whole milliseconds: a timestamp is rounded to the nearest one (half up),
 * so a q feed's .z.p 10:00:00.123456789 is kept as 10:00:00.123, and a
 * client that computes timestamps in floating point (node-q's timestamp
 * vectors land up to a few hundred ns off the millisecond) keeps the
 * millisecond it meant.
 */
export const timestampToMs = (ts: bigint): number => {
  const ns = timestampToUnixNanos(ts) + 500_000n;
  return Number(ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n));
};

const EPOCH_MS = 946_684_800_000;

/**
 * timestampToMs without BigInt arithmetic, for whole columns: Number(ts) is
 * within 64 ns of ts, so the rounding only needs the exact path when the
 * fraction of a millisecond is within a microsecond of one half.
 */
export const fastTimestampToMs = (ts: bigint): number => {
  const ms = Number(ts) / 1e6;
  const frac = ms - Math.floor(ms);
  if (Math.abs(frac - 0.5) < 1e-3) return timestampToMs(ts);
  return Math.round(ms) + EPOCH_MS;
};

/** A time bound in epoch ms (may have a fraction) from a kdb+ timestamp, exact enough to compare with whole-ms row times. */
export const timestampToMsBound = (ts: bigint): number => {
  const ns = timestampToUnixNanos(ts);
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  return Number(ms) + Number(ns - ms * 1_000_000n) / 1e6;
};

/** A stored column as the kdb+ vector of its type. */
export function toQColumn(type: ColumnType, col: Column): QValue {
  switch (type) {
    case 'timestamp': {
      const out = new BigInt64Array(col.length);
      for (let r = 0; r < col.length; r++) out[r] = msToTimestamp(col[r] as number);
      return q.vector('timestamp', out);
    }
    case 'symbol':
      return q.symbols(col as string[]);
    case 'float':
      return q.vector('float', Float64Array.from(col as number[]));
    case 'long': {
      const out = new BigInt64Array(col.length);
      for (let r = 0; r < col.length; r++) out[r] = BigInt(col[r] as number);
      return q.vector('long', out);
    }
    case 'int':
      return q.vector('int', Int32Array.from(col as number[]));
    case 'boolean':
      return q.vector('boolean', col as boolean[]);
    case 'string':
      return q.list(...(col as string[]).map((s) => q.string(s)));
  }
}

/** The q type names a column of each stored type is accepted as, for error messages. */
export const ACCEPTED: Readonly<Record<ColumnType, string>> = {
  timestamp: 'timestamp',
  symbol: 'symbol',
  float: 'float or real',
  long: 'long, int or short',
  int: 'int or short',
  boolean: 'boolean',
  string: 'a list of strings (char vectors), or a symbol',
};

const isFiniteLong = (v: bigint) => v !== NULL.long && v !== INF.long && v !== -INF.long;

/**
 * A stored column from a kdb+ vector (or general list, for strings), or the
 * reason it cannot be one. Nulls are refused: the reference data plane has
 * no null (schema.ts checks every value), so a q feed's 0N is refused by
 * name rather than logged as a number.
 */
export function fromQColumn(type: ColumnType, v: QValue): Column | string {
  const wrong = () => `expected ${ACCEPTED[type]}, got ${describe(v)}`;
  if (type === 'string') {
    if (v.kind === 'vector' && v.type === 'symbol') return [...v.values];
    if (v.kind === 'vector' && v.type === 'char') return wrong();
    if (v.kind !== 'list') return wrong();
    const out: string[] = [];
    for (const x of v.values) {
      if (x.kind === 'vector' && x.type === 'char') out.push(x.values);
      else if (x.kind === 'atom' && x.type === 'char') out.push(x.value);
      else return `expected a list of strings, item ${out.length} is ${describe(x)}`;
    }
    return out;
  }
  if (v.kind === 'list' && v.values.length === 0) return [];
  if (v.kind !== 'vector') return wrong();
  switch (type) {
    case 'timestamp': {
      if (v.type !== 'timestamp') return wrong();
      const out = new Array<number>(v.values.length);
      for (let r = 0; r < v.values.length; r++) {
        const t = v.values[r]!;
        if (!isFiniteLong(t)) return `row ${r}: a null or infinite timestamp`;
        out[r] = fastTimestampToMs(t);
      }
      return out;
    }
    case 'symbol':
      return v.type === 'symbol' ? [...v.values] : wrong();
    case 'float':
      return v.type === 'float' || v.type === 'real' ? Array.from(v.values) : wrong();
    case 'long':
      if (v.type === 'long') {
        const out = new Array<number>(v.values.length);
        for (let r = 0; r < v.values.length; r++) {
          const x = v.values[r]!;
          if (!isFiniteLong(x)) return `row ${r}: a null or infinite long`;
          if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) return `row ${r}: ${x} is beyond what the reference data plane holds exactly (2^53)`;
          out[r] = Number(x);
        }
        return out;
      }
      return v.type === 'int' || v.type === 'short' ? Array.from(v.values) : wrong();
    case 'int':
      return v.type === 'int' || v.type === 'short' ? Array.from(v.values) : wrong();
    case 'boolean':
      return v.type === 'boolean' ? [...v.values] : wrong();
  }
}

/** "a symbol vector", "a long atom", "a general list": what a client sent, in q's words. */
export function describe(v: QValue): string {
  switch (v.kind) {
    case 'atom':
      return `a ${v.type} atom`;
    case 'vector':
      return v.type === 'char' ? 'a string' : `a ${v.type} vector`;
    case 'list':
      return 'a general list';
    case 'dict':
      return 'a dictionary';
    case 'table':
      return 'a table';
    case 'keyedTable':
      return 'a keyed table';
    case 'identity':
      return '(::)';
    case 'error':
      return 'an error';
    default:
      return `a ${v.kind}`;
  }
}
