// Encoding the typed value model to kdb+ IPC bytes, little-endian, the way
// q lays them out, so that q (and any client) decodes them, and so that a
// decoded message re-encodes to its own bytes. Values that q could not hold
// (an int out of range, a symbol with a NUL, a table with ragged columns)
// are refused with an IpcEncodeError naming the field.

import { compress as compressMessage, COMPRESSION_THRESHOLD } from './compress.ts';
import { countOf } from './count.ts';
import { DEFAULT_MAX_DEPTH, TYPED } from './decode.ts';
import { IpcEncodeError } from './errors.ts';
import { guidToBytes } from './guid.ts';
import {
  ATTR_CODE,
  CODE,
  MESSAGE_TYPE_CODE,
  TYPE_CODE,
  type Attr,
  type BasicType,
  type MessageType,
  type QAtom,
  type QTable,
  type QValue,
  type QVector,
} from './types.ts';
import { Writer } from './writer.ts';

export interface EncodeOptions {
  /** Header byte 1. Default 'async'. */
  messageType?: MessageType;
  /**
   * Compress as q does for a remote peer: only a message above 2000 bytes,
   * and only when that at least halves it. Default false (q never
   * compresses to a peer on the same host).
   */
  compress?: boolean;
  /** Deepest nesting accepted (the top-level value is depth 1). Default 64. */
  maxDepth?: number;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const INT_RANGE: Partial<Record<BasicType, [number, number]>> = {
  byte: [0, 255],
  short: [-32768, 32767],
  int: [-2147483648, 2147483647],
  month: [-2147483648, 2147483647],
  date: [-2147483648, 2147483647],
  minute: [-2147483648, 2147483647],
  second: [-2147483648, 2147483647],
  time: [-2147483648, 2147483647],
};

const TYPED_CLASS: Partial<Record<BasicType, Function>> = { byte: Uint8Array, ...TYPED };

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v;
}

/** Writes one item of a basic type (no type byte), checking it fits the type. */
function writeItem(w: Writer, type: BasicType, v: unknown, path: string): void {
  switch (type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw new IpcEncodeError(path, `a boolean must be true or false, got ${typeName(v)}`);
      w.u8(v ? 1 : 0);
      return;
    case 'guid': {
      const b = typeof v === 'string' ? guidToBytes(v) : undefined;
      if (b === undefined) throw new IpcEncodeError(path, `a guid must be 32 hex digits (8-4-4-4-12), got ${JSON.stringify(v)}`);
      w.bytes(b);
      return;
    }
    case 'char': {
      if (typeof v !== 'string' || v.length !== 1 || v.charCodeAt(0) > 255) {
        throw new IpcEncodeError(path, `a char must be a one-character string with a code of 0..255, got ${JSON.stringify(v)}`);
      }
      w.u8(v.charCodeAt(0));
      return;
    }
    case 'symbol':
      writeCString(w, v, path, 'a symbol');
      return;
    case 'long':
    case 'timestamp':
    case 'timespan':
      if (typeof v !== 'bigint' || v < LONG_MIN || v > LONG_MAX) {
        throw new IpcEncodeError(path, `a ${type} must be a bigint in the 64-bit range, got ${typeName(v)} ${String(v)}`);
      }
      w.i64(v);
      return;
    case 'real':
    case 'float':
    case 'datetime':
      if (typeof v !== 'number') throw new IpcEncodeError(path, `a ${type} must be a number, got ${typeName(v)}`);
      if (type === 'real') w.f32(v);
      else w.f64(v);
      return;
    default: {
      const [lo, hi] = INT_RANGE[type]!;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        throw new IpcEncodeError(path, `a ${type} must be an integer in ${lo}..${hi}, got ${typeName(v)} ${String(v)}`);
      }
      if (type === 'byte') w.u8(v);
      else if (type === 'short') w.i16(v);
      else w.i32(v);
    }
  }
}

function writeCString(w: Writer, v: unknown, path: string, what: string): void {
  if (typeof v !== 'string') throw new IpcEncodeError(path, `${what} must be a string, got ${typeName(v)}`);
  if (v.includes('\0')) throw new IpcEncodeError(path, `${what} cannot contain a NUL character`);
  w.utf8(v);
  w.u8(0);
}

function writeAttr(w: Writer, attr: Attr | undefined, path: string): void {
  if (attr === undefined) return w.u8(0);
  const code = ATTR_CODE[attr];
  if (code === undefined) throw new IpcEncodeError(`${path}.attr`, `an attribute must be 's', 'u', 'p' or 'g', got ${JSON.stringify(attr)}`);
  w.u8(code);
}

function writeAtom(w: Writer, v: QAtom, path: string): void {
  const code = TYPE_CODE[v.type];
  if (code === undefined) throw new IpcEncodeError(`${path}.type`, `unknown atom type ${JSON.stringify(v.type)}`);
  w.u8(-code);
  writeItem(w, v.type, v.value, `${path}.value`);
}

function writeVector(w: Writer, v: QVector, path: string): void {
  const code = TYPE_CODE[v.type];
  if (code === undefined) throw new IpcEncodeError(`${path}.type`, `unknown vector type ${JSON.stringify(v.type)}`);
  w.u8(code);
  writeAttr(w, v.attr, path);
  const values: unknown = v.values;
  if (v.type === 'char') {
    if (typeof values !== 'string') throw new IpcEncodeError(`${path}.values`, `a char vector's values must be a string, got ${typeName(values)}`);
    const at = w.pos;
    w.i32(0);
    w.setU32(at, w.utf8(values));
    return;
  }
  const cls = TYPED_CLASS[v.type];
  if (cls !== undefined && values instanceof cls && HOST_LITTLE_ENDIAN) {
    const ta = values as unknown as ArrayBufferView & { length: number };
    w.i32(ta.length);
    w.bytes(new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength));
    return;
  }
  if (!Array.isArray(values) && !(cls !== undefined && values instanceof cls)) {
    const want = cls !== undefined ? cls.name : 'an array';
    throw new IpcEncodeError(`${path}.values`, `a ${v.type} vector's values must be ${want}, got ${typeName(values)}`);
  }
  const items = values as ArrayLike<unknown>;
  w.i32(items.length);
  for (let i = 0; i < items.length; i++) writeItem(w, v.type, items[i], `${path}.values[${i}]`);
}

function checkTable(t: QTable, path: string): void {
  if (!Array.isArray(t.columns) || !Array.isArray(t.data)) {
    throw new IpcEncodeError(path, 'a table needs columns (string[]) and data (one vector or list per column)');
  }
  if (t.columns.length !== t.data.length) {
    throw new IpcEncodeError(path, `a table has ${t.columns.length} column names but ${t.data.length} columns`);
  }
  let rows: number | undefined;
  t.data.forEach((col, i) => {
    if (col.kind !== 'vector' && col.kind !== 'list') {
      throw new IpcEncodeError(`${path}.data[${i}]`, `column ${t.columns[i]} must be a vector or general list, got ${col.kind}`);
    }
    const n = countOf(col);
    if (rows !== undefined && n !== rows) {
      throw new IpcEncodeError(`${path}.data[${i}]`, `column ${t.columns[i]} has ${n} rows where the columns before it have ${rows}`);
    }
    rows = n;
  });
}

function writeTable(w: Writer, t: QTable, path: string, depth: number, maxDepth: number): void {
  checkTable(t, path);
  w.u8(CODE.table);
  writeAttr(w, t.attr, path);
  w.u8(CODE.dict);
  writeVector(w, { kind: 'vector', type: 'symbol', values: t.columns }, `${path}.columns`);
  w.u8(CODE.list);
  w.u8(0);
  w.i32(t.data.length);
  t.data.forEach((col, i) => writeValue(w, col, `${path}.data[${i}]`, depth + 2, maxDepth));
}

function writeValue(w: Writer, v: QValue, path: string, depth: number, maxDepth: number): void {
  if (v === null || typeof v !== 'object') throw new IpcEncodeError(path, `expected a kdb+ value object, got ${typeName(v)}`);
  if (v.kind === 'atom') return writeAtom(w, v, path);
  if (depth > maxDepth) throw new IpcEncodeError(path, `values nest deeper than the maximum of ${maxDepth} (a cycle?)`);
  switch (v.kind) {
    case 'vector':
      return writeVector(w, v, path);
    case 'list':
      if (!Array.isArray(v.values)) throw new IpcEncodeError(`${path}.values`, `a general list's values must be an array, got ${typeName(v.values)}`);
      w.u8(CODE.list);
      writeAttr(w, v.attr, path);
      w.i32(v.values.length);
      v.values.forEach((x, i) => writeValue(w, x, `${path}.values[${i}]`, depth + 1, maxDepth));
      return;
    case 'dict': {
      const nk = countOf(v.keys);
      const nv = countOf(v.values);
      if (nk !== undefined && nv !== undefined && nk !== nv) throw new IpcEncodeError(path, `a dictionary has ${nk} keys but ${nv} values`);
      w.u8(v.sorted ? CODE.sortedDict : CODE.dict);
      writeValue(w, v.keys, `${path}.keys`, depth + 1, maxDepth);
      writeValue(w, v.values, `${path}.values`, depth + 1, maxDepth);
      return;
    }
    case 'table':
      return writeTable(w, v, path, depth, maxDepth);
    case 'keyedTable': {
      if (v.keys?.kind !== 'table' || v.values?.kind !== 'table') throw new IpcEncodeError(path, 'a keyed table needs a table of keys and a table of values');
      checkTable(v.keys, `${path}.keys`);
      checkTable(v.values, `${path}.values`);
      const nk = countOf(v.keys);
      const nv = countOf(v.values);
      if (nk !== nv) throw new IpcEncodeError(path, `a keyed table has ${nk} key rows but ${nv} value rows`);
      w.u8(v.sorted ? CODE.sortedDict : CODE.dict);
      writeTable(w, v.keys, `${path}.keys`, depth + 1, maxDepth);
      writeTable(w, v.values, `${path}.values`, depth + 1, maxDepth);
      return;
    }
    case 'error':
      w.u8(CODE.error);
      writeCString(w, v.message, `${path}.message`, 'an error message');
      return;
    case 'identity':
      w.u8(CODE.unary);
      w.u8(0);
      return;
    case 'lambda':
      w.u8(CODE.lambda);
      writeCString(w, v.context, `${path}.context`, 'a lambda context');
      writeVector(w, { kind: 'vector', type: 'char', values: v.body }, `${path}.body`);
      return;
    case 'primitive':
      if (v.type !== 101 && v.type !== 102 && v.type !== 103) throw new IpcEncodeError(`${path}.type`, `a primitive's type must be 101, 102 or 103, got ${v.type}`);
      w.u8(v.type);
      writeItem(w, 'byte', v.index, `${path}.index`);
      return;
    case 'derived':
      if (v.type === 104 || v.type === 105) {
        w.u8(v.type);
        w.i32(v.parts.length);
        v.parts.forEach((x, i) => writeValue(w, x, `${path}.parts[${i}]`, depth + 1, maxDepth));
        return;
      }
      if (v.type >= 106 && v.type <= 111 && v.parts.length === 1) {
        w.u8(v.type);
        writeValue(w, v.parts[0]!, `${path}.parts[0]`, depth + 1, maxDepth);
        return;
      }
      throw new IpcEncodeError(path, `a derived function is type 104/105 with parts, or 106..111 with one part; got type ${v.type} with ${v.parts.length}`);
    default:
      throw new IpcEncodeError(`${path}.kind`, `unknown value kind ${JSON.stringify((v as { kind: unknown }).kind)}`);
  }
}

/** The bytes of a value without a header (what follows the header in a message). */
export function encodeValue(value: QValue, options: Pick<EncodeOptions, 'maxDepth'> = {}): Buffer {
  const w = new Writer();
  writeValue(w, value, 'value', 1, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  return Buffer.from(w.view());
}

/** A whole little-endian message: header and value, compressed when asked and worth it. */
export function encodeMessage(value: QValue, options: EncodeOptions = {}): Buffer {
  const w = new Writer();
  w.u8(1);
  w.u8(MESSAGE_TYPE_CODE[options.messageType ?? 'async']);
  w.u8(0);
  w.u8(0);
  w.i32(0);
  writeValue(w, value, 'value', 1, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (w.pos > 0x7fffffff) throw new IpcEncodeError('value', `the message would be ${w.pos} bytes, above the 2 GiB that kdb+ IPC v3 carries`);
  w.setU32(4, w.pos);
  const plain = w.view();
  if (options.compress === true && plain.length > COMPRESSION_THRESHOLD) {
    const packed = compressMessage(plain);
    if (packed !== undefined) return Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  }
  return Buffer.from(plain);
}
