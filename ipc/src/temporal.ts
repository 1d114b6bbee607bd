// kdb+ counts time from 2000.01.01 (UTC by convention): timestamps in
// nanoseconds, dates in days, months in months. These convert to and from
// the Unix epoch that the rest of the project uses.

const EPOCH_MS = 946_684_800_000; // 2000-01-01T00:00:00Z
const EPOCH_NS = 946_684_800_000_000_000n;
const DAY_MS = 86_400_000;

/** A kdb+ timestamp (ns since 2000.01.01) from nanoseconds since 1970-01-01. */
export const timestampFromUnixNanos = (ns: bigint): bigint => ns - EPOCH_NS;
export const timestampToUnixNanos = (ts: bigint): bigint => ts + EPOCH_NS;

/** A kdb+ timestamp from a Date (millisecond precision). */
export const timestampFromDate = (d: Date): bigint => timestampFromUnixNanos(BigInt(d.getTime()) * 1_000_000n);
/** A Date from a kdb+ timestamp, dropping what is below a millisecond (rounding toward negative infinity). */
export function timestampToDate(ts: bigint): Date {
  const ns = timestampToUnixNanos(ts);
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  return new Date(Number(ms));
}

/** A kdb+ date (days since 2000.01.01) from "YYYY-MM-DD". */
export function dateFromIso(iso: string): number {
  const ms = Date.parse(`${iso}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso) || Number.isNaN(ms)) throw new Error(`date must be YYYY-MM-DD, got ${JSON.stringify(iso)}`);
  return Math.round((ms - EPOCH_MS) / DAY_MS);
}

/** "YYYY-MM-DD" from a kdb+ date. */
export const dateToIso = (days: number): string => new Date(EPOCH_MS + days * DAY_MS).toISOString().slice(0, 10);

/** A kdb+ month (months since 2000.01) from a year and a month 1..12. */
export const monthOf = (year: number, month: number): number => (year - 2000) * 12 + (month - 1);
