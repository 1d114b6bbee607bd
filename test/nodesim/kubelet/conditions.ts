// The pod conditions the kubelet owns, with lastTransitionTime kept across
// writes. Conditions owned by others (readiness gates such as
// kdb-operator.dev/Live) are read, never written.
import type { V1Pod, V1PodCondition } from '@kubernetes/client-node';

export interface OwnConditions {
  initialized: boolean;
  containersReady: boolean;
  sandboxReady: boolean;
  terminal: boolean;
  reasonNotReady?: string;
}

const str = (t: unknown): string | undefined => (t instanceof Date ? t.toISOString() : (t as string | undefined));

export class ConditionClock {
  private readonly since = new Map<string, { status: string; at: string }>();

  constructor(pod: V1Pod) {
    for (const c of pod.status?.conditions ?? []) {
      const at = str(c.lastTransitionTime);
      if (at) this.since.set(c.type, { status: c.status, at });
    }
  }

  private cond(type: string, ok: boolean, reason?: string, message?: string): V1PodCondition {
    const status = ok ? 'True' : 'False';
    let s = this.since.get(type);
    if (!s || s.status !== status) {
      s = { status, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
      this.since.set(type, s);
    }
    // Explicit nulls: a strategic merge patch keeps fields it is not told to remove.
    const c: Record<string, unknown> = {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: s.at,
      reason: !ok && reason ? reason : null,
      message: !ok && message ? message : null,
    };
    return c as unknown as V1PodCondition;
  }

  /** Ready needs every readiness gate True in the pod's current conditions. */
  build(pod: V1Pod, own: OwnConditions): V1PodCondition[] {
    const current = pod.status?.conditions ?? [];
    const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
    const missingGates = gates.filter((g) => !current.some((c) => c.type === g && c.status === 'True'));
    const out: V1PodCondition[] = [];
    if (!current.some((c) => c.type === 'PodScheduled')) out.push(this.cond('PodScheduled', true));
    out.push(this.cond('PodReadyToStartContainers', own.sandboxReady));
    out.push(this.cond('Initialized', own.initialized, 'ContainersNotInitialized', 'containers with incomplete status'));
    const notReady = own.terminal ? 'PodCompleted' : (own.reasonNotReady ?? 'ContainersNotReady');
    out.push(this.cond('ContainersReady', own.containersReady && !own.terminal, notReady));
    const ready = own.containersReady && !own.terminal && missingGates.length === 0;
    const readyReason = own.terminal || !own.containersReady ? notReady : 'ReadinessGatesNotReady';
    const readyMsg = !own.terminal && own.containersReady ? `corresponding condition of pod readiness gate "${missingGates[0]}" does not exist or is False` : undefined;
    out.push(this.cond('Ready', ready, readyReason, readyMsg));
    return out;
  }
}
