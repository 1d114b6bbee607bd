/**
 * Seeded randomness for the simulated world (the planner has none): the same
 * seed gives the same lead times, so a run can be repeated exactly.
 */
import { mulberry32 } from '../../images/sim/src/feed/generator.ts';

export type Rng = () => number;

/** The feed's mulberry32: small, fast, good enough for drawing lead times. */
export const seededRng = (seed: number): Rng => mulberry32(seed);

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
