import { localToEpoch } from '../tickerplant/trading-day.ts';
import { PAPER_PROFILE, rowsPerHour, type HourShare } from './profile.ts';

export interface DayOptions {
  syms: readonly string[];
  rows: number;
  seed: number;
  day: string;
  tz: string;
  profile?: readonly HourShare[];
  /** Share of rows that are quotes (the rest are trades). */
  quoteShare?: number;
}

export interface GeneratedRow {
  table: 'trade' | 'quote';
  /** Row values in schema order, time first. */
  values: unknown[];
}

/** Small deterministic PRNG (mulberry32): the same seed gives the same day everywhere. */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const cents = (x: number): number => Math.round(x * 100) / 100;

/** The day's trade and quote rows in time order, following the hourly profile. */
export function* generateDay(o: DayOptions): Generator<GeneratedRow> {
  const profile = o.profile ?? PAPER_PROFILE;
  const rand = mulberry32(o.seed);
  const quoteShare = o.quoteShare ?? 0.6;
  const counts = rowsPerHour(o.rows, profile);
  for (let h = 0; h < profile.length; h++) {
    const n = counts[h]!;
    const start = localToEpoch(o.day, profile[h]!.hour * 60, o.tz);
    const offsets = new Float64Array(n);
    for (let k = 0; k < n; k++) offsets[k] = Math.floor(rand() * 3_600_000);
    offsets.sort();
    for (let k = 0; k < n; k++) {
      const time = start + offsets[k]!;
      const s = Math.floor(rand() * o.syms.length);
      const sym = o.syms[s]!;
      const mid = 50 + 10 * s + 5 * rand();
      if (rand() < quoteShare) {
        const bid = cents(mid);
        yield { table: 'quote', values: [time, sym, bid, cents(bid + 0.01 + Math.floor(rand() * 5) / 100), 100 * (1 + Math.floor(rand() * 50)), 100 * (1 + Math.floor(rand() * 50))] };
      } else {
        yield { table: 'trade', values: [time, sym, cents(mid), 1 + Math.floor(rand() * 1000)] };
      }
    }
  }
}

/** Simulated span of the day: from the first profile hour to the end of the last. */
export const daySpan = (o: Pick<DayOptions, 'day' | 'tz' | 'profile'>): { start: number; end: number } => {
  const profile = o.profile ?? PAPER_PROFILE;
  const hours = profile.map((h) => h.hour);
  return { start: localToEpoch(o.day, Math.min(...hours) * 60, o.tz), end: localToEpoch(o.day, (Math.max(...hours) + 1) * 60, o.tz) };
};
