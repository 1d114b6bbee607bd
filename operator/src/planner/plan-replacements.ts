import type { OrdinalCounter, PoolContext } from './context.ts';
import { ev } from './events.ts';
import { heldData, isActive, isDeleting, isFailed, podHeldData, podWindowOwner, rdbPodName, windowOwner } from './rdbs.ts';
import type { Action, ClusterEvent, LostRdb } from './types.ts';

/**
 * A lost RDB (its pod failed, or pod or node vanished, while it held data
 * that was not flushed) gets a replacement pod that replays exactly the lost
 * window: `replaces` names the window's owner in the tickerplant's
 * subscriber table. What vanished is known from the last status written, so
 * a loss seen by no reconcile but remembered in status is still replaced.
 */
export interface ReplacementPlan {
  actions: Action[];
  events: ClusterEvent[];
  /** Lost RDBs not yet covered by an observed replacement (kept in status as 'lost'). */
  lost: LostRdb[];
  created: string[];
}

export const planReplacements = (ctx: PoolContext, ordinals: OrdinalCounter): ReplacementPlan => {
  const pool = ctx.spec.name;
  const observed = new Set(ctx.obs.pods.map((p) => p.name));
  // A window is covered while a live (not failed, not deleting) pod replays or holds it.
  const covered = new Set(ctx.obs.pods.filter((p) => isActive(p) && p.replaces !== undefined).map((p) => p.replaces));
  const victim = ctx.prev?.scaleIn?.rdb;

  const actions: Action[] = [];
  const candidates: LostRdb[] = [];

  for (const p of ctx.obs.pods) {
    if (!isFailed(p) || !podHeldData(p)) continue;
    if (!isDeleting(p)) actions.push({ kind: 'DeleteRdbPod', pool, pod: p.name, reason: 'Lost' });
    candidates.push({
      name: p.name,
      replaces: podWindowOwner(p),
      ...(p.rdb?.window ? { firstI: p.rdb.window.firstI } : {}),
      ...(p.rdb?.window?.lastI != null ? { lastI: p.rdb.window.lastI } : {}),
    });
  }
  for (const e of ctx.prev?.rdbs ?? []) {
    // The scale-in victim was flushed before it was deleted: gone on purpose.
    if (observed.has(e.name) || e.name === victim || !heldData(e)) continue;
    candidates.push({
      name: e.name,
      replaces: windowOwner(e),
      ...(e.firstI !== undefined ? { firstI: e.firstI } : {}),
      ...(e.lastI !== undefined ? { lastI: e.lastI } : {}),
    });
  }

  const events: ClusterEvent[] = [];
  const created: string[] = [];
  const lost: LostRdb[] = [];
  const owners = new Set<string>();
  for (const c of candidates) {
    if (covered.has(c.replaces) || owners.has(c.replaces)) continue;
    owners.add(c.replaces);
    if (!ctx.allowCreate) {
      lost.push(c);
      continue;
    }
    const ordinal = ordinals.take();
    const name = rdbPodName(ctx.cluster, pool, ordinal);
    actions.push({ kind: 'EnsureRdbPod', pool, name, ordinal, replaces: c.replaces });
    const window = `(${c.firstI ?? '?'}, ${c.lastI ?? 'open'}]`;
    events.push(ev.rdbLost(pool, c.name, name, window));
    created.push(name);
    lost.push({ ...c, replacement: name });
  }
  return { actions, events, lost, created };
};
