import type { MergeRecord } from '../api/kdbcluster.ts';
import { ev } from './events.ts';
import { mayStillAdd, poolsServingDay } from './plan-drain.ts';
import { heldData, isActive, isOut, markNodeLoss, scaleInVictims, podHeldData, podWindowOwner, windowOwner } from './rdbs.ts';
import type { Action, ClusterEvent, Observed, ObservedMergeJob, ObservedNode } from './types.ts';

/**
 * End of day, the part the paper left open: each RDB flushed its slice of
 * the day to the staging area; one merge Job makes the slices the HDB day
 * partition. The Job starts only once no RDB can still add to that day:
 * every RDB of every pool has reported that it flushed the day, or that it
 * already holds a later day, and nothing holding the day was lost without a
 * replacement having flushed it. A day merged from fewer slices than exist
 * would be a silent hole in the HDB that no later slice fills (a merged day
 * is never merged again); a day merged late is only late.
 *
 * One merge at a time, days in order. The merge is idempotent (a day with its
 * .complete marker is left alone), so creating the Job again after a crash,
 * or after someone deleted it, is safe.
 */
export interface MergePlan {
  actions: Action[];
  events: ClusterEvent[];
  record: MergeRecord | undefined;
  mergedDay: string | undefined;
  /** Why the next day is not merged yet, naming what it waits for (status.mergePending). */
  pending: string | undefined;
}

const MAX_JOB_NAME = 63;

/** FNV-1a, for a short stable suffix: pure, no crypto needed for a name. */
const fnv1a = (s: string): string => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
};

/**
 * `<cluster>-merge-<day>`. The Job controller copies the name into a label,
 * which holds 63 characters at most: a long cluster name is cut and made
 * unique again with a hash of the whole name.
 */
export const mergeJobName = (cluster: string, day: string): string => {
  const suffix = `-merge-${day}`;
  if (cluster.length + suffix.length <= MAX_JOB_NAME) return `${cluster}${suffix}`;
  const keep = MAX_JOB_NAME - suffix.length - 9;
  return `${cluster.slice(0, keep).replace(/-+$/, '')}-${fnv1a(cluster)}${suffix}`;
};

/**
 * The first reason `day` cannot be merged yet, or undefined when every slice is in.
 * An RDB out of the pool (failed, Terminating, on a lost node, or vanished)
 * that held data counts through its replacement: until an active pod
 * replays its window, the day waits; then the replacement itself must have
 * flushed it. A lost RDB's own last word is never taken as its slice.
 */
export const mergeBlocker = (o: Observed, day: string): string | undefined => {
  const nodes = new Map<string, ObservedNode>();
  for (const pool of Object.values(o.pools)) for (const n of pool.nodes) nodes.set(n.name, n);
  // A pool removed from the spec still owes the days it served (plan-drain.ts).
  for (const name of poolsServingDay(o, day)) {
    const pool = o.pools[name];
    if (!pool) return `pool ${name} not observed yet`;
    const prev = o.cluster.status?.pools.find((p) => p.name === name);
    const victims = scaleInVictims(prev);
    const pods = markNodeLoss(pool.pods, nodes);
    const replayedBy = new Set(pods.filter((p) => isActive(p) && p.replaces !== undefined).map((p) => p.replaces));
    for (const p of pods) {
      if (!mayStillAdd(p, day)) continue;
      if (isActive(p)) return `RDB ${p.name} has not flushed ${day}`;
      // A scale-in victim flushed before it was deleted; one that holds nothing lost nothing.
      if (!isOut(p, victims) || !podHeldData(p) || replayedBy.has(podWindowOwner(p))) continue;
      return `RDB ${p.name} was lost and its window is not replayed yet`;
    }
    const observed = new Set(pods.map((p) => p.name));
    for (const e of prev?.rdbs ?? []) {
      if (observed.has(e.name) || victims.has(e.name) || !heldData(e) || replayedBy.has(windowOwner(e))) continue;
      return `RDB ${e.name} was lost and its window is not replayed yet`;
    }
  }
  return undefined;
};

/** Days some RDB flushed, oldest first. */
const flushedDays = (o: Observed): string[] => {
  const days = new Set<string>();
  for (const pool of Object.values(o.pools)) for (const p of pool.pods) for (const d of p.rdb?.flushedDays ?? []) days.add(d);
  return [...days].sort();
};

const jobFor = (o: Observed, name: string): ObservedMergeJob | undefined => o.mergeJobs.find((j) => j.name === name);

/** `allowed` false: a deletion that drops its RDBs' data (write-down skipped) merges nothing more. */
export const planMerge = (o: Observed, allowed = true): MergePlan => {
  const prev = o.cluster.status?.merge;
  const mergedDay = o.cluster.status?.mergedDay;
  const cluster = o.cluster.metadata.name;
  const now = o.now.toISOString();
  const deleting = o.cluster.metadata.deletionTimestamp !== undefined;
  const keep: MergePlan = { actions: [], events: [], record: prev, mergedDay, pending: undefined };
  if (deleting && !allowed) return keep;

  if (prev && prev.phase !== 'Succeeded') {
    const job = jobFor(o, prev.job);
    if (job?.phase === 'Succeeded') {
      return { ...keep, record: { ...prev, phase: 'Succeeded', finishedAt: now }, mergedDay: prev.day, events: [ev.dayMerged(prev.day, prev.job)] };
    }
    if (job?.phase === 'Failed') {
      if (prev.phase === 'Failed') return keep;
      return { ...keep, record: { ...prev, phase: 'Failed', finishedAt: now }, events: [ev.mergeFailed(prev.day, prev.job)] };
    }
    if (job) return keep;
    // The Job is gone before it finished (deleted to retry, or never made
    // before a crash): make it again. The merge itself is idempotent.
    return {
      ...keep,
      actions: [{ kind: 'EnsureMergeJob', day: prev.day, job: prev.job }],
      record: { day: prev.day, job: prev.job, phase: 'Running', startedAt: now },
      events: [ev.mergeStarted(prev.day, prev.job)],
    };
  }

  if (!o.cluster.spec.merge.enabled) return keep;
  // After a recorded merge, the days after it in order; with none recorded,
  // only the newest: older days were there before this operator took charge.
  const all = flushedDays(o);
  const after = prev?.day ?? mergedDay;
  const candidates = after !== undefined ? all.filter((d) => d > after) : all.slice(-1);
  const day = candidates[0];
  if (day === undefined) return keep;
  const blocker = mergeBlocker(o, day);
  if (blocker) return { ...keep, pending: `${day}: ${blocker}` };
  const name = mergeJobName(cluster, day);
  const existing = jobFor(o, name);
  if (existing?.phase === 'Succeeded') {
    return { ...keep, record: { day, job: name, phase: 'Succeeded', startedAt: now, finishedAt: now }, mergedDay: day, events: [ev.dayMerged(day, name)] };
  }
  return {
    ...keep,
    actions: existing ? [] : [{ kind: 'EnsureMergeJob', day, job: name }],
    record: { day, job: name, phase: existing?.phase === 'Failed' ? 'Failed' : 'Running', startedAt: now },
    events: [existing?.phase === 'Failed' ? ev.mergeFailed(day, name) : ev.mergeStarted(day, name)],
  };
};
