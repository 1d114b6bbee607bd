import { createHash } from 'node:crypto';
import { ANNOTATION, CONDITION } from '../../agent/report.ts';
import { parseReportAnnotations, type ParsedReportAnnotations } from '../../api/rdb-status.ts';
import type { V1Pod } from '../../kube/index.ts';
import type { InvalidRdbReport, ObservedRdbPod, PodPhase, RdbReport } from '../../planner/types.ts';
import { ANNOTATION as OWNED } from '../../specs/names.ts';
import { rdbThresholdsOf } from './rdb-thresholds.ts';

const isTrue = (pod: V1Pod, type: string): boolean =>
  pod.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

const FIELD_ANNOTATION = {
  rdbStatus: ANNOTATION.rdbStatus,
  memoryPercent: ANNOTATION.memoryPercent,
  reportedAt: ANNOTATION.reportedAt,
} as const;

export type ReportRead = { kind: 'none' } | { kind: 'ok'; report: RdbReport } | { kind: 'invalid'; invalid: InvalidRdbReport };

const fingerprint = (values: readonly (string | undefined)[]): string =>
  createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, 16);

/**
 * The conditions say "flushed" and "live"; the summary says what the RDB
 * holds. DataFlushed counts only when both agree that the RDB is finished
 * with a closed window and nothing left: a forged or half-written report
 * (annotations written, conditions not yet) never makes a live RDB a
 * scale-in victim.
 */
const reportOf = (pod: V1Pod, a: ParsedReportAnnotations): RdbReport => {
  const s = a.summary;
  const live = isTrue(pod, CONDITION.live);
  const finished = s.state === 'flushed' && s.rows === 0 && s.lastI !== null && !live;
  return {
    state: s.state,
    live,
    rolled: isTrue(pod, CONDITION.rolled),
    dataFlushed: isTrue(pod, CONDITION.dataFlushed) && finished,
    flushedDays: s.flushedDays,
    day: s.day,
    memoryPercent: a.memoryPercent,
    window: { firstI: s.firstI, lastI: s.lastI },
    holdsRows: s.rows > 0,
    rows: s.rows,
    ...(a.reportedAt !== undefined ? { reportedAt: a.reportedAt } : {}),
    ...(s.error ? { error: s.error } : {}),
  };
};

/**
 * What the agent published on the pod, checked against the one schema the
 * agent writes with. Reports are input, not truth: a report that does not
 * parse is no report at all (the pod then counts as one that has said
 * nothing yet, which the planner treats as possibly holding data).
 */
export const readRdbReport = (pod: V1Pod): ReportRead => {
  const ann = pod.metadata?.annotations ?? {};
  const rdbStatus = ann[ANNOTATION.rdbStatus];
  if (rdbStatus === undefined) return { kind: 'none' };
  const memoryPercent = ann[ANNOTATION.memoryPercent];
  const reportedAt = ann[ANNOTATION.reportedAt];
  const r = parseReportAnnotations({ rdbStatus, memoryPercent, reportedAt });
  if (r.ok) return { kind: 'ok', report: reportOf(pod, r.value) };
  return {
    kind: 'invalid',
    invalid: {
      field: `${FIELD_ANNOTATION[r.field]}${r.path ? `: ${r.path}` : ''}`,
      message: r.message,
      fingerprint: fingerprint([rdbStatus, memoryPercent, reportedAt]),
    },
  };
};

/** What the agent published on the pod, decoded for the planner; undefined until it first reports or while its report is invalid. */
export const rdbReportOf = (pod: V1Pod): RdbReport | undefined => {
  const r = readRdbReport(pod);
  return r.kind === 'ok' ? r.report : undefined;
};

/**
 * The pod stays Running while one of its containers runs (restartPolicy
 * Never), but an RDB process that exited (crash, OOM kill) has lost what it
 * held, and a dead agent leaves the pool planning on a report nobody
 * updates: either way the pod counts as failed, is deleted, and a replacement
 * replays whatever window it held.
 */
const rdbTerminated = (pod: V1Pod): boolean =>
  pod.status?.containerStatuses?.some((c) => (c.name === 'rdb' || c.name === 'agent') && c.state?.terminated !== undefined) ?? false;

/** metadata.creationTimestamp as ISO time (the client gives a Date, a raw read a string): lead times are measured from it. */
const createdAtOf = (pod: V1Pod): { createdAt?: string } => {
  const t = pod.metadata?.creationTimestamp as Date | string | undefined;
  const ms = t === undefined ? NaN : new Date(t).getTime();
  return Number.isFinite(ms) ? { createdAt: new Date(ms).toISOString() } : {};
};

export const observeRdbPod = (pod: V1Pod): ObservedRdbPod => {
  const read = readRdbReport(pod);
  const replaces = pod.metadata?.annotations?.[OWNED.replaces];
  const replacesDay = pod.metadata?.annotations?.[OWNED.replacesDay];
  return {
    name: pod.metadata?.name ?? '',
    ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}),
    ...createdAtOf(pod),
    ...(pod.metadata?.resourceVersion ? { resourceVersion: pod.metadata.resourceVersion } : {}),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    phase: rdbTerminated(pod) ? 'Failed' : ((pod.status?.phase as PodPhase | undefined) ?? 'Pending'),
    ...(pod.metadata?.deletionTimestamp ? { deletionTimestamp: pod.metadata.deletionTimestamp } : {}),
    ...(replaces ? { replaces } : {}),
    ...(replaces && replacesDay && /^\d{4}-\d{2}-\d{2}$/.test(replacesDay) ? { replacesDay } : {}),
    ...rdbThresholdsOf(pod),
    ...(pod.metadata?.annotations?.[OWNED.specHash] ? { specHash: pod.metadata.annotations[OWNED.specHash] } : {}),
    ...(read.kind === 'ok' ? { rdb: read.report } : {}),
    ...(read.kind === 'invalid' ? { invalidReport: read.invalid } : {}),
  };
};
