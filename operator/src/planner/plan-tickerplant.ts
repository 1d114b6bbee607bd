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

/** `stopped`: hibernating (plan-wind-down.ts): the StatefulSet is kept at zero replicas, whatever else changes. */
export const planTickerplant = (o: Observed, stopped = false): TickerplantPlan => {
  const sts = o.tickerplant.statefulSet;
  const exists = sts !== 'missing';
  const ready = exists && sts.ready;
  if (o.cluster.metadata.deletionTimestamp !== undefined) return { actions: [], exists, ready };
  const specChanged =
    o.cluster.metadata.generation !== undefined && o.cluster.status?.observedGeneration !== o.cluster.metadata.generation;
  const replicas = exists ? (sts.replicas ?? 1) : undefined;
  // Stopped or started again, the StatefulSet is written whole: no pod runs the old template through it.
  const update = tickerplantUpdate(o);
  const hold = update.hold && !stopped && replicas !== 0;
  const reason = !exists
    ? 'StatefulSetMissing'
    : !o.tickerplant.service
      ? 'ServiceMissing'
      : stopped && replicas !== 0
        ? 'Hibernating'
        : !stopped && replicas === 0
          ? 'Resuming'
          : update.applyNow
            ? 'TemplateChanged'
            : specChanged
              ? 'SpecChanged'
              : undefined;
  const action: Action | undefined = reason
    ? { kind: 'EnsureTickerplant', reason, ...(stopped ? { replicas: 0 as const } : {}), ...(hold ? { keepStatefulSet: true as const } : {}) }
    : undefined;
  return { actions: action ? [action] : [], exists, ready, ...(update.pending && !stopped ? { pending: update.pending } : {}) };
};
