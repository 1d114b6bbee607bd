/** The planner's public surface: pure functions of observed state. */
export { plan } from './plan.ts';
export { planStorage } from './plan-storage.ts';
export { planTickerplant } from './plan-tickerplant.ts';
export { planGateway } from './plan-gateway.ts';
export { planPools } from './plan-pools.ts';
export { planStatus, stableJson } from './plan-status.ts';
export { planScaleIn, scaleInCandidate } from './plan-scale-in.ts';
export { planScaleOut } from './plan-scale-out.ts';
export { planProtection } from './plan-protection.ts';
export { planReplacements } from './plan-replacements.ts';
export { planCapacity } from './plan-capacity.ts';
export { mergeConditions } from './conditions.ts';
export { ev } from './events.ts';
export { parseProviderId, instanceIdOf } from './provider-id.ts';
export { NODE_ANNOTATIONS, rdbPodName, ordinalOf } from './rdbs.ts';
export type * from './types.ts';
