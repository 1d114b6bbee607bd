import type { Action, ActionOf } from '../../planner/types.ts';

/**
 * The steps that follow a batch of scale-in records, split into one lane per
 * chain (status.pools[].scaleIns) so the effector can run the chains side by
 * side: end of day hands back every flushed server at once, not one call
 * after another. Within a lane the plan's order holds (cordon before delete,
 * unprotect before terminate). The lanes end at the first action that names
 * no chain of the batch; that one and the rest run in plan order as before.
 *
 * An action belongs to a chain by the names its record carries: the
 * instance, its node, its RDB pod.
 */
export interface Lanes {
  lanes: Action[][];
  /** How many of the actions after the batch the lanes took. */
  taken: number;
}

const keyOf = (a: Action): string | undefined => {
  switch (a.kind) {
    case 'CordonNode':
    case 'UncordonNode':
      return `node:${a.node}`;
    case 'DeleteRdbPod':
      return a.reason === 'ScaleIn' ? `pod:${a.pool}/${a.pod}` : undefined;
    case 'SetInstanceProtection':
      return a.instanceIds.length === 1 ? `instance:${a.instanceIds[0]}` : undefined;
    case 'TerminateInstanceInGroup':
      return `instance:${a.instanceId}`;
    default:
      return undefined;
  }
};

export const scaleInLanes = (batch: readonly ActionOf<'RecordScaleInStep'>[], after: readonly Action[]): Lanes => {
  const chainOf = new Map<string, string>();
  for (const r of batch) {
    const chain = `${r.pool}/${r.instanceId}`;
    chainOf.set(`instance:${r.instanceId}`, chain);
    if (r.record?.node !== undefined) chainOf.set(`node:${r.record.node}`, chain);
    if (r.record?.rdb !== undefined) chainOf.set(`pod:${r.pool}/${r.record.rdb}`, chain);
  }
  const lanes = new Map<string, Action[]>();
  let taken = 0;
  for (const a of after) {
    const key = keyOf(a);
    const chain = key !== undefined ? chainOf.get(key) : undefined;
    if (chain === undefined) break;
    let lane = lanes.get(chain);
    if (!lane) lanes.set(chain, (lane = []));
    lane.push(a);
    taken++;
  }
  return { lanes: [...lanes.values()], taken };
};
