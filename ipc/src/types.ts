// The kdb+ value model. Every value keeps its kdb+ type explicit, so what is
// decoded re-encodes to the same bytes: a long stays a bigint (a JS number
// would lose precision past 2^53), a timestamp stays nanoseconds since
// 2000.01.01 as a bigint, and nulls and infinities stay the sentinel values
// q itself uses (see nulls.ts) rather than being folded into JS null.

/** The 18 basic kdb+ types, each with its atom type code (-n) and vector type code (n). */
export const TYPE_CODE = {
  boolean: 1,
  guid: 2,
  byte: 4,
  short: 5,
  int: 6,
  long: 7,
  real: 8,
  float: 9,
  char: 10,
  symbol: 11,
  timestamp: 12,
  month: 13,
  date: 14,
  datetime: 15,
  timespan: 16,
  minute: 17,
  second: 18,
  time: 19,
} as const;

export type BasicType = keyof typeof TYPE_CODE;

/** Code -> name, for the decoder. Index 3 (unused by kdb+) is absent. */
export const BASIC_TYPE_BY_CODE: ReadonlyMap<number, BasicType> = new Map(
  (Object.entries(TYPE_CODE) as [BasicType, number][]).map(([name, code]) => [code, name]),
);

/** Bytes per item on the wire; symbols are NUL-terminated and have no fixed width. */
export const TYPE_WIDTH: Readonly<Record<Exclude<BasicType, 'symbol'>, number>> = {
  boolean: 1,
  guid: 16,
  byte: 1,
  short: 2,
  int: 4,
  long: 8,
  real: 4,
  float: 8,
  char: 1,
  timestamp: 8,
  month: 4,
  date: 4,
  datetime: 8,
  timespan: 8,
  minute: 4,
  second: 4,
  time: 4,
};

/** Other type codes that appear on the wire. */
export const CODE = {
  list: 0,
  table: 98,
  dict: 99,
  lambda: 100,
  unary: 101, // unary primitive; index 0 is the identity (::), the generic null
  operator: 102,
  iterator: 103,
  projection: 104,
  composition: 105,
  // 106..111 are the derived functions f' f/ f\ f': f/: f\:
  sortedDict: 127,
  error: -128,
} as const;

/** The attribute byte on vectors, lists and tables: 0 none, 1 `s#, 2 `u#, 3 `p#, 4 `g#. */
export type Attr = 's' | 'u' | 'p' | 'g';
export const ATTR_CODE: Readonly<Record<Attr, number>> = { s: 1, u: 2, p: 3, g: 4 };
export const ATTR_BY_CODE: readonly (Attr | undefined)[] = [undefined, 's', 'u', 'p', 'g'];

/**
 * The JS value of each atom type:
 * - boolean: boolean; byte: 0..255; short/int: integer in range
 * - guid: lowercase 8-4-4-4-12 hex text (null guid is all zeros)
 * - long, timestamp (ns since 2000.01.01D00:00), timespan (ns): bigint
 * - real, float: number (NaN is null); datetime: days since 2000.01.01 as a float
 * - char: a one-byte string (code 0..255); symbol: UTF-8 text without NUL
 * - month (months since 2000.01), date (days since 2000.01.01), minute, second,
 *   time (ms since midnight): integer
 */
export interface AtomValues {
  boolean: boolean;
  guid: string;
  byte: number;
  short: number;
  int: number;
  long: bigint;
  real: number;
  float: number;
  char: string;
  symbol: string;
  timestamp: bigint;
  month: number;
  date: number;
  datetime: number;
  timespan: bigint;
  minute: number;
  second: number;
  time: number;
}

/**
 * The JS storage of each vector type. Fixed-width numeric types use typed
 * arrays (compact, and copied straight from the wire); a char vector is a
 * string (UTF-8 on the wire).
 */
export interface VectorValues {
  boolean: boolean[];
  guid: string[];
  byte: Uint8Array;
  short: Int16Array;
  int: Int32Array;
  long: BigInt64Array;
  real: Float32Array;
  float: Float64Array;
  char: string;
  symbol: string[];
  timestamp: BigInt64Array;
  month: Int32Array;
  date: Int32Array;
  datetime: Float64Array;
  timespan: BigInt64Array;
  minute: Int32Array;
  second: Int32Array;
  time: Int32Array;
}

export type QAtom = { [T in BasicType]: { kind: 'atom'; type: T; value: AtomValues[T] } }[BasicType];
export type QVector = { [T in BasicType]: { kind: 'vector'; type: T; values: VectorValues[T]; attr?: Attr } }[BasicType];

export type AtomOf<T extends BasicType> = Extract<QAtom, { type: T }>;
export type VectorOf<T extends BasicType> = Extract<QVector, { type: T }>;

/** A general list (type 0). */
export interface QList {
  kind: 'list';
  values: QValue[];
  attr?: Attr;
}

/** A dictionary (type 99, or 127 when sorted `s#). */
export interface QDict {
  kind: 'dict';
  keys: QValue;
  values: QValue;
  sorted?: boolean;
}

/** A table (type 98): column names and one vector or general list per column, all of one length. */
export interface QTable {
  kind: 'table';
  columns: string[];
  data: QValue[];
  attr?: Attr;
}

/** A keyed table: on the wire a dictionary from a table of keys to a table of values. */
export interface QKeyedTable {
  kind: 'keyedTable';
  keys: QTable;
  values: QTable;
  sorted?: boolean;
}

/** A kdb+ error (type -128), as a server answers a failed sync request. */
export interface QError {
  kind: 'error';
  message: string;
}

/** The generic null (::), type 101 with index 0. */
export interface QIdentity {
  kind: 'identity';
}

/** A lambda (type 100): its context (namespace, "" for root) and its source text. */
export interface QLambda {
  kind: 'lambda';
  context: string;
  body: string;
}

/** A primitive: unary (101, index > 0), operator (102) or iterator (103), by its index byte. */
export interface QPrimitive {
  kind: 'primitive';
  type: 101 | 102 | 103;
  index: number;
}

/**
 * A derived function: projection (104) or composition (105) of parts, or an
 * iterator applied to one value (106..111).
 */
export interface QDerived {
  kind: 'derived';
  type: 104 | 105 | 106 | 107 | 108 | 109 | 110 | 111;
  parts: QValue[];
}

export type QValue =
  | QAtom
  | QVector
  | QList
  | QDict
  | QTable
  | QKeyedTable
  | QError
  | QIdentity
  | QLambda
  | QPrimitive
  | QDerived;

/** Message type, byte 1 of the header. */
export type MessageType = 'async' | 'sync' | 'response';
export const MESSAGE_TYPE_CODE: Readonly<Record<MessageType, number>> = { async: 0, sync: 1, response: 2 };
export const MESSAGE_TYPE_BY_CODE: readonly MessageType[] = ['async', 'sync', 'response'];

/** A decoded message. */
export interface QMessage {
  messageType: MessageType;
  value: QValue;
  /** Byte 0 of the header: how the sender laid out its numbers. */
  littleEndian: boolean;
  /** Whether the message came compressed (header byte 2). */
  compressed: boolean;
}
