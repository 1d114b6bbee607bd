import type { Resources } from '../api/kdbcluster.ts';

/**
 * Resources when the spec leaves them out. The merge shares the
 * tickerplant's node group: the tickerplant's requests keep it last in line
 * for eviction under memory pressure, the merge's limit keeps one big day
 * from taking the node's memory.
 */
export const DEFAULT_TICKERPLANT_RESOURCES = { requests: { memory: '1Gi', cpu: '500m' } } as const satisfies Resources;
export const DEFAULT_MERGE_RESOURCES = { requests: { memory: '256Mi', cpu: '100m' }, limits: { memory: '2Gi' } } as const satisfies Resources;
/** The gateway holds one query's parts in memory while it merges them: the row limit bounds that. */
export const DEFAULT_GATEWAY_RESOURCES = { requests: { memory: '256Mi', cpu: '100m' }, limits: { memory: '1Gi' } } as const satisfies Resources;
/** The reference HDB reads a day's partition per query. */
export const DEFAULT_HDB_RESOURCES = { requests: { memory: '256Mi', cpu: '100m' }, limits: { memory: '2Gi' } } as const satisfies Resources;
