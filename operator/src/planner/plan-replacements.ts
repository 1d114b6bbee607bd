import type { OrdinalCounter, PoolContext } from './context.ts';
import { ev } from './events.ts';
import { heldData, isActive, isDeleting, isFailed, isOut, owesWindow, podHeldData, podWindowOwner, rdbPodName, scaleInVictims, windowOwner } from './rdbs.ts';
import type { RdbStatusEntry } from '../api/kdbcluster.ts';
import type { Action, ClusterEvent, LostRdb, ObservedRdbPod } from './types.ts';

/**
 * Lost means lost. An RDB is lost when it held data that was not flushed and
 * its pod failed (rdb or agent container, or the pod), sits Terminating
 * without the scale-in chain having deleted it, is on a NotReady,
 * unreachable or vanished node, or is gone. It gets a replacement pod that
 * replays exactly the lost window: `replaces` names the window's owner in
 * the tickerplant's subscriber table. What vanished is known from the last
 * status written, so a loss seen by no reconcile but remembered in status is
 * still replaced.
 *
 * Every failed pod and every pod on a lost node is deleted, holding data or
 * not: it takes a node for nothing (plan-capacity counts it while it exists).
 * A lost RDB's instance is never terminated for it: its node keeps the
 * pod bound (and protected) until the node comes back and the kubelet ends
 * it, or the node object goes and the pod with it, or a human force-deletes
 * it; only then is the instance idle, and reclaimed (see idle-instances.ts)
 * after the node is checked empty. Its process may meanwhile still flush
 * its slice: the replacement flushes the same window, which the merge takes
 * once per pool.
 */
export interface ReplacementPlan {
  actions: Action[];
  events: ClusterEvent[];
  /** Lost windows not yet replayed: no replacement seen, or one that still owes them (kept in status as 'lost'; Degraded). */
  lost: LostRdb[];
  /** Lost pods still observed whose window a replacement already holds: status shows them 'deleting', and forgets them once gone. */
  replayed: string[];
  created: string[];
}

const fromPod = (p: ObservedRdbPod): LostRdb => ({
  name: p.name,
  replaces: podWindowOwner(p),
  ...(p.rdb?.window ? { firstI: p.rdb.window.firstI } : {}),
  ...(p.rdb?.window?.lastI != null ? { lastI: p.rdb.window.lastI } : {}),
  // A replacement that has not reported owes the window of the day it was asked for.
  ...((p.rdb?.day ?? (owesWindow(p) ? p.replacesDay : undefined)) !== undefined ? { day: (p.rdb?.day ?? p.replacesDay)! } : {}),
});

/**
 * What a vanished pod may have held, from status, which can be old: the pod
 * may have changed after the last status write (a leader killed, the next one
 * not elected for a lease's length), and a queued or starting RDB may have
 * gone live and taken messages meanwhile. Its replacement asks the
 * tickerplant, which knows: it hands over the window, or an empty one that the
 * replacement flushes at once. Only what the operator saw end (a failed pod
 * holding nothing is remembered as 'deleting') or finish is trusted.
 */
const mayHaveHeld = (e: RdbStatusEntry): boolean => heldData(e) || e.state === 'queued' || e.state === 'starting';

export const planReplacements = (ctx: PoolContext, ordinals: OrdinalCounter): ReplacementPlan => {
  const pool = ctx.spec.name;
  const observed = new Set(ctx.obs.pods.map((p) => p.name));
  // A window is covered while an active pod (not failed, deleting or on a lost node) replays or holds it.
  const coveredBy = new Map<string, ObservedRdbPod>();
  for (const p of ctx.obs.pods) if (isActive(p) && p.replaces !== undefined) coveredBy.set(p.replaces, p);
  const victims = scaleInVictims(ctx.prev);
  // A window a replacement finished replaying is that replacement's now: the
  // lost pod it came from (observed until podgc removes it, or remembered in
  // status) is no candidate any more, even once the replacement is lost too
  // (it is then a candidate itself, under its own name). Else a second
  // replacement of the same window is made, which the tickerplant refuses.
  const takenOver = new Set<string>();
  for (const p of ctx.obs.pods) if (p.replaces !== undefined && !owesWindow(p)) takenOver.add(p.replaces);
  for (const e of ctx.prev?.rdbs ?? []) if (e.replaces !== undefined && windowOwner(e) === e.name) takenOver.add(e.replaces);
  // Status keeps that too, for as long as the pod is observed: a lost pod once
  // shown 'deleting' had its window replayed, whatever became of the replacement.
  for (const e of ctx.prev?.rdbs ?? []) if (e.state === 'deleting' && observed.has(e.name)) takenOver.add(e.name);

  const actions: Action[] = [];
  const candidates: LostRdb[] = [];

  for (const p of ctx.obs.pods) {
    // While the cluster is deleted its pods go on purpose.
    if (!isOut(p, ctx.deleting ? new Set([p.name]) : victims)) continue;
    const holds = podHeldData(p);
    if (!isDeleting(p) && (isFailed(p) || p.nodeLost === true)) {
      actions.push({ kind: 'DeleteRdbPod', pool, pod: p.name, reason: holds ? 'Lost' : 'Failed' });
    }
    if (holds) candidates.push(fromPod(p));
  }
  for (const e of ctx.prev?.rdbs ?? []) {
    // A scale-in victim was flushed before it was deleted: gone on purpose.
    if (observed.has(e.name) || victims.has(e.name) || !mayHaveHeld(e)) continue;
    candidates.push({
      name: e.name,
      replaces: windowOwner(e),
      ...(e.firstI !== undefined ? { firstI: e.firstI } : {}),
      ...(e.lastI !== undefined ? { lastI: e.lastI } : {}),
      ...(e.day !== undefined ? { day: e.day } : {}),
    });
  }

  const events: ClusterEvent[] = [];
  const created: string[] = [];
  const lost: LostRdb[] = [];
  const replayed: string[] = [];
  const owners = new Set<string>();
  for (const c of candidates) {
    if (takenOver.has(c.replaces)) {
      if (observed.has(c.name)) replayed.push(c.name);
      continue;
    }
    const by = coveredBy.get(c.replaces);
    if (by) {
      if (owesWindow(by)) lost.push({ ...c, replacement: by.name });
      else if (observed.has(c.name)) replayed.push(c.name);
      continue;
    }
    if (owners.has(c.replaces)) continue;
    owners.add(c.replaces);
    if (!ctx.allowCreate) {
      lost.push(c);
      continue;
    }
    const ordinal = ordinals.take();
    const name = rdbPodName(ctx.cluster, pool, ordinal);
    actions.push({ kind: 'EnsureRdbPod', pool, name, ordinal, replaces: c.replaces, ...(c.day !== undefined ? { replacesDay: c.day } : {}) });
    const window = `(${c.firstI ?? '?'}, ${c.lastI ?? 'open'}]`;
    events.push(ev.rdbLost(pool, c.name, name, window));
    created.push(name);
    lost.push({ ...c, replacement: name });
  }
  return { actions, events, lost, replayed, created };
};
