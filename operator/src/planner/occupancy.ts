/**
 * Terminating an instance kills every pod on its node. Before any terminate
 * the node must hold nothing but the node's own agents (DaemonSet and static
 * pods, which exist on every node and die with it) and pods that already
 * finished: not another KdbCluster's RDB, not a user's pod that landed there.
 */
export interface PodOnNode {
  namespace: string;
  name: string;
  /** status.phase; absent when not reported yet (counts as running). */
  phase?: string;
  /** Kind of the controlling owner reference, e.g. DaemonSet. */
  controllerKind?: string;
  /** A static pod's mirror (kubernetes.io/config.mirror annotation). */
  mirror?: boolean;
}

const FINISHED = new Set(['Succeeded', 'Failed']);

/** Would this pod die with its node, and is it someone's workload? */
export const blocksTermination = (p: PodOnNode): boolean =>
  !FINISHED.has(p.phase ?? '') && p.controllerKind !== 'DaemonSet' && p.mirror !== true;

/** "namespace/name" of every pod that forbids terminating the node, the victim itself excepted; sorted. */
export const podsBlockingTermination = (pods: readonly PodOnNode[], victim?: { namespace: string; name: string }): string[] =>
  pods
    .filter((p) => !(victim !== undefined && p.namespace === victim.namespace && p.name === victim.name))
    .filter(blocksTermination)
    .map((p) => `${p.namespace}/${p.name}`)
    .sort();
