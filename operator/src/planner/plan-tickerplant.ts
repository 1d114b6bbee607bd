import type { Action, Observed } from './types.ts';

/**
 * The tickerplant is a StatefulSet of one plus its Service. It is (re)applied
 * when something is missing or the spec changed since status last said it
 * was seen (generation), so a steady cluster plans no tickerplant writes.
 */
export interface TickerplantPlan {
  actions: Action[];
  exists: boolean;
  ready: boolean;
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
  const reason = !exists
    ? 'StatefulSetMissing'
    : !o.tickerplant.service
      ? 'ServiceMissing'
      : stopped && replicas !== 0
        ? 'Hibernating'
        : !stopped && replicas === 0
          ? 'Resuming'
          : specChanged
            ? 'SpecChanged'
            : undefined;
  return { actions: reason ? [{ kind: 'EnsureTickerplant', reason, ...(stopped ? { replicas: 0 as const } : {}) }] : [], exists, ready };
};
