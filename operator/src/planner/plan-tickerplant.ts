import type { PendingChange } from '../api/kdbcluster.ts';
import { tickerplantUpdate } from './plan-updates.ts';
import type { Action, Observed } from './types.ts';

/**
 * The tickerplant is a StatefulSet of one plus its Service. It is (re)applied
 * when something is missing or the spec changed since status last said it
 * was seen (generation), so a steady cluster plans no tickerplant writes.
 * A new pod template waits for a safe moment (plan-updates.ts).
 */
export interface TickerplantPlan {
  actions: Action[];
  exists: boolean;
  ready: boolean;
  /** A template change waiting for a safe moment (plan-updates.ts). */
  pending?: PendingChange;
}

export const planTickerplant = (o: Observed): TickerplantPlan => {
  const sts = o.tickerplant.statefulSet;
  const exists = sts !== 'missing';
  const ready = exists && sts.ready;
  if (o.cluster.metadata.deletionTimestamp !== undefined) return { actions: [], exists, ready };
  const specChanged =
    o.cluster.metadata.generation !== undefined && o.cluster.status?.observedGeneration !== o.cluster.metadata.generation;
  const update = tickerplantUpdate(o);
  const reason = !exists
    ? 'StatefulSetMissing'
    : !o.tickerplant.service
      ? 'ServiceMissing'
      : update.applyNow
        ? 'TemplateChanged'
        : specChanged
          ? 'SpecChanged'
          : undefined;
  const action: Action | undefined = reason ? { kind: 'EnsureTickerplant', reason, ...(update.hold ? { keepStatefulSet: true } : {}) } : undefined;
  return { actions: action ? [action] : [], exists, ready, ...(update.pending ? { pending: update.pending } : {}) };
};
