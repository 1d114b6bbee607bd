import type { V1Pod } from '../../kube/index.ts';
import type { ObservedRdbPod } from '../../planner/types.ts';

/**
 * The thresholds an RDB pod was started with, from its rdb container's
 * environment (specs/rdb.ts writes them; a pod's env never changes). The RDB
 * rolls at its own KDB_ROLL_THRESHOLD, so a spec change reaches only new
 * RDBs, and the planner must scale out on the live RDB's own figures.
 * Anything missing or not a percent: no thresholds, the spec's apply.
 */
const percentOf = (raw: string | undefined): number | undefined => {
  if (raw === undefined || !/^[0-9]{1,2}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= 99 ? n : undefined;
};

export const rdbThresholdsOf = (pod: V1Pod): Pick<ObservedRdbPod, 'thresholds'> => {
  const env = pod.spec?.containers?.find((c) => c.name === 'rdb')?.env ?? [];
  const value = (name: string) => env.find((e) => e.name === name)?.value;
  const scale = percentOf(value('KDB_SCALE_THRESHOLD'));
  const roll = percentOf(value('KDB_ROLL_THRESHOLD'));
  return scale !== undefined && roll !== undefined && scale < roll ? { thresholds: { scale, roll } } : {};
};
