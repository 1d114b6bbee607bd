import { z } from 'zod';

/**
 * The RDB reporting contract: the one file the data plane (q or the
 * TypeScript reference RDB) writes, atomically (temp file + rename), on every
 * state change and every few seconds. The agent beside the RDB is its only
 * reader. Keep it small and versioned: q writes it with one line.
 */
export const RDB_STATUS_VERSION = 1;

export const RdbState = z.enum(['queued', 'replaying', 'live', 'rolled', 'flushing', 'flushed']);
export type RdbState = z.infer<typeof RdbState>;

export const RdbStatusFile = z.object({
  version: z.literal(RDB_STATUS_VERSION),
  /** The RDB's own name (its pod name). */
  name: z.string().min(1),
  pool: z.string().min(1),
  state: RdbState,
  memory: z.object({
    usedBytes: z.number().int().nonnegative(),
    limitBytes: z.number().int().positive(),
  }),
  /**
   * Message window this RDB holds, in tickerplant message numbers: it holds
   * messages i with firstI < i <= lastI (numbering starts at 1). `lastI` is
   * null while the RDB is live (the window is still open); `lastProcessed`
   * is the number of the last message applied.
   */
  window: z.object({
    firstI: z.number().int().nonnegative(),
    lastI: z.number().int().nonnegative().nullable(),
    lastProcessed: z.number().int().nonnegative(),
  }),
  rows: z.record(z.string(), z.number().int().nonnegative()),
  /** Trading day (YYYY-MM-DD) of the data held. */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** Days this RDB has flushed to the HDB staging area, newest last. */
  flushed: z
    .array(z.object({ day: z.string(), rows: z.number().int().nonnegative(), path: z.string() }))
    .default([]),
  updatedAt: z.string(),
});
export type RdbStatusFile = z.infer<typeof RdbStatusFile>;
