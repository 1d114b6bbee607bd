// Decoding a message into the typed value model. Every count and length
// read off the wire is checked against the bytes that remain before anything
// is allocated, and nesting is capped, so a hostile message costs at most
// its own size and a bounded stack and ends in an IpcDecodeError.

import { decompress } from './compress.ts';
import { countOf } from './count.ts';
import { IpcDecodeError } from './errors.ts';
import { guidToText } from './guid.ts';
import { DEFAULT_MAX_MESSAGE_SIZE, HEADER_SIZE, parseHeader } from './header.ts';
import {
  ATTR_BY_CODE,
  BASIC_TYPE_BY_CODE,
  CODE,
  TYPE_WIDTH,
  type Attr,
  type BasicType,
  type QDerived,
  type QMessage,
  type QTable,
  type QValue,
  type QVector,
} from './types.ts';

/** Nesting deeper than this (lists in lists, dictionaries, tables...) is refused unless told otherwise. */
export const DEFAULT_MAX_DEPTH = 64;

export interface DecodeOptions {
  /** Largest message, and largest size a compressed message may declare, in bytes. Default 256 MiB. */
  maxMessageSize?: number;
  /** Deepest nesting accepted; the top-level value is depth 1. Default 64. */
  maxDepth?: number;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Typed = Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;
type TypedCtor = { new (n: number): Typed; BYTES_PER_ELEMENT: number };

/** The typed array holding each fixed-width type's vector (byte vectors are read as Uint8Array views apart). */
export const TYPED: Partial<Record<BasicType, TypedCtor>> = {
  short: Int16Array,
  int: Int32Array,
  long: BigInt64Array,
  real: Float32Array,
  float: Float64Array,
  timestamp: BigInt64Array,
  month: Int32Array,
  date: Int32Array,
  datetime: Float64Array,
  timespan: BigInt64Array,
  minute: Int32Array,
  second: Int32Array,
  time: Int32Array,
};

class Reader {
  readonly bytes: Uint8Array;
  readonly buf: Buffer;
  readonly dv: DataView;
  readonly le: boolean;
  readonly end: number;
  readonly maxDepth: number;
  pos: number;

  constructor(bytes: Uint8Array, start: number, littleEndian: boolean, maxDepth: number) {
    this.bytes = bytes;
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.le = littleEndian;
    this.end = bytes.length;
    this.maxDepth = maxDepth;
    this.pos = start;
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new IpcDecodeError('truncated', `${what} needs ${n} bytes but the message has ${this.end - this.pos} left`, this.pos);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }

  i8(what: string): number {
    this.need(1, what);
    return this.dv.getInt8(this.pos++);
  }

  count(what: string): number {
    this.need(4, `the count of ${what}`);
    const n = this.dv.getInt32(this.pos, this.le);
    if (n < 0) throw new IpcDecodeError('bad-length', `${what} has a negative count ${n}`, this.pos);
    this.pos += 4;
    return n;
  }

  attr(what: string): Attr | undefined {
    const at = this.pos;
    const a = this.u8(`the attribute of ${what}`);
    if (a >= ATTR_BY_CODE.length) throw new IpcDecodeError('bad-attribute', `${what} has attribute byte ${a}, not 0..4`, at);
    return ATTR_BY_CODE[a];
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(what: string): string {
    const nul = this.bytes.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new IpcDecodeError('truncated', `${what} has no terminating NUL`, this.pos);
    const s = this.buf.toString('utf8', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }
}

function withAttr<T extends object>(v: T, attr: Attr | undefined): T {
  if (attr !== undefined) (v as { attr?: Attr }).attr = attr;
  return v;
}

function readAtom(r: Reader, type: BasicType): QValue {
  const what = `a ${type} atom`;
  if (type === 'symbol') return { kind: 'atom', type, value: r.cstring(what) };
  const w = TYPE_WIDTH[type];
  r.need(w, what);
  const at = r.pos;
  r.pos += w;
  const dv = r.dv;
  const le = r.le;
  switch (type) {
    case 'boolean':
      return { kind: 'atom', type, value: r.bytes[at] !== 0 };
    case 'guid':
      return { kind: 'atom', type, value: guidToText(r.bytes, at) };
    case 'byte':
      return { kind: 'atom', type, value: r.bytes[at]! };
    case 'char':
      return { kind: 'atom', type, value: String.fromCharCode(r.bytes[at]!) };
    case 'short':
      return { kind: 'atom', type, value: dv.getInt16(at, le) };
    case 'real':
      return { kind: 'atom', type, value: dv.getFloat32(at, le) };
    case 'float':
    case 'datetime':
      return { kind: 'atom', type, value: dv.getFloat64(at, le) };
    case 'long':
    case 'timestamp':
    case 'timespan':
      return { kind: 'atom', type, value: dv.getBigInt64(at, le) };
    case 'int':
    case 'month':
    case 'date':
    case 'minute':
    case 'second':
    case 'time':
      return { kind: 'atom', type, value: dv.getInt32(at, le) };
  }
}

function readTyped(r: Reader, ctor: TypedCtor, n: number): Typed {
  const width = ctor.BYTES_PER_ELEMENT;
  const out = new ctor(n);
  const start = r.pos;
  r.pos += n * width;
  if (r.le === HOST_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(r.bytes.subarray(start, start + n * width));
    return out;
  }
  const dv = r.dv;
  const le = r.le;
  for (let i = 0, at = start; i < n; i++, at += width) {
    if (out instanceof Int16Array) out[i] = dv.getInt16(at, le);
    else if (out instanceof Int32Array) out[i] = dv.getInt32(at, le);
    else if (out instanceof BigInt64Array) out[i] = dv.getBigInt64(at, le);
    else if (out instanceof Float32Array) out[i] = dv.getFloat32(at, le);
    else out[i] = dv.getFloat64(at, le);
  }
  return out;
}

function readVector(r: Reader, type: BasicType): QVector {
  const what = `a ${type} vector`;
  const attr = r.attr(what);
  const n = r.count(what);
  if (type === 'symbol') {
    if (n > r.end - r.pos) throw new IpcDecodeError('truncated', `${what} of ${n} items cannot fit in the ${r.end - r.pos} bytes left`, r.pos);
    const values = new Array<string>(n);
    for (let i = 0; i < n; i++) values[i] = r.cstring(`item ${i} of ${what}`);
    return withAttr({ kind: 'vector', type, values }, attr);
  }
  const width = TYPE_WIDTH[type];
  r.need(n * width, `the ${n} items of ${what}`);
  const start = r.pos;
  switch (type) {
    case 'char':
      r.pos += n;
      return withAttr({ kind: 'vector', type, values: r.buf.toString('utf8', start, start + n) }, attr);
    case 'boolean': {
      r.pos += n;
      const values = new Array<boolean>(n);
      for (let i = 0; i < n; i++) values[i] = r.bytes[start + i] !== 0;
      return withAttr({ kind: 'vector', type, values }, attr);
    }
    case 'byte':
      r.pos += n;
      return withAttr({ kind: 'vector', type, values: r.bytes.slice(start, start + n) }, attr);
    case 'guid': {
      r.pos += n * 16;
      const values = new Array<string>(n);
      for (let i = 0; i < n; i++) values[i] = guidToText(r.bytes, start + i * 16);
      return withAttr({ kind: 'vector', type, values }, attr);
    }
    default:
      return withAttr({ kind: 'vector', type, values: readTyped(r, TYPED[type]!, n) } as QVector, attr);
  }
}

function readTable(r: Reader, depth: number, at: number): QTable {
  const attr = r.attr('a table');
  const inner = readValue(r, depth + 1);
  if (inner.kind !== 'dict' || inner.sorted) {
    throw new IpcDecodeError('bad-shape', 'a table (type 98) must hold a dictionary (type 99)', at);
  }
  const { keys, values } = inner;
  if (keys.kind !== 'vector' || keys.type !== 'symbol') {
    throw new IpcDecodeError('bad-shape', 'the column names of a table must be a symbol vector', at);
  }
  if (values.kind !== 'list') throw new IpcDecodeError('bad-shape', 'the columns of a table must be a general list', at);
  if (values.values.length !== keys.values.length) {
    throw new IpcDecodeError('bad-shape', `a table has ${keys.values.length} column names but ${values.values.length} columns`, at);
  }
  let rows: number | undefined;
  values.values.forEach((col, i) => {
    const n = col.kind === 'vector' || col.kind === 'list' ? countOf(col) : undefined;
    if (n === undefined) throw new IpcDecodeError('bad-shape', `column ${keys.values[i]} of a table is not a vector or list`, at);
    if (rows !== undefined && n !== rows) {
      throw new IpcDecodeError('bad-shape', `column ${keys.values[i]} has ${n} rows where the columns before it have ${rows}`, at);
    }
    rows = n;
  });
  return withAttr({ kind: 'table', columns: keys.values as string[], data: values.values }, attr);
}

function readValue(r: Reader, depth: number): QValue {
  const at = r.pos;
  const t = r.i8('a type byte');
  if (t < 0) {
    if (t === CODE.error) return { kind: 'error', message: r.cstring('an error') };
    const type = BASIC_TYPE_BY_CODE.get(-t);
    if (type === undefined) throw new IpcDecodeError('unknown-type', `unknown atom type ${t}`, at);
    return readAtom(r, type);
  }
  if (depth > r.maxDepth) throw new IpcDecodeError('too-deep', `values nest deeper than the maximum of ${r.maxDepth}`, at);
  if (t > 0 && t <= 19) {
    const type = BASIC_TYPE_BY_CODE.get(t);
    if (type === undefined) throw new IpcDecodeError('unknown-type', `unknown vector type ${t}`, at);
    return readVector(r, type);
  }
  switch (t) {
    case CODE.list: {
      const attr = r.attr('a general list');
      const n = r.count('a general list');
      if (n > r.end - r.pos) throw new IpcDecodeError('truncated', `a general list of ${n} items cannot fit in the ${r.end - r.pos} bytes left`, r.pos);
      const values = new Array<QValue>(n);
      for (let i = 0; i < n; i++) values[i] = readValue(r, depth + 1);
      return withAttr({ kind: 'list', values }, attr);
    }
    case CODE.dict:
    case CODE.sortedDict: {
      const keys = readValue(r, depth + 1);
      const values = readValue(r, depth + 1);
      const sorted = t === CODE.sortedDict;
      if (keys.kind === 'table' && values.kind === 'table') {
        if (countOf(keys) !== countOf(values)) {
          throw new IpcDecodeError('bad-shape', `a keyed table has ${countOf(keys)} key rows but ${countOf(values)} value rows`, at);
        }
        return sorted ? { kind: 'keyedTable', keys, values, sorted } : { kind: 'keyedTable', keys, values };
      }
      const nk = countOf(keys);
      const nv = countOf(values);
      if (nk !== undefined && nv !== undefined && nk !== nv) {
        throw new IpcDecodeError('bad-shape', `a dictionary has ${nk} keys but ${nv} values`, at);
      }
      return sorted ? { kind: 'dict', keys, values, sorted } : { kind: 'dict', keys, values };
    }
    case CODE.table:
      return readTable(r, depth, at);
    case CODE.lambda: {
      const context = r.cstring('the context of a lambda');
      const body = readValue(r, depth + 1);
      if (body.kind !== 'vector' || body.type !== 'char') throw new IpcDecodeError('bad-shape', 'the body of a lambda must be a char vector', at);
      return { kind: 'lambda', context, body: body.values };
    }
    case CODE.unary:
    case CODE.operator:
    case CODE.iterator: {
      const index = r.u8('a primitive');
      if (t === CODE.unary && index === 0) return { kind: 'identity' };
      return { kind: 'primitive', type: t, index };
    }
    case CODE.projection:
    case CODE.composition: {
      const n = r.count('a projection or composition');
      if (n > r.end - r.pos) throw new IpcDecodeError('truncated', `a function of ${n} parts cannot fit in the ${r.end - r.pos} bytes left`, r.pos);
      const parts = new Array<QValue>(n);
      for (let i = 0; i < n; i++) parts[i] = readValue(r, depth + 1);
      return { kind: 'derived', type: t, parts };
    }
    case 106:
    case 107:
    case 108:
    case 109:
    case 110:
    case 111:
      return { kind: 'derived', type: t as QDerived['type'], parts: [readValue(r, depth + 1)] };
    default:
      throw new IpcDecodeError('unknown-type', `type ${t} does not travel over kdb+ IPC (or is not supported here)`, at);
  }
}

/**
 * Decodes a value without a message header, as q's -9! would after the
 * header: `bytes` holds exactly one value.
 */
export function decodeValue(bytes: Uint8Array, options: DecodeOptions & { littleEndian?: boolean } = {}): QValue {
  const r = new Reader(bytes, 0, options.littleEndian ?? true, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const v = readValue(r, 1);
  if (r.pos !== r.end) throw new IpcDecodeError('trailing-bytes', `${r.end - r.pos} bytes follow the value`, r.pos);
  return v;
}

/**
 * Decodes one whole message (exactly the bytes its header declares, as the
 * frame splitter hands them over), decompressing it if it is compressed.
 */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions = {}): QMessage {
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const header = parseHeader(bytes, maxSize);
  if (bytes.length < header.length) {
    throw new IpcDecodeError('truncated', `header declares ${header.length} bytes but ${bytes.length} arrived`, 4);
  }
  if (bytes.length > header.length) {
    throw new IpcDecodeError('trailing-bytes', `header declares ${header.length} bytes but ${bytes.length} were given`, header.length);
  }
  const plain = header.compressed ? decompress(bytes, maxSize) : bytes;
  const r = new Reader(plain, HEADER_SIZE, header.littleEndian, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = readValue(r, 1);
  if (r.pos !== r.end) throw new IpcDecodeError('trailing-bytes', `${r.end - r.pos} bytes follow the value`, r.pos);
  return { messageType: header.messageType, value, littleEndian: header.littleEndian, compressed: header.compressed };
}
