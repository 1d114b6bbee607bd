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

export const planTickerplant = (o: Observed): TickerplantPlan => {
  const sts = o.tickerplant.statefulSet;
  const exists = sts !== 'missing';
  const ready = exists && sts.ready;
  if (o.cluster.metadata.deletionTimestamp !== undefined) return { actions: [], exists, ready };
  const specChanged =
    o.cluster.metadata.generation !== undefined && o.cluster.status?.observedGeneration !== o.cluster.metadata.generation;
  const reason = !exists ? 'StatefulSetMissing' : !o.tickerplant.service ? 'ServiceMissing' : specChanged ? 'SpecChanged' : undefined;
  return { actions: reason ? [{ kind: 'EnsureTickerplant', reason }] : [], exists, ready };
};
