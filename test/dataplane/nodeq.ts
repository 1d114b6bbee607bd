/**
 * node-q 2.7.0 (npm, pinned devDependency), a kdb+ client nobody here
 * wrote, with promises: what the data-plane tests connect to the RDB, HDB,
 * gateway and tickerplant with.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface NodeQConnection {
  k(fn: string, ...args: unknown[]): void;
  ks(fn: string, ...args: unknown[]): void;
  close(cb?: () => void): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

interface NodeQ {
  connect(params: Record<string, unknown>, cb: (err: Error | undefined, con: NodeQConnection) => void): void;
  timestamp(d: Date): unknown;
  symbol(s: string): unknown;
  symbols(s: string[]): unknown;
  floats(x: number[]): unknown;
  longs(x: unknown[]): unknown;
  timestamps(x: Date[]): unknown;
  date(d: Date): unknown;
}

export const nq = require('node-q') as NodeQ;
const Long = createRequire(require.resolve('node-q'))('long') as { fromNumber(n: number): unknown };

/** A node-q long vector (it takes long.js values, not numbers). */
export const longs = (xs: readonly number[]): unknown => nq.longs(xs.map((x) => Long.fromNumber(x)));

/**
 * Connects with nanos2date off: node-q turns a timestamp into a Date by
 * floating-point days, which lands 1 ms early for some times; as
 * nanoseconds since 1970 (a float, exact to well under a millisecond) it
 * rounds back to the millisecond the reference holds (see msOf).
 */
export const connect = (port: number, params: Record<string, unknown> = {}): Promise<NodeQConnection> =>
  new Promise((resolve, reject) =>
    nq.connect({ host: '127.0.0.1', port, nanos2date: false, ...params }, (err, con) => {
      if (err) reject(err);
      else {
        con.on('error', () => {});
        resolve(con);
      }
    }),
  );

/** A sync call: h(fn; args...). */
export const call = <T = unknown>(con: NodeQConnection, fn: string, ...args: unknown[]): Promise<T> =>
  new Promise((resolve, reject) =>
    (con.k as (...a: unknown[]) => void)(fn, ...args, (err: Error | undefined, res: T) => (err ? reject(err) : resolve(res))),
  );

/** An async call: neg[h](fn; args...); resolves once written. */
export const callAsync = (con: NodeQConnection, fn: string, ...args: unknown[]): Promise<void> =>
  new Promise((resolve, reject) => (con.ks as (...a: unknown[]) => void)(fn, ...args, (err: Error | undefined) => (err ? reject(err) : resolve())));

export const close = (con: NodeQConnection): Promise<void> => new Promise((r) => con.close(() => r()));

/** Epoch ms of a timestamp as node-q gives it with nanos2date off. */
export const msOf = (v: unknown): number => Math.round((v as number) / 1e6);

/** The rows node-q gives for a table (flipTables: one object a row) as columns in the reference's JS form: time in epoch ms. */
export const rowsToColumns = (rows: Record<string, unknown>[], columns: string[]): unknown[][] =>
  columns.map((c) => rows.map((r) => (c === 'time' ? msOf(r[c]) : r[c])));
