import { z } from 'zod';

/**
 * The RDB reporting contract: the one file the data plane (q or the
 * TypeScript reference RDB) writes, atomically (temp file + rename), on every
 * state change and every few seconds. The agent beside the RDB is its only
 * reader. Keep it small and versioned: q writes it with one line.
 *
 * Everything here is untrusted input (a broken or compromised RDB writes the
 * file; its agent writes the pod annotation): bounded, and refused whole
 * when any field is off, never half-used.
 */
export const RDB_STATUS_VERSION = 1;

export const RdbState = z.enum(['queued', 'replaying', 'live', 'rolled', 'flushing', 'flushed']);
export type RdbState = z.infer<typeof RdbState>;

/** Largest count or message number a report may carry: beyond it JSON numbers stop being exact. */
const Count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const Q_DAY = /^\d{4}\.\d{2}\.\d{2}$/;

/**
 * A trading day, `YYYY-MM-DD` and a real calendar day. q prints dates as
 * `2026.03.02` (`string .z.d`); that form is refused by name rather than
 * normalised, so one spelling of a day exists on the wire, in status, in
 * staging folder names and in merge Job names. q code writes `.c.day d`
 * (common.q), which gives the ISO form.
 */
export const TradingDay = z.string().superRefine((s, ctx) => {
  const show = s.length > 24 ? `${s.slice(0, 24)}...` : s;
  if (Q_DAY.test(s)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is q's date form; write the day as YYYY-MM-DD (in q: .c.day d)` });
    return;
  }
  const m = ISO_DAY.exec(s);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `must be a day YYYY-MM-DD, got "${show}"` });
    return;
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    ctx.addIssue({ code: 'custom', message: `${s} is not a calendar day` });
  }
});

/** An instant as JavaScript and q (`.c.iso .z.p`) write it: ISO 8601, parseable. */
export const ReportTime = z
  .string()
  .max(64)
  .refine((s) => Number.isFinite(Date.parse(s)), { message: 'must be an ISO 8601 time such as 2026-03-02T14:30:00.000Z' });

const Name = z.string().min(1).max(253);

/**
 * Message window, in tickerplant message numbers: the RDB holds messages i
 * with firstI < i <= lastI (numbering starts at 1). `lastI` is null while the
 * window is still open (the RDB is live); `lastProcessed` is the number of
 * the last message applied.
 */
const Window = z
  .object({ firstI: Count, lastI: Count.nullable(), lastProcessed: Count })
  .refine((w) => w.lastI === null || w.lastI >= w.firstI, { message: 'lastI is below firstI', path: ['lastI'] });

/**
 * Why the data plane cannot go on as it should, as the RDB writes it:
 * WindowPastLog (the tickerplant refused its window or position, or the log
 * lacks messages the window needs), Renumbered (a message came with a number
 * already applied). Raised by the operator as Degraded, never acted on.
 */
export const DataPlaneErrorReason = z.enum(['WindowPastLog', 'Renumbered']);
export const MAX_ERROR_MESSAGE = 512;
export const DataPlaneError = z.object({
  reason: DataPlaneErrorReason,
  message: z.string().max(4096),
  since: ReportTime,
});

export const RdbStatusFile = z.object({
  version: z.literal(RDB_STATUS_VERSION),
  /** The RDB's own name (its pod name). */
  name: Name,
  pool: Name,
  state: RdbState,
  memory: z.object({
    usedBytes: Count,
    limitBytes: Count.positive(),
  }),
  window: Window,
  rows: z.record(z.string().min(1).max(255), Count).refine((r) => Object.keys(r).length <= 256, { message: 'more than 256 tables' }),
  /** Trading day of the data held. */
  day: TradingDay,
  /** Days this RDB has flushed to the HDB staging area, newest last. */
  flushed: z
    .array(z.object({ day: TradingDay, rows: Count, path: z.string().max(4096) }))
    .max(10_000)
    .default([]),
  error: DataPlaneError.optional(),
  updatedAt: ReportTime,
});
export type RdbStatusFile = z.infer<typeof RdbStatusFile>;

/** The annotation carries the newest days only: enough for every merge the operator can still start. */
export const SUMMARY_FLUSHED_DAYS = 32;

/**
 * What the agent publishes in the pod annotation kdb-operator.dev/rdb-status
 * (compact JSON): the fields the operator plans with. The agent builds it
 * from a valid status file; the operator parses it with this same schema
 * before it believes a word of it. Unknown extra keys (a newer agent) are
 * dropped; an unknown state is refused.
 */
export const RdbSummary = z
  .object({
    state: RdbState,
    day: TradingDay,
    firstI: Count,
    lastI: Count.nullable(),
    lastProcessed: Count,
    rows: Count,
    flushedDays: z.array(TradingDay).max(SUMMARY_FLUSHED_DAYS),
    error: z.object({ reason: DataPlaneErrorReason, message: z.string().max(MAX_ERROR_MESSAGE) }).optional(),
  })
  .refine((s) => s.lastI === null || s.lastI >= s.firstI, { message: 'lastI is below firstI', path: ['lastI'] });
export type RdbSummary = z.infer<typeof RdbSummary>;

/** kdb-operator.dev/memory-percent: whole percent of the RDB's limit; above 1000 is a broken report, not memory. */
export const MAX_MEMORY_PERCENT = 1000;
export const MemoryPercent = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,3})$/, { message: 'must be a whole, non-negative percent such as "42"' })
  .transform(Number)
  .pipe(z.number().max(MAX_MEMORY_PERCENT, { message: `must be at most ${MAX_MEMORY_PERCENT}` }));

/** Longest rdb-status annotation read: a summary with SUMMARY_FLUSHED_DAYS days is well under 1 KiB. */
export const MAX_SUMMARY_CHARS = 4096;

export interface ReportAnnotationValues {
  rdbStatus: string;
  memoryPercent: string | undefined;
  reportedAt: string | undefined;
}

export interface ParsedReportAnnotations {
  summary: RdbSummary;
  memoryPercent: number;
  reportedAt?: string;
}

export type ReportParse =
  | { ok: true; value: ParsedReportAnnotations }
  /** `field`: which annotation, and the path inside the JSON (e.g. `rdb-status.day`). */
  | { ok: false; field: 'rdbStatus' | 'memoryPercent' | 'reportedAt'; path: string; message: string };

const firstIssue = (e: z.ZodError): { path: string; message: string } => {
  const i = e.issues[0];
  return { path: i?.path.map(String).join('.') ?? '', message: i?.message ?? 'invalid' };
};

/** The three report annotations, checked together: any one bad and there is no report. */
export const parseReportAnnotations = (v: ReportAnnotationValues): ReportParse => {
  if (v.rdbStatus.length > MAX_SUMMARY_CHARS) {
    return { ok: false, field: 'rdbStatus', path: '', message: `${v.rdbStatus.length} characters, more than ${MAX_SUMMARY_CHARS}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(v.rdbStatus);
  } catch (e) {
    return { ok: false, field: 'rdbStatus', path: '', message: `not JSON: ${(e as Error).message}` };
  }
  const summary = RdbSummary.safeParse(json);
  if (!summary.success) return { ok: false, field: 'rdbStatus', ...firstIssue(summary.error) };
  if (v.memoryPercent === undefined) return { ok: false, field: 'memoryPercent', path: '', message: 'missing' };
  const memory = MemoryPercent.safeParse(v.memoryPercent);
  if (!memory.success) return { ok: false, field: 'memoryPercent', ...firstIssue(memory.error) };
  // Older agents wrote no time: the report stands, only the reaction-time metric goes without.
  if (v.reportedAt === undefined) return { ok: true, value: { summary: summary.data, memoryPercent: memory.data } };
  const at = ReportTime.safeParse(v.reportedAt);
  if (!at.success) return { ok: false, field: 'reportedAt', ...firstIssue(at.error) };
  return { ok: true, value: { summary: summary.data, memoryPercent: memory.data, reportedAt: at.data } };
};
