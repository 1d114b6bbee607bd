import type { Action, Observed, ObservedGateway } from './types.ts';

/**
 * The query side (spec.gateway): the gateway, the HDB and the RDBs' headless
 * Service. Enabled, they are (re)applied when one is missing or the spec
 * changed since status last said it was seen (generation), as the
 * tickerplant is; disabled, whatever of them is left is deleted. Never
 * enabled and nothing there: no action. A cluster being deleted takes them
 * with it through their owner references.
 */
export const planGateway = (o: Observed, tickerplantExists: boolean): Action[] => {
  if (o.cluster.metadata.deletionTimestamp !== undefined) return [];
  const seen: ObservedGateway = o.gateway ?? { deployment: false, service: false, hdbDeployment: false, hdbService: false, rdbService: false };
  const present = Object.values(seen);
  if (!o.cluster.spec.gateway.enabled) return present.some(Boolean) ? [{ kind: 'DeleteGateway' }] : [];
  // The HDB mounts the cluster's EFS claim, and the gateway asks the RDBs: after the tickerplant, like the RDBs.
  if (!tickerplantExists) return [];
  const specChanged =
    o.cluster.metadata.generation !== undefined && o.cluster.status?.observedGeneration !== o.cluster.metadata.generation;
  const reason = present.some((p) => !p) ? 'ObjectMissing' : specChanged ? 'SpecChanged' : undefined;
  return reason ? [{ kind: 'EnsureGateway', reason }] : [];
};
