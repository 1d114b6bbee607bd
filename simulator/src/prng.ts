/**
 * Seeded randomness for the simulated world (the planner has none): the same
 * seed gives the same lead times, so a run can be repeated exactly.
 */
export type Rng = () => number;

/** mulberry32: small, fast, good enough for drawing lead times. */
export const seededRng = (seed: number): Rng => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

export interface LeadTime {
  meanS: number;
  sdS: number;
}

/** A lead time drawn from a normal distribution (Box-Muller), never under 1 s. */
export const drawLeadTimeMs = (rng: Rng, lt: LeadTime): number => {
  if (lt.sdS === 0) return Math.max(1, lt.meanS) * 1000;
  const u = Math.max(rng(), Number.MIN_VALUE);
  const v = rng();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(1, lt.meanS + lt.sdS * z) * 1000;
};
