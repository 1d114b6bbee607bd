// `kubectl kdb release`: which servers of a deleted or stuck cluster can be
// handed back. Pure: pods, nodes and Auto Scaling groups in, a plan out. An
// instance is released only when every RDB of the cluster on it has written
// its data down; anything it cannot read is refused, never guessed.
import { RdbSummary } from '../../operator/src/api/rdb-status.ts';

export const RDB_STATUS_ANNOTATION = 'kdb-operator.dev/rdb-status';
export const CONDITION_LIVE = 'kdb-operator.dev/Live';
export const CONDITION_DATA_FLUSHED = 'kdb-operator.dev/DataFlushed';

export interface RdbPodView {
  name: string;
  nodeName?: string;
  annotations: Record<string, string>;
  conditions: ReadonlyArray<{ type: string; status: string }>;
}

export interface NodeView {
  name: string;
  providerID?: string;
}

export interface GroupView {
  name: string;
  instances: ReadonlyArray<{ instanceId: string; lifecycleState: string; protectedFromScaleIn: boolean }>;
}

export interface Refusal {
  instanceId: string;
  group: string;
  pod: string;
  reason: string;
}

export interface ReleasePlan {
  /** In order: unprotect (if protected), then terminate with decrement, one at a time. */
  release: Array<{ instanceId: string; group: string; node?: string; protected: boolean }>;
  refused: Refusal[];
  /** Instances left alone and why (already terminating, not protected by the cluster). */
  skipped: Array<{ instanceId: string; group: string; reason: string }>;
  /** RDB pods holding data that are on no instance of the groups: they keep the owner tag too. */
  heldElsewhere: Array<{ pod: string; reason: string }>;
  /** Groups whose owner tag goes once the releases are done: nothing of the cluster is left on them. */
  untag: string[];
}

/** aws:///eu-west-1a/i-0abc -> i-0abc */
export const instanceIdOf = (providerID: string | undefined): string | undefined => {
  const id = providerID?.split('/').pop();
  return id !== undefined && /^i-[0-9a-f]+$/.test(id) ? id : undefined;
};

/** Why this RDB pod may not lose its server, or undefined when it holds nothing unwritten. */
export const holdReason = (pod: RdbPodView): string | undefined => {
  const raw = pod.annotations[RDB_STATUS_ANNOTATION];
  if (raw === undefined) return `no ${RDB_STATUS_ANNOTATION} report: cannot tell what it holds`;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return `${RDB_STATUS_ANNOTATION} is not JSON: cannot tell what it holds`;
  }
  const parsed = RdbSummary.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return `${RDB_STATUS_ANNOTATION} unreadable (${i?.path.join('.') || 'report'}: ${i?.message ?? 'invalid'}): cannot tell what it holds`;
  }
  const rows = parsed.data.rows;
  const cond = (t: string): string | undefined => pod.conditions.find((c) => c.type === t)?.status;
  if (cond(CONDITION_LIVE) === 'True' && rows > 0) return `live and holds ${rows} rows`;
  if (rows > 0) return `holds ${rows} rows not written down`;
  if (cond(CONDITION_DATA_FLUSHED) !== 'True') return `has not reported ${CONDITION_DATA_FLUSHED}=True`;
  return undefined;
};

const TERMINATING = /^Terminat/;

export const planRelease = (input: { pods: readonly RdbPodView[]; nodes: readonly NodeView[]; groups: readonly GroupView[] }): ReleasePlan => {
  const instanceOfNode = new Map(input.nodes.map((n) => [n.name, instanceIdOf(n.providerID)]));
  const nodeOfInstance = new Map<string, string>();
  for (const [node, id] of instanceOfNode) if (id !== undefined) nodeOfInstance.set(id, node);

  const holdsByInstance = new Map<string, Array<{ pod: string; reason: string }>>();
  const held: Array<{ pod: string; instanceId: string | undefined; reason: string }> = [];
  for (const pod of input.pods) {
    const reason = holdReason(pod);
    if (reason === undefined) continue;
    const id = pod.nodeName !== undefined ? instanceOfNode.get(pod.nodeName) : undefined;
    held.push({ pod: pod.name, instanceId: id, reason });
    if (id !== undefined) holdsByInstance.set(id, [...(holdsByInstance.get(id) ?? []), { pod: pod.name, reason }]);
  }

  const plan: ReleasePlan = { release: [], refused: [], skipped: [], heldElsewhere: [], untag: [] };
  const inGroups = new Set<string>();
  for (const g of input.groups) {
    let refusedHere = false;
    for (const i of g.instances) {
      inGroups.add(i.instanceId);
      const holds = holdsByInstance.get(i.instanceId);
      if (holds !== undefined) {
        refusedHere = true;
        for (const h of holds) plan.refused.push({ instanceId: i.instanceId, group: g.name, pod: h.pod, reason: h.reason });
      } else if (TERMINATING.test(i.lifecycleState)) {
        plan.skipped.push({ instanceId: i.instanceId, group: g.name, reason: `already ${i.lifecycleState}` });
      } else if (!i.protectedFromScaleIn) {
        // The operator protects every server it holds; an unprotected one is not the cluster's to hand back.
        plan.skipped.push({ instanceId: i.instanceId, group: g.name, reason: 'not protected from scale-in: not held by the cluster' });
      } else {
        const node = nodeOfInstance.get(i.instanceId);
        plan.release.push({ instanceId: i.instanceId, group: g.name, ...(node !== undefined ? { node } : {}), protected: true });
      }
    }
    if (!refusedHere) plan.untag.push(g.name);
  }
  for (const h of held) {
    if (h.instanceId === undefined || !inGroups.has(h.instanceId)) {
      plan.heldElsewhere.push({ pod: h.pod, reason: h.reason });
    }
  }
  // A pod holding data anywhere means something of the cluster is left: keep every tag so the operator can finish.
  if (plan.heldElsewhere.length > 0) plan.untag = [];
  return plan;
};

export const formatPlan = (plan: ReleasePlan, dryRun: boolean): string[] => {
  const out: string[] = [];
  const verb = dryRun ? 'would' : 'will';
  for (const r of plan.refused) out.push(`refused ${r.instanceId} (${r.group}): pod ${r.pod} ${r.reason}`);
  for (const h of plan.heldElsewhere) out.push(`held: pod ${h.pod} ${h.reason} (on no instance of the cluster's groups)`);
  for (const s of plan.skipped) out.push(`skip ${s.instanceId} (${s.group}): ${s.reason}`);
  for (const r of plan.release) out.push(`${verb} unprotect and terminate ${r.instanceId} (${r.group}${r.node ? `, node ${r.node}` : ''}) with decrement`);
  for (const g of plan.untag) out.push(`${verb} remove tag kdb-operator.dev/owner from ${g}`);
  if (out.length === 0) out.push('nothing to release');
  if (dryRun) out.push('', 'dry run: nothing was changed; run again with --yes to do it');
  return out;
};
