import type { Condition, ConditionType } from '../api/kdbcluster.ts';

/** A condition as computed from state; the time comes from `mergeConditions`. */
export interface ConditionValue {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * metav1.Condition semantics: lastTransitionTime moves only when the status
 * flips, so "since when" stays true across reconciles; reason, message and
 * observedGeneration always follow the latest computation. Conditions of
 * types this planner does not compute are kept.
 */
export const mergeConditions = (
  previous: readonly Condition[],
  next: readonly ConditionValue[],
  now: Date,
  generation: number | undefined,
): Condition[] => {
  const byType = new Map(previous.map((c) => [c.type, c]));
  const computed = next.map((c): Condition => {
    const prev = byType.get(c.type);
    const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString();
    return {
      type: c.type,
      status: c.status,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime,
      reason: c.reason,
      message: c.message,
    };
  });
  const ours = new Set(next.map((c) => c.type as string));
  return [...computed, ...previous.filter((c) => !ours.has(c.type))];
};

/** True when the condition is now True and was not before: the moment to emit its Event. */
export const flippedOn = (previous: readonly Condition[], next: readonly ConditionValue[], type: ConditionType): boolean =>
  next.find((c) => c.type === type)?.status === 'True' && previous.find((c) => c.type === type)?.status !== 'True';

export const flippedOff = (previous: readonly Condition[], next: readonly ConditionValue[], type: ConditionType): boolean =>
  previous.find((c) => c.type === type)?.status === 'True' && next.find((c) => c.type === type)?.status !== 'True';
