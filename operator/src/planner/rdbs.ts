import { scaleInsOf } from '../api/kdbcluster.ts';
import type { PoolStatus, RdbPhase, RdbStatusEntry } from '../api/kdbcluster.ts';
import type { ObservedNode, ObservedRdbPod } from './types.ts';

/**
 * What an RDB pod is, read from what was observed. The operator never asks an
 * RDB; it reads the agent's report on the pod. Where the report is missing
 * the answer leans to the safe side: an RDB that has not said it flushed may
 * hold data.
 */

/** Keep cluster-autoscaler and Karpenter off nodes that host an RDB. */
export const NODE_ANNOTATIONS: Readonly<Record<string, string>> = {
  'cluster-autoscaler.kubernetes.io/scale-down-disabled': 'true',
  'karpenter.sh/do-not-disrupt': 'true',
};

/** Same form as specs/names.ts rdbPodName (a unit test holds them together). */
export const rdbPodName = (cluster: string, pool: string, ordinal: number): string => `${cluster}-${pool}-rdb-${ordinal}`;

export const ordinalOf = (cluster: string, pool: string, name: string): number | undefined => {
  const prefix = `${cluster}-${pool}-rdb-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
};

export const isDeleting = (p: ObservedRdbPod): boolean => p.deletionTimestamp !== undefined;

/** An RDB process never exits on its own: a finished pod has lost whatever it held. */
export const isFailed = (p: ObservedRdbPod): boolean => p.phase === 'Failed' || p.phase === 'Succeeded';

/** Counts toward the pool: not on its way out, and on a node that answers. */
export const isActive = (p: ObservedRdbPod): boolean => !isDeleting(p) && !isFailed(p) && p.nodeLost !== true;

/**
 * Bound to a node that is NotReady, unreachable (Ready Unknown) or gone: the
 * node controller has already given it the grace it gives every node, so
 * the pod is treated as gone too, whatever it last reported.
 */
export const onLostNode = (p: ObservedRdbPod, nodes: ReadonlyMap<string, ObservedNode>): boolean =>
  p.node !== undefined && nodes.get(p.node)?.ready !== true;

/** The pods with nodeLost set from the nodes seen (see ObservedRdbPod.nodeLost). */
export const markNodeLoss = (pods: readonly ObservedRdbPod[], nodes: ReadonlyMap<string, ObservedNode>): ObservedRdbPod[] =>
  pods.map((p) => (onLostNode(p, nodes) ? { ...p, nodeLost: true } : p));

/** The RDBs the pool's scale-in chains remove (flushed, deleted on purpose). */
export const scaleInVictims = (ps: PoolStatus | undefined): Set<string> =>
  new Set(scaleInsOf(ps).flatMap((r) => (r.rdb !== undefined ? [r.rdb] : [])));

/**
 * Out of the pool but still there: failed, on a lost node, or deleted by
 * someone other than the scale-in chains (`victims`, their own flushed RDBs).
 */
export const isOut = (p: ObservedRdbPod, victims: ReadonlySet<string>): boolean =>
  isFailed(p) || p.nodeLost === true || (isDeleting(p) && !victims.has(p.name));

/**
 * Takes a node while it exists: an active pod (bound or waiting), and any
 * other pod still bound to one (failed, Terminating, on a NotReady node),
 * except a scale-in victim on its way out, whose instance goes with it.
 */
export const needsNode = (p: ObservedRdbPod, victims: ReadonlySet<string>): boolean =>
  !(isDeleting(p) && victims.has(p.name)) && (isActive(p) || p.node !== undefined);

export const isLive = (p: ObservedRdbPod): boolean => p.rdb?.live === true || p.rdb?.state === 'live';

/** A pod that will take over when the live RDB rolls: queued, or not yet far enough to say. Replacements never take over. */
export const isWaiting = (p: ObservedRdbPod): boolean =>
  isActive(p) && p.replaces === undefined && (p.node === undefined || p.rdb === undefined || p.rdb.state === 'queued');

/**
 * Becoming live right now (replaying the log up to the tickerplant's count),
 * or at end of day (flushing: the live RDB flushes, then goes on live for the
 * next day; a new RDB must not be started for the moment it is not 'live').
 */
export const isTakingOver = (p: ObservedRdbPod): boolean =>
  isActive(p) && p.replaces === undefined && (p.rdb?.state === 'replaying' || p.rdb?.state === 'flushing');

/** The only pods whose instance may ever be terminated: not live, and everything they held is flushed. */
export const isFlushedSpare = (p: ObservedRdbPod): boolean =>
  p.rdb !== undefined && !isLive(p) && p.rdb.dataFlushed && p.rdb.state === 'flushed';

/** Conservative: anything that has not reported DataFlushed (or is live) may hold data. */
export const mayHoldData = (p: ObservedRdbPod): boolean => !(p.rdb?.dataFlushed === true && !isLive(p));

/** The state shown in status: the data plane's word when there is one, else what only the operator knows. */
export const rdbPhaseOf = (p: ObservedRdbPod): RdbPhase => {
  if ((isFailed(p) || p.nodeLost === true) && podHeldData(p)) return 'lost';
  if (p.rdb) return p.rdb.state;
  if (isDeleting(p)) return 'deleting';
  if (p.node === undefined) return 'waitingForNode';
  return 'starting';
};

const DATA_STATES: ReadonlySet<RdbPhase> = new Set<RdbPhase>(['replaying', 'live', 'rolled', 'flushing', 'lost']);
const DONE_STATES: ReadonlySet<RdbPhase> = new Set<RdbPhase>(['rolled', 'flushing', 'flushed']);

/**
 * Whether an RDB last seen as `entry` took data with it when it vanished.
 * A replacement owes its window from the moment it exists, until it has
 * replayed it (rolled) or flushed it.
 */
export const heldData = (entry: RdbStatusEntry): boolean =>
  DATA_STATES.has(entry.state) || (entry.replaces !== undefined && !DONE_STATES.has(entry.state));

/** A replacement that has not yet replayed (rolled) or flushed the lost RDB's window: it still owes it. */
export const owesWindow = (p: ObservedRdbPod): boolean =>
  p.replaces !== undefined && !(p.rdb !== undefined && DONE_STATES.has(p.rdb.state));

/** heldData for a pod still observed (a failed one, typically). */
export const podHeldData = (p: ObservedRdbPod): boolean => (p.rdb !== undefined && DATA_STATES.has(p.rdb.state)) || owesWindow(p);

export const podWindowOwner = (p: ObservedRdbPod): string => (owesWindow(p) && p.replaces !== undefined ? p.replaces : p.name);

/** Whose window a replacement for `entry` replays: a replacement that had not finished replaying passes on its own debt. */
export const windowOwner = (entry: RdbStatusEntry): string =>
  entry.replaces !== undefined && !DONE_STATES.has(entry.state) ? entry.replaces : entry.name;

export const nodeIndex = (nodes: readonly ObservedNode[]): Map<string, ObservedNode> => new Map(nodes.map((n) => [n.name, n]));

export const byOrdinal =
  (cluster: string, pool: string) =>
  (a: { name: string }, b: { name: string }): number =>
    (ordinalOf(cluster, pool, a.name) ?? Number.MAX_SAFE_INTEGER) - (ordinalOf(cluster, pool, b.name) ?? Number.MAX_SAFE_INTEGER) ||
    a.name.localeCompare(b.name);
