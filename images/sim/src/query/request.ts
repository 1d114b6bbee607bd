// The query API every reference process (RDB, HDB, gateway) serves over
// kdb+ IPC. Only named functions are called; nothing a client sends is
// evaluated:
//
//   getData[dict]   (also .kdb.getData) rows of one table
//   purview[]       (also .kdb.purview) what this process holds
//
// getData's dictionary (symbol keys; the kdb Insights getData names are
// accepted too):
//   table               symbol (or string), required
//   startTime / startTS timestamp (or date: its midnight UTC), inclusive; default: no lower bound
//   endTime / endTS     timestamp (or date), exclusive; default: no upper bound
//   syms                symbol or symbol vector; default: all
//   columns             symbol or symbol vector, in the order wanted; default: all
// Rows come back as a table in time order (rows of one time keep the order
// they were stored in).

import { INF, NULL, type QValue } from '../../../../ipc/src/index.ts';
import { describe } from './columns.ts';

/** A request the caller got wrong: answered as a kdb+ error with this message. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

export interface GetDataRequest {
  table: string;
  /** kdb+ timestamps (ns since 2000.01.01): rows with start <= time < end. */
  start: bigint | undefined;
  end: bigint | undefined;
  syms: string[] | undefined;
  columns: string[] | undefined;
}

export const API_FUNCTIONS = ['getData', 'purview'] as const;
export type ApiFunction = (typeof API_FUNCTIONS)[number];

const ALIASES: Readonly<Record<string, ApiFunction>> = {
  getData: 'getData',
  '.kdb.getData': 'getData',
  purview: 'purview',
  '.kdb.purview': 'purview',
};

const HOW = 'call a named function: h(`getData;`table`startTime`endTime!(`trade;2026.03.02D10:00;2026.03.02D10:05)) or h(`.kdb.purview;::)';

/**
 * Which API function a sync message calls, and its argument. A message is
 * a general list (function name as a symbol or string; then one argument),
 * as q's h(`f;x) and every client library's k("f", x) send it.
 */
export function parseCall(value: QValue): { fn: ApiFunction; arg: QValue } {
  if (value.kind === 'vector' && value.type === 'char') throw new QueryError(`free-form q is not evaluated here: ${HOW}`);
  if (value.kind === 'atom' && value.type === 'symbol') return { fn: resolve(value.value), arg: { kind: 'identity' } };
  let head: QValue | undefined;
  let args: QValue[];
  if (value.kind === 'list') {
    head = value.values[0];
    args = value.values.slice(1);
  } else if (value.kind === 'vector' && value.type === 'symbol' && value.values.length > 0) {
    // h(`getData;`trade) arrives as a symbol vector.
    head = { kind: 'atom', type: 'symbol', value: value.values[0]! };
    args = value.values.slice(1).map((s) => ({ kind: 'atom', type: 'symbol', value: s }) as QValue);
  } else throw new QueryError(`not a function call (got ${describe(value)}): ${HOW}`);
  let name: string;
  if (head?.kind === 'atom' && head.type === 'symbol') name = head.value;
  else if (head?.kind === 'vector' && head.type === 'char') name = head.values;
  else throw new QueryError(`only named functions are called here, got ${head === undefined ? 'an empty list' : describe(head)} as the function: ${HOW}`);
  const fn = resolve(name);
  if (args.length > 1) throw new QueryError(`${name} takes one argument, got ${args.length}`);
  return { fn, arg: args[0] ?? { kind: 'identity' } };
}

function resolve(name: string): ApiFunction {
  const fn = ALIASES[name];
  if (fn === undefined) throw new QueryError(`unknown function ${JSON.stringify(name)}: this server answers getData and purview (also as .kdb.getData, .kdb.purview)`);
  return fn;
}

const KEYS = new Set(['table', 'startTime', 'startTS', 'endTime', 'endTS', 'syms', 'columns']);
const DAY_NS = 86_400_000_000_000n;

function symbolsOf(v: QValue, key: string): string[] {
  if (v.kind === 'atom' && v.type === 'symbol') return [v.value];
  if (v.kind === 'vector' && v.type === 'symbol') return [...v.values];
  if (v.kind === 'list' && v.values.length === 0) return [];
  if (v.kind === 'list' && v.values.every((x) => x.kind === 'atom' && x.type === 'symbol'))
    return v.values.map((x) => (x as { value: string }).value);
  throw new QueryError(`getData: ${key} must be a symbol or a symbol vector, got ${describe(v)}`);
}

function timeOf(v: QValue, key: string): bigint | undefined {
  if (v.kind === 'atom' && v.type === 'timestamp') {
    // 0Np, 0Wp and -0Wp: no bound on that side.
    if (v.value === NULL.timestamp || v.value === INF.timestamp || v.value === -INF.timestamp) return undefined;
    return v.value;
  }
  if (v.kind === 'atom' && v.type === 'date') {
    if (v.value === NULL.date || v.value === INF.date || v.value === -INF.date) return undefined;
    return BigInt(v.value) * DAY_NS;
  }
  if (v.kind === 'identity') return undefined;
  throw new QueryError(`getData: ${key} must be a timestamp (e.g. 2026.03.02D10:00:00) or a date, got ${describe(v)}`);
}

/** getData's argument, checked; every refusal names the key and what it takes. */
export function parseGetData(arg: QValue): GetDataRequest {
  if (arg.kind !== 'dict') throw new QueryError(`getData takes a dictionary (\`table\`startTime\`endTime\`syms\`columns!...), got ${describe(arg)}`);
  const keys = arg.keys;
  if (!(keys.kind === 'vector' && keys.type === 'symbol')) throw new QueryError('getData: the dictionary keys must be symbols (`table`startTime...)');
  const vals: QValue[] =
    arg.values.kind === 'list'
      ? arg.values.values
      : arg.values.kind === 'vector' && arg.values.type === 'symbol'
        ? arg.values.values.map((s) => ({ kind: 'atom', type: 'symbol', value: s }) as QValue)
        : arg.values.kind === 'vector' && arg.values.type === 'timestamp'
          ? Array.from(arg.values.values, (t) => ({ kind: 'atom', type: 'timestamp', value: t }) as QValue)
          : [];
  if (vals.length !== keys.values.length) throw new QueryError(`getData: the dictionary's values must be a general list, one per key, got ${describe(arg.values)}`);
  const got = new Map<string, QValue>();
  keys.values.forEach((k, i) => {
    if (!KEYS.has(k)) throw new QueryError(`getData: unknown key \`${k}; the keys are table, startTime (or startTS), endTime (or endTS), syms, columns`);
    got.set(k, vals[i]!);
  });
  const t = got.get('table');
  let table: string;
  if (t?.kind === 'atom' && t.type === 'symbol' && t.value !== '') table = t.value;
  else if (t?.kind === 'vector' && t.type === 'char' && t.values !== '') table = t.values;
  else throw new QueryError(t === undefined ? 'getData: `table is required' : `getData: table must be a symbol, got ${describe(t)}`);
  const pick = (a: string, b: string) => {
    if (got.has(a) && got.has(b)) throw new QueryError(`getData: give ${a} or ${b}, not both`);
    return got.has(a) ? ([a, got.get(a)!] as const) : got.has(b) ? ([b, got.get(b)!] as const) : undefined;
  };
  const s = pick('startTime', 'startTS');
  const e = pick('endTime', 'endTS');
  const start = s ? timeOf(s[1], s[0]) : undefined;
  const end = e ? timeOf(e[1], e[0]) : undefined;
  if (start !== undefined && end !== undefined && end < start) throw new QueryError(`getData: ${e![0]} is before ${s![0]}`);
  const syms = got.has('syms') ? symbolsOf(got.get('syms')!, 'syms') : undefined;
  const columns = got.has('columns') ? symbolsOf(got.get('columns')!, 'columns') : undefined;
  if (columns && new Set(columns).size !== columns.length) throw new QueryError('getData: columns lists a column twice');
  return { table, start, end, syms, columns };
}
