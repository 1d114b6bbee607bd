import type { KdbCluster } from '../api/kdbcluster.ts';
import type { ObservedAsg, ObservedPool } from './types.ts';

/**
 * One node group, one owner. A KdbCluster counts its own pods to size its
 * group and to choose a victim for scale-in: a second cluster on the same
 * group would see the other's servers as spare and terminate them. So the
 * operator claims a group (a tag on the ASG) before it changes anything of
 * it, and a cluster that finds another's claim keeps off the group entirely.
 */
export type NodeGroupAccess =
  /** Claimed by this cluster: scale, protect, terminate. */
  | { kind: 'ours'; asg: ObservedAsg }
  /** Nobody's yet: claim it now, act on it from the next pass (the claim is read back first). */
  | { kind: 'unclaimed'; asg: ObservedAsg }
  | { kind: 'ownedByAnother'; asg: ObservedAsg; owner: string }
  /** No group, or several: we never guess which one to scale. */
  | { kind: 'unresolved'; message: string }
  /** AWS did not answer. */
  | { kind: 'unknown' };

/** The claim's value: who to ask, readable in the AWS console. */
export const nodeGroupOwner = (c: Pick<KdbCluster, 'metadata'>): string => `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;

export const nodeGroupAccess = (obs: ObservedPool, owner: string, nodeGroup: string): NodeGroupAccess => {
  if (obs.asg === 'unknown') return { kind: 'unknown' };
  if (obs.asg === 'missing') return { kind: 'unresolved', message: unresolvedMessage(obs, nodeGroup) };
  const claimedBy = obs.asg.owner;
  if (claimedBy === undefined || claimedBy === '') return { kind: 'unclaimed', asg: obs.asg };
  if (claimedBy === owner) return { kind: 'ours', asg: obs.asg };
  return { kind: 'ownedByAnother', asg: obs.asg, owner: claimedBy };
};

const unresolvedMessage = (obs: ObservedPool, nodeGroup: string): string => {
  const l = obs.asgLookup;
  if (l === undefined) return `no ASG for node group ${nodeGroup}`;
  if (l.problem !== undefined) return l.problem;
  if (l.matches.length === 0) return `no ASG matches ${l.query}`;
  return `${l.matches.length} ASGs match ${l.query} (${l.matches.join(', ')}): name the pool's group in rdbPools[].autoScalingGroupName`;
};
