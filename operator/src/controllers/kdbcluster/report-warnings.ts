import type { Observed } from '../../planner/types.ts';

export const INVALID_RDB_REPORT = 'InvalidRdbReport';

export interface ReportWarning {
  reason: typeof INVALID_RDB_REPORT;
  message: string;
}

/**
 * One Warning per bad report, not one per reconcile: a pod's refused report
 * is remembered by its fingerprint until the pod reports something else
 * (a new bad value warns again) or is gone. Memory is per operator process;
 * after a restart each bad report still standing warns once more.
 */
export class InvalidReportWarnings {
  /** cluster key -> pod name -> fingerprint of the refused annotations. */
  readonly #seen = new Map<string, Map<string, string>>();

  /** The Warnings to emit for this observation of `clusterKey`'s pods. */
  next(clusterKey: string, o: Pick<Observed, 'pools'>): ReportWarning[] {
    const before = this.#seen.get(clusterKey) ?? new Map<string, string>();
    const now = new Map<string, string>();
    const out: ReportWarning[] = [];
    for (const [pool, obs] of Object.entries(o.pools)) {
      for (const p of obs.pods) {
        const bad = p.invalidReport;
        if (!bad) continue;
        now.set(p.name, bad.fingerprint);
        if (before.get(p.name) === bad.fingerprint) continue;
        out.push({
          reason: INVALID_RDB_REPORT,
          message: `pool ${pool}: RDB pod ${p.name} reported an invalid ${bad.field}: ${bad.message}; its report is ignored (counted as no report) until its agent writes a valid one`,
        });
      }
    }
    if (now.size > 0) this.#seen.set(clusterKey, now);
    else this.#seen.delete(clusterKey);
    return out;
  }

  forget(clusterKey: string): void {
    this.#seen.delete(clusterKey);
  }
}
