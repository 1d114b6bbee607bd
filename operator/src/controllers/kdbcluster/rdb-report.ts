import { ANNOTATION, CONDITION, type RdbSummary } from '../../agent/report.ts';
import type { V1Pod } from '../../kube/index.ts';
import type { ObservedRdbPod, PodPhase, RdbReport } from '../../planner/types.ts';
import { ANNOTATION as OWNED } from '../../specs/names.ts';
import { rdbThresholdsOf } from './rdb-thresholds.ts';

const isTrue = (pod: V1Pod, type: string): boolean =>
  pod.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

const summaryOf = (pod: V1Pod): RdbSummary | undefined => {
  const raw = pod.metadata?.annotations?.[ANNOTATION.rdbStatus];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as RdbSummary;
  } catch {
    return undefined;
  }
};

/** What the agent published on the pod, decoded for the planner; undefined until it first reports. */
export const rdbReportOf = (pod: V1Pod): RdbReport | undefined => {
  const summary = summaryOf(pod);
  if (!summary) return undefined;
  const memory = Number(pod.metadata?.annotations?.[ANNOTATION.memoryPercent]);
  const reportedAt = pod.metadata?.annotations?.[ANNOTATION.reportedAt];
  return {
    state: summary.state,
    live: isTrue(pod, CONDITION.live),
    rolled: isTrue(pod, CONDITION.rolled),
    dataFlushed: isTrue(pod, CONDITION.dataFlushed),
    flushedDays: summary.flushedDays,
    day: summary.day,
    ...(Number.isFinite(memory) ? { memoryPercent: memory } : {}),
    window: { firstI: summary.firstI, lastI: summary.lastI },
    ...(reportedAt ? { reportedAt } : {}),
  };
};

/**
 * The pod stays Running while its agent runs, but an RDB process that exited
 * (crash, OOM kill) has lost what it held: it counts as a failed pod, whose
 * window a replacement must replay.
 */
const rdbTerminated = (pod: V1Pod): boolean =>
  pod.status?.containerStatuses?.some((c) => c.name === 'rdb' && c.state?.terminated !== undefined) ?? false;

export const observeRdbPod = (pod: V1Pod): ObservedRdbPod => {
  const rdb = rdbReportOf(pod);
  const replaces = pod.metadata?.annotations?.[OWNED.replaces];
  return {
    name: pod.metadata?.name ?? '',
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    phase: rdbTerminated(pod) ? 'Failed' : ((pod.status?.phase as PodPhase | undefined) ?? 'Pending'),
    ...(pod.metadata?.deletionTimestamp ? { deletionTimestamp: pod.metadata.deletionTimestamp } : {}),
    ...(replaces ? { replaces } : {}),
    ...rdbThresholdsOf(pod),
    ...(rdb ? { rdb } : {}),
  };
};
