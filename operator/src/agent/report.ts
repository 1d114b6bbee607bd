import type { RdbStatusFile } from '../api/rdb-status.ts';

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

export interface RdbSummary {
  state: RdbStatusFile['state'];
  day: string;
  firstI: number;
  lastI: number | null;
  lastProcessed: number;
  rows: number;
  flushedDays: string[];
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

export const memoryPercentOf = (s: RdbStatusFile): number =>
  Math.floor((s.memory.usedBytes * 100) / s.memory.limitBytes);

export const reportFor = (s: RdbStatusFile): AgentReport => {
  const rows = Object.values(s.rows).reduce((a, b) => a + b, 0);
  const flushedDays = s.flushed.map((f) => f.day);
  // Flushed means "this RDB holds no data that is not already on the shared
  // volume": only the `flushed` state with zero rows held qualifies. A live
  // RDB that flushed yesterday holds today's data and is not flushed.
  const holdsNothing = s.state === 'flushed' && rows === 0;
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
        holdsNothing,
        holdsNothing ? 'Flushed' : 'HoldsData',
        holdsNothing
          ? `flushed ${lastFlush ? `${lastFlush.rows} rows of ${lastFlush.day} to ${lastFlush.path}` : 'nothing (held no rows)'}`
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
    (a.rows === 0) !== (b.rows === 0)
  );
};
