import type { ScaleInRecord } from '../api/kdbcluster.ts';
import type { PoolContext } from './context.ts';
import { isFailed, NODE_ANNOTATIONS } from './rdbs.ts';
import type { Action } from './types.ts';

/**
 * Keep AWS and node autoscalers from choosing an RDB server to remove:
 * - the group protects new instances at launch and does not rebalance zones
 *   (rebalancing terminates an instance AWS picks);
 * - every instance hosting an RDB pod carries scale-in protection, and its
 *   node the cluster-autoscaler and Karpenter opt-outs.
 * Protection is only ever added here; it comes off only in the scale-in
 * chain, for the instances its records name.
 */
export const planProtection = (ctx: PoolContext, scaleIns: readonly ScaleInRecord[]): Action[] => {
  const actions: Action[] = [];
  const asg = ctx.asg;
  if (asg && !ctx.deleting) {
    if (!asg.newInstancesProtectedFromScaleIn) actions.push({ kind: 'ProtectNewInstances', group: asg.name });
    if (ctx.spec.suspendAZRebalance && !asg.suspendedProcesses.includes('AZRebalance')) {
      actions.push({ kind: 'SuspendAZRebalance', group: asg.name });
    }
  }

  const releasing = new Set(scaleIns.filter((r) => r.step === 'Unprotect' || r.step === 'Terminate').map((r) => r.instanceId));
  const hostNodes = new Set<string>();
  for (const p of ctx.obs.pods) if (p.node !== undefined && !isFailed(p)) hostNodes.add(p.node);

  const toProtect: string[] = [];
  const toAnnotate: string[] = [];
  for (const name of [...hostNodes].sort()) {
    const node = ctx.nodes.get(name);
    if (!node) continue;
    if (Object.entries(NODE_ANNOTATIONS).some(([k, v]) => node.annotations[k] !== v)) toAnnotate.push(name);
    const inst = asg?.instances.find((i) => i.instanceId === node.instanceId);
    if (inst && !inst.protectedFromScaleIn && !releasing.has(inst.instanceId)) toProtect.push(inst.instanceId);
  }
  if (asg && toProtect.length > 0) {
    actions.push({ kind: 'SetInstanceProtection', group: asg.name, instanceIds: toProtect, protect: true });
  }
  for (const node of toAnnotate) actions.push({ kind: 'AnnotateNode', node, annotations: { ...NODE_ANNOTATIONS } });
  return actions;
};
