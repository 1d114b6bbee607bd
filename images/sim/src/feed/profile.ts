/**
 * The paper's trading-day volume profile: share of the day's data per local
 * hour (06:00 .. 14:00; they add up to 99.8%, so shares are normalised).
 */
export interface HourShare {
  hour: number;
  share: number;
}

export const PAPER_PROFILE: readonly HourShare[] = [
  { hour: 6, share: 1.3 },
  { hour: 7, share: 3.2 },
  { hour: 8, share: 12.0 },
  { hour: 9, share: 15.1 },
  { hour: 10, share: 15.5 },
  { hour: 11, share: 15.2 },
  { hour: 12, share: 16.5 },
  { hour: 13, share: 15.0 },
  { hour: 14, share: 6.0 },
];

/** Splits total rows over the hours by largest remainder, so the parts add up to total exactly. */
export const rowsPerHour = (total: number, profile: readonly HourShare[] = PAPER_PROFILE): number[] => {
  const sum = profile.reduce((s, h) => s + h.share, 0);
  const exact = profile.map((h) => (total * h.share) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((s, n) => s + n, 0);
  const order = exact.map((x, k) => ({ k, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.k - b.k);
  for (let j = 0; left > 0; j = (j + 1) % order.length, left--) out[order[j]!.k]!++;
  return out;
};

/** "6:1.3,7:3.2,..." -> profile (for the feed's --profile option). */
export const parseProfile = (s: string): HourShare[] =>
  s.split(',').map((part) => {
    const [h, v] = part.split(':');
    const hour = Number(h);
    const share = Number(v);
    if (!Number.isInteger(hour) || hour < 0 || hour > 23 || !(share >= 0)) throw new Error(`bad profile entry ${part} (want hour:share)`);
    return { hour, share };
  });
