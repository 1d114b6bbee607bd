import { readFileSync } from 'node:fs';
import { PAPER_PROFILE, type HourShare } from '../../images/sim/src/feed/profile.ts';
import { localToEpoch } from '../../images/sim/src/tickerplant/trading-day.ts';

export { PAPER_PROFILE, type HourShare };

/**
 * A volume profile: share of the day's data per local hour, data arriving at
 * an even rate within each hour. The paper's is the default (the feed's own
 * PAPER_PROFILE); shares are normalised, so they need not add up to 100.
 */
export const validateProfile = (p: unknown, where: string): HourShare[] => {
  const entries: unknown[] = Array.isArray(p)
    ? p
    : p !== null && typeof p === 'object'
      ? Object.entries(p as Record<string, unknown>).map(([hour, share]) => ({ hour: Number(hour), share }))
      : [];
  if (entries.length === 0) throw new Error(`${where}: a profile is a list [{"hour": 6, "share": 1.3}, ...] or an object {"6": 1.3, ...}`);
  const out: HourShare[] = [];
  const seen = new Set<number>();
  for (const e of entries) {
    const { hour, share } = (e ?? {}) as { hour?: unknown; share?: unknown };
    if (typeof hour !== 'number' || !Number.isInteger(hour) || hour < 0 || hour > 23) throw new Error(`${where}: hour must be a whole number 0..23, got ${JSON.stringify(hour)}`);
    if (typeof share !== 'number' || !Number.isFinite(share) || share < 0) throw new Error(`${where}: share of hour ${hour} must be a number >= 0, got ${JSON.stringify(share)}`);
    if (seen.has(hour)) throw new Error(`${where}: hour ${hour} given twice`);
    seen.add(hour);
    out.push({ hour, share });
  }
  if (out.reduce((s, h) => s + h.share, 0) <= 0) throw new Error(`${where}: the shares add up to 0`);
  return out.sort((a, b) => a.hour - b.hour);
};

export const loadProfile = (file: string): HourShare[] => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--profile ${file}: ${(e as Error).message}`);
  }
  return validateProfile(json, `--profile ${file}`);
};

/** The profile laid on one trading day's clock: the cumulative share (0..1) at any instant. */
export interface DayProfile {
  /** Epoch ms where each hour of the profile starts and ends, and its share (normalised). */
  hours: { from: number; to: number; share: number }[];
  /** Cumulative share of the day's data published by `ms`. */
  at(ms: number): number;
  /** Integral of at(t) dt from `a` to `b`, in share-hours (exact: piecewise linear). */
  integralHours(a: number, b: number): number;
}

export const dayProfile = (profile: readonly HourShare[], day: string, tz: string): DayProfile => {
  const total = profile.reduce((s, h) => s + h.share, 0);
  const hours = profile
    .filter((h) => h.share > 0)
    .map((h) => ({ from: localToEpoch(day, h.hour * 60, tz), to: localToEpoch(day, (h.hour + 1) * 60, tz), share: h.share / total }));
  const at = (ms: number): number => {
    let s = 0;
    for (const h of hours) {
      if (ms >= h.to) s += h.share;
      else if (ms > h.from) s += (h.share * (ms - h.from)) / (h.to - h.from);
    }
    return s;
  };
  const integralHours = (a: number, b: number): number => {
    // at() is linear between the hours' edges: the trapezoid rule is exact on each piece.
    const edges = [...new Set([a, b, ...hours.flatMap((h) => [h.from, h.to]).filter((t) => t > a && t < b)])].sort((x, y) => x - y);
    let sum = 0;
    for (let k = 1; k < edges.length; k++) sum += ((at(edges[k - 1]!) + at(edges[k]!)) / 2) * ((edges[k]! - edges[k - 1]!) / 3_600_000);
    return sum;
  };
  return { hours, at, integralHours };
};
