// Constructors for values, so callers need not spell out the model by hand
// and get the right storage (typed arrays, bigint) for each type.

import { IpcEncodeError } from './errors.ts';
import type {
  AtomOf,
  AtomValues,
  Attr,
  BasicType,
  QDict,
  QError,
  QIdentity,
  QKeyedTable,
  QList,
  QTable,
  QValue,
  VectorOf,
  VectorValues,
} from './types.ts';

type Storage = { from(items: ArrayLike<never>): unknown };

const STORAGE: Partial<Record<BasicType, Storage>> = {
  byte: Uint8Array as unknown as Storage,
  short: Int16Array as unknown as Storage,
  int: Int32Array as unknown as Storage,
  long: BigInt64Array as unknown as Storage,
  real: Float32Array as unknown as Storage,
  float: Float64Array as unknown as Storage,
  timestamp: BigInt64Array as unknown as Storage,
  month: Int32Array as unknown as Storage,
  date: Int32Array as unknown as Storage,
  datetime: Float64Array as unknown as Storage,
  timespan: BigInt64Array as unknown as Storage,
  minute: Int32Array as unknown as Storage,
  second: Int32Array as unknown as Storage,
  time: Int32Array as unknown as Storage,
};

/** Copies atom values into a typed array, refusing any the array would wrap or truncate rather than hold. */
function toStorage(type: BasicType, storage: Storage, values: readonly unknown[]): unknown {
  values.forEach((v, i) => {
    if (type === 'real' || type === 'float' || type === 'datetime') {
      if (typeof v !== 'number') throw new IpcEncodeError(`values[${i}]`, `a ${type} must be a number, got ${typeof v}`);
    } else if (typeof v !== (TYPE_WIDTH_BIGINT.has(type) ? 'bigint' : 'number')) {
      throw new IpcEncodeError(`values[${i}]`, `a ${type} must be a ${TYPE_WIDTH_BIGINT.has(type) ? 'bigint' : 'number'}, got ${typeof v}`);
    }
  });
  const out = storage.from(values as unknown as ArrayLike<never>) as ArrayLike<unknown>;
  if (type !== 'real' && type !== 'float' && type !== 'datetime') {
    for (let i = 0; i < values.length; i++) {
      if (out[i] !== values[i]) throw new IpcEncodeError(`values[${i}]`, `${String(values[i])} does not fit type ${type}`);
    }
  }
  return out;
}

const TYPE_WIDTH_BIGINT = new Set<BasicType>(['long', 'timestamp', 'timespan']);

export function atom<T extends BasicType>(type: T, value: AtomValues[T]): AtomOf<T> {
  return { kind: 'atom', type, value } as AtomOf<T>;
}

/**
 * A vector of `type`. `values` may be the storage itself (a typed array, a
 * string for char) or any array of the atom values, which is copied into it.
 */
export function vector<T extends BasicType>(
  type: T,
  values: VectorValues[T] | readonly AtomValues[T][],
  attr?: Attr,
): VectorOf<T> {
  let stored: unknown = values;
  const storage = STORAGE[type];
  if (type === 'char' && Array.isArray(values)) stored = values.join('');
  else if (storage !== undefined && Array.isArray(values)) stored = toStorage(type, storage, values);
  else if (Array.isArray(values)) stored = [...values];
  const v = { kind: 'vector', type, values: stored } as VectorOf<T>;
  if (attr !== undefined) v.attr = attr;
  return v;
}

export const long = (v: bigint | number): AtomOf<'long'> => atom('long', BigInt(v));
export const longs = (v: readonly (bigint | number)[], attr?: Attr): VectorOf<'long'> => vector('long', v.map((x) => BigInt(x)), attr);
export const int = (v: number): AtomOf<'int'> => atom('int', v);
export const ints = (v: readonly number[], attr?: Attr): VectorOf<'int'> => vector('int', v, attr);
export const float = (v: number): AtomOf<'float'> => atom('float', v);
export const floats = (v: readonly number[], attr?: Attr): VectorOf<'float'> => vector('float', v, attr);
export const boolean = (v: boolean): AtomOf<'boolean'> => atom('boolean', v);
export const symbol = (v: string): AtomOf<'symbol'> => atom('symbol', v);
export const symbols = (v: readonly string[], attr?: Attr): VectorOf<'symbol'> => vector('symbol', v, attr);
/** A char vector, what q calls a string. */
export const string = (v: string): VectorOf<'char'> => vector('char', v);
export const timestamp = (ns: bigint): AtomOf<'timestamp'> => atom('timestamp', ns);
export const timestamps = (ns: readonly bigint[], attr?: Attr): VectorOf<'timestamp'> => vector('timestamp', ns, attr);

export const list = (...values: QValue[]): QList => ({ kind: 'list', values });
export const dict = (keys: QValue, values: QValue): QDict => ({ kind: 'dict', keys, values });
export const identity = (): QIdentity => ({ kind: 'identity' });
export const error = (message: string): QError => ({ kind: 'error', message });

/** A table from an object of columns, in the object's key order. */
export function table(columns: Record<string, QValue>, attr?: Attr): QTable {
  const t: QTable = { kind: 'table', columns: Object.keys(columns), data: Object.values(columns) };
  if (attr !== undefined) t.attr = attr;
  return t;
}

export function keyedTable(keys: QTable, values: QTable): QKeyedTable {
  return { kind: 'keyedTable', keys, values };
}
