import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { chunkLinePrefix, writeSliceFile, type SliceHeader, type SliceV1 } from '../rdb/flush.ts';
import type { Column } from '../schema.ts';
import { MergeError } from './errors.ts';

/**
 * Reading slices a piece at a time (the format: images/sim/src/rdb/flush.ts).
 * A reader holds one line of the file (one chunk of rows) and a read buffer.
 */
const READ_BYTES = 1 << 20;

class LineReader {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);
  private parts: Buffer[] = [];
  private start = 0;
  private end = 0;
  private eof = false;
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, 'r');
  }

  /** The next line without its newline, or null at the end of the file. */
  next(): string | null {
    for (;;) {
      const nl = this.buf.indexOf(0x0a, this.start);
      if (nl !== -1 && nl < this.end) {
        const piece = this.buf.subarray(this.start, nl);
        this.start = nl + 1;
        if (this.parts.length === 0) return piece.toString('utf8');
        const line = Buffer.concat([...this.parts, piece]).toString('utf8');
        this.parts = [];
        return line;
      }
      if (this.start < this.end) this.parts.push(Buffer.from(this.buf.subarray(this.start, this.end)));
      this.start = this.end = 0;
      if (this.eof) {
        if (this.parts.length === 0) return null;
        const line = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        return line;
      }
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      if (n === 0) this.eof = true;
      this.end = n;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

const looksLikeHeader = (h: unknown): h is SliceHeader => {
  const s = h as SliceHeader;
  return (
    typeof s === 'object' && s !== null && s.version === 2 && typeof s.day === 'string' && typeof s.rdb === 'string' &&
    typeof s.pool === 'string' && typeof s.window?.firstI === 'number' && typeof s.window?.lastI === 'number' &&
    typeof s.tables === 'object' && s.tables !== null
  );
};

export const readSliceHeader = (path: string): SliceHeader => {
  const r = new LineReader(path);
  try {
    const line = r.next();
    let h: unknown;
    try {
      h = JSON.parse(line ?? '');
    } catch {
      throw new MergeError(`${path}: not a slice (its first line is not a JSON header)`);
    }
    if (!looksLikeHeader(h)) throw new MergeError(`${path}: not a version 2 slice header`);
    return h;
  } finally {
    r.close();
  }
};

/**
 * The rows of one table of one slice, in the slice's order (sym, then
 * time), one chunk in memory at a time. `row` is the current row; `advance`
 * moves on and returns false past the table's last row.
 */
export class TableCursor {
  private readonly reader: LineReader;
  private readonly prefix: string;
  private chunk: Column[] = [];
  private at = 0;
  private size = 0;
  private started = false;
  private finished = false;
  read = 0;
  readonly table: string;
  readonly expectRows: number;

  constructor(path: string, table: string, expectRows: number) {
    this.table = table;
    this.expectRows = expectRows;
    this.reader = new LineReader(path);
    this.prefix = chunkLinePrefix(table);
    this.reader.next(); // header
  }

  /** Loads the next chunk of this table; false when there is none. */
  private load(): boolean {
    for (;;) {
      const line = this.reader.next();
      if (line === null || line === '') return this.finish();
      if (!line.startsWith(this.prefix)) {
        // Tables are written one after the other: past ours there is nothing more of it.
        if (this.started) return this.finish();
        continue;
      }
      this.started = true;
      const cols = (JSON.parse(line) as { c: Column[] }).c;
      this.chunk = cols;
      this.at = 0;
      this.size = cols[0]?.length ?? 0;
      if (this.size > 0) return true;
    }
  }

  private finish(): boolean {
    this.finished = true;
    this.chunk = [];
    this.size = 0;
    this.reader.close();
    if (this.read !== this.expectRows)
      throw new MergeError(`${this.reader.path}: table ${this.table} has ${this.read} rows but its header says ${this.expectRows}; the slice is damaged`);
    return false;
  }

  /** Positions on the first row; false when the table has none. */
  open(): boolean {
    return this.load() && this.count();
  }

  private count(): true {
    this.read++;
    return true;
  }

  get sym(): string {
    return this.chunk[1]![this.at] as string;
  }

  get time(): number {
    return this.chunk[0]![this.at] as number;
  }

  value(k: number): unknown {
    return this.chunk[k]![this.at];
  }

  advance(): boolean {
    if (this.finished) return false;
    if (++this.at < this.size) return this.count();
    return this.load() && this.count();
  }

  close(): void {
    if (!this.finished) {
      this.finished = true;
      this.reader.close();
    }
  }
}

/**
 * A version 1 slice (one JSON object, rows in message order) rewritten as
 * version 2 at `to`: loaded whole, so this takes one slice's memory, one
 * slice at a time. Version 1 did not record the subscription.
 */
export const convertV1 = (from: string, to: string): SliceHeader => {
  let s: SliceV1;
  try {
    s = JSON.parse(readFileSync(from, 'utf8')) as SliceV1;
  } catch (e) {
    throw new MergeError(`${from}: not a slice (${(e as Error).message})`);
  }
  if (s.version !== 1 || typeof s.day !== 'string' || typeof s.tables !== 'object') throw new MergeError(`${from}: not a version 1 slice`);
  const tables = Object.entries(s.tables).map(([name, t]) => ({ name, columns: t.columns, data: t.data }));
  writeSliceFile(to, { day: s.day, rdb: s.rdb, pool: s.pool, window: s.window, subscription: null }, tables);
  return readSliceHeader(to);
};
