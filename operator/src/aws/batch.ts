// Batching helpers. AWS list-style calls cap the ids per request
// (DescribeAutoScalingGroups 100 names, DescribeAutoScalingInstances and
// SetInstanceProtection 50 ids), and an EMPTY id list means "everything" to
// several of them, so callers must never send one.

export const ASG_NAMES_PER_CALL = 100;
export const ASG_INSTANCES_PER_CALL = 50;

/** Order-preserving de-duplication. */
export const unique = <T>(items: Iterable<T>): T[] => [...new Set(items)];

/** Split into consecutive chunks of at most `size` items; [] for no items. */
export const chunk = <T>(items: readonly T[], size: number): T[][] => {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/**
 * Run `fn` once per chunk of the de-duplicated ids, one chunk at a time
 * (sequential on purpose: parallel bursts are what get us throttled), and
 * concatenate the results. Makes no call for an empty list.
 */
export const inChunks = async <T, R>(ids: Iterable<T>, size: number, fn: (batch: T[]) => Promise<R[]>): Promise<R[]> => {
  const out: R[] = [];
  for (const batch of chunk(unique(ids), size)) out.push(...(await fn(batch)));
  return out;
};

/** Follow a NextToken-style pagination to the end. */
export const allPages = async <P>(
  fetchPage: (token: string | undefined) => Promise<P>,
  nextToken: (page: P) => string | undefined,
  maxPages = 1000,
): Promise<P[]> => {
  const pages: P[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    pages.push(page);
    const next = nextToken(page);
    // A token that does not move would loop forever; treat it as the end.
    token = next !== undefined && next !== '' && next !== token ? next : undefined;
  } while (token !== undefined && pages.length < maxPages);
  return pages;
};
