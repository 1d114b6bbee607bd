// Pure helpers that compute patches; no I/O.
import type { V1Condition, V1PodCondition } from './types.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface PodConditionInput {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
}

/** RFC 3339 to the second, as metav1.Time serialises. */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** RFC 3339 with microseconds, the only form metav1.MicroTime parses. */
export const rfc3339Micro = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * The pod conditions that differ from `current`, ready for a strategic merge
 * patch of pods/status (conditions merge by `type` there, so conditions set by
 * the kubelet or anyone else are left alone). lastTransitionTime moves only
 * when the status flips. undefined when nothing changed, so callers skip the
 * write entirely.
 */
export const podConditionsPatch = (
  current: readonly V1PodCondition[] | undefined,
  desired: readonly PodConditionInput[],
  nowMs: number,
): V1PodCondition[] | undefined => {
  const changed: V1PodCondition[] = [];
  for (const d of desired) {
    const cur = current?.find((c) => c.type === d.type);
    if (cur && cur.status === d.status && (cur.reason ?? '') === (d.reason ?? '') && (cur.message ?? '') === (d.message ?? '')) continue;
    changed.push({
      type: d.type,
      status: d.status,
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
      ...(d.message !== undefined ? { message: d.message } : {}),
      lastTransitionTime: cur && cur.status === d.status && cur.lastTransitionTime ? cur.lastTransitionTime : rfc3339(nowMs),
    });
  }
  return changed.length > 0 ? changed : undefined;
};

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/**
 * metav1.Condition list with `cond` set: lastTransitionTime changes only on a
 * status flip. Returns a new array; `changed` says whether a write is needed.
 */
export const setCondition = (
  conditions: readonly V1Condition[] | undefined,
  cond: ConditionInput,
  nowMs: number,
): { conditions: V1Condition[]; changed: boolean } => {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  const cur = i >= 0 ? list[i] : undefined;
  const next: V1Condition = {
    type: cond.type,
    status: cond.status,
    reason: cond.reason,
    message: cond.message,
    ...(cond.observedGeneration !== undefined ? { observedGeneration: cond.observedGeneration } : {}),
    lastTransitionTime: cur && cur.status === cond.status ? cur.lastTransitionTime : rfc3339(nowMs),
  };
  const changed =
    cur === undefined ||
    cur.status !== next.status ||
    cur.reason !== next.reason ||
    cur.message !== next.message ||
    cur.observedGeneration !== next.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return { conditions: changed ? list : [...(conditions ?? [])], changed };
};

/** Server-side apply rejects these; they are the server's, not our intent. */
export const stripServerFields = <T extends { metadata?: object }>(obj: T): T => {
  if (!obj.metadata) return obj;
  const { managedFields: _m, resourceVersion: _r, uid: _u, creationTimestamp: _c, generation: _g, selfLink: _s, ...metadata } =
    obj.metadata as Record<string, unknown>;
  return { ...obj, metadata };
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A JSON merge patch (RFC 7386) that turns `prev` into `next`: what `next`
 * leaves out is set to null, so a field the operator stops writing (a
 * finished wind-down, a cleared pending merge) is removed instead of staying
 * behind. Arrays are replaced whole, as merge patch does.
 */
export const mergePatchFrom = (prev: unknown, next: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) continue;
    const was = isPlainObject(prev) ? prev[k] : undefined;
    out[k] = isPlainObject(v) && isPlainObject(was) ? mergePatchFrom(was, v) : v;
  }
  if (isPlainObject(prev)) for (const k of Object.keys(prev)) if (!(k in out) && prev[k] !== undefined) out[k] = null;
  return out;
};

/** Top-level fields written but missing from what the API server stored: a CRD schema older than the writer pruned them. */
export const prunedFields = (written: Record<string, unknown>, stored: unknown): string[] =>
  Object.entries(written)
    .filter(([k, v]) => v !== undefined && v !== null && !(isPlainObject(stored) && k in stored))
    .map(([k]) => k)
    .sort();
