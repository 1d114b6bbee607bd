import { MAX_ERROR_MESSAGE, MAX_MEMORY_PERCENT, SUMMARY_FLUSHED_DAYS, type RdbStatusFile, type RdbSummary } from '../api/rdb-status.ts';

export type { RdbSummary };

/**
 * What the agent publishes on its own pod, derived from the RDB status file.
 * Pure: the same file always yields the same report, so the agent can compare
 * reports and write only when something the operator acts on has changed.
 */
export const API_GROUP = 'kdb-operator.dev';
export const CONDITION = {
  live: `${API_GROUP}/Live`,
  rolled: `${API_GROUP}/Rolled`,
  dataFlushed: `${API_GROUP}/DataFlushed`,
} as const;
export const ANNOTATION = {
  memoryPercent: `${API_GROUP}/memory-percent`,
  /** Compact JSON of the fields the operator plans with (state, window, day, flushed days). */
  rdbStatus: `${API_GROUP}/rdb-status`,
  /** When the RDB wrote the state reported (its status file's updatedAt): where reaction times start. */
  reportedAt: `${API_GROUP}/reported-at`,
} as const;

export interface PodConditionReport {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface AgentReport {
  conditions: PodConditionReport[];
  memoryPercent: number;
  summary: RdbSummary;
}

const cond = (type: string, on: boolean, reason: string, message: string): PodConditionReport => ({
  type,
  status: on ? 'True' : 'False',
  reason,
  message,
});

const reasonFor = (state: RdbStatusFile['state']): string =>
  state.charAt(0).toUpperCase() + state.slice(1);

/** Capped where the operator's schema stops believing it: a runaway RDB still reports, as full. */
export const memoryPercentOf = (s: RdbStatusFile): number =>
  Math.min(MAX_MEMORY_PERCENT, Math.floor((s.memory.usedBytes * 100) / s.memory.limitBytes));

/**
 * Flushed means "this RDB holds no data that is not already on the shared
 * volume", and only a finished RDB can say it: state `flushed`, zero rows,
 * and a closed window. An RDB whose window is still open (lastI null) is the
 * live subscriber, whatever state it writes (q once wrote `flushed` for a
 * moment at end of day before `live`), and the operator would delete it and
 * terminate its server. A live RDB that flushed yesterday holds today's data.
 */
export const holdsNothing = (s: RdbStatusFile, rows: number): boolean =>
  s.state === 'flushed' && rows === 0 && s.window.lastI !== null;

export const reportFor = (s: RdbStatusFile): AgentReport => {
  const rows = Object.values(s.rows).reduce((a, b) => a + b, 0);
  const flushedDays = s.flushed.slice(-SUMMARY_FLUSHED_DAYS).map((f) => f.day);
  const flushed = holdsNothing(s, rows);
  const lastFlush = s.flushed.at(-1);
  const window = `(${s.window.firstI}, ${s.window.lastI ?? 'open'}]`;
  return {
    memoryPercent: memoryPercentOf(s),
    summary: {
      state: s.state,
      day: s.day,
      firstI: s.window.firstI,
      lastI: s.window.lastI,
      lastProcessed: s.window.lastProcessed,
      rows,
      flushedDays,
      ...(s.error ? { error: { reason: s.error.reason, message: s.error.message.slice(0, MAX_ERROR_MESSAGE) } } : {}),
    },
    conditions: [
      cond(CONDITION.live, s.state === 'live', reasonFor(s.state), `RDB is ${s.state}; window ${window}`),
      cond(
        CONDITION.rolled,
        s.state === 'rolled' || (s.window.lastI !== null && s.state !== 'live'),
        reasonFor(s.state),
        `window ${window}, last processed ${s.window.lastProcessed}`,
      ),
      cond(
        CONDITION.dataFlushed,
        flushed,
        flushed ? 'Flushed' : s.window.lastI === null && s.state === 'flushed' ? 'WindowOpen' : 'HoldsData',
        flushed
          ? `flushed ${lastFlush ? `${lastFlush.rows} rows of ${lastFlush.day} to ${lastFlush.path}` : 'nothing (held no rows)'}`
          : s.window.lastI === null && s.state === 'flushed'
            ? `reports flushed with its window still open (${s.window.firstI}, open]: counted as the live RDB, not flushed`
            : `holds ${rows} rows of ${s.day}`,
      ),
    ],
  };
};

/**
 * Only a state change, a new flush, a window change or a whole-percent move in
 * memory is worth an API write: a thousand RDB pods must not flood the API
 * server with heartbeats.
 */
export const reportChanged = (prev: AgentReport | undefined, next: AgentReport): boolean => {
  if (!prev) return true;
  if (prev.memoryPercent !== next.memoryPercent) return true;
  const a = prev.summary;
  const b = next.summary;
  return (
    a.state !== b.state ||
    a.day !== b.day ||
    a.firstI !== b.firstI ||
    a.lastI !== b.lastI ||
    a.flushedDays.join(',') !== b.flushedDays.join(',') ||
    a.error?.reason !== b.error?.reason ||
    a.error?.message !== b.error?.message ||
    (a.rows === 0) !== (b.rows === 0)
  );
};
