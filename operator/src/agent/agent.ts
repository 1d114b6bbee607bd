import { watch } from 'node:fs';
import { dirname } from 'node:path';
import { RdbSummary } from '../api/rdb-status.ts';
// Not kube/index.ts: that loads @kubernetes/client-node, which the lean agent (agent/main.ts) must not.
import type { KubeApi } from '../kube/api.ts';
import { Resources } from '../kube/resources.ts';
import type { V1Pod } from '../kube/types.ts';
import type { LevelLog } from '../runtime/json-log.ts';
import { ANNOTATION, reportChanged, reportFor, type AgentReport } from './report.ts';
import { readStatusFile } from './status-file.ts';

export const REPORTED_AT_ANNOTATION = ANNOTATION.reportedAt;

export interface AgentOptions {
  api: KubeApi;
  namespace: string;
  podName: string;
  statusFile: string;
  log: LevelLog;
  /** Fallback poll when file-change notifications are missed. */
  pollMs?: number;
  signal: AbortSignal;
}

/**
 * Turns the RDB's status file into state on its own pod. The operator
 * watches pods and never talks to RDB processes, so this is the only channel
 * from the data plane to the control plane.
 */
export const runAgent = async (opts: AgentOptions): Promise<void> => {
  const { api, namespace, podName, statusFile, log, signal } = opts;
  const ref = { ...Resources.Pod, namespace, name: podName };
  let published: AgentReport | undefined;
  let pod: V1Pod | undefined;
  let lastInvalid = '';
  let busy = false;
  let again = false;

  const publish = async (report: AgentReport, updatedAt: string): Promise<void> => {
    pod ??= await api.get<V1Pod>(ref);
    if (!pod) throw new Error(`pod ${namespace}/${podName} not found`);
    // Annotations first: the operator reads the window from them when a condition flips.
    pod = await api.mergePatch<V1Pod>(ref, {
      metadata: {
        annotations: {
          [ANNOTATION.memoryPercent]: String(report.memoryPercent),
          [ANNOTATION.rdbStatus]: JSON.stringify(report.summary),
          [REPORTED_AT_ANNOTATION]: updatedAt,
        },
      },
    });
    const res = await api.setPodConditions(pod, report.conditions);
    pod = res.pod;
  };

  const tick = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const read = await readStatusFile(statusFile);
        if (read.kind === 'invalid') {
          if (read.error !== lastInvalid) log.warn('RDB status file is invalid; not reporting it', { file: statusFile, error: read.error });
          lastInvalid = read.error;
          continue;
        }
        if (read.kind === 'missing') continue;
        const report = reportFor(read.status);
        if (!reportChanged(published, report)) continue;
        // The operator parses the annotation with this schema: never publish what it would refuse.
        const checked = RdbSummary.safeParse(report.summary);
        if (!checked.success) {
          const error = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
          if (error !== lastInvalid) log.warn('RDB report does not fit the annotation schema; not reporting it', { error });
          lastInvalid = error;
          continue;
        }
        await publish(report, read.status.updatedAt);
        log.info('reported RDB state', { state: report.summary.state, memoryPercent: report.memoryPercent, rows: report.summary.rows });
        published = report;
      } while (again);
    } catch (e) {
      // Keep `published` as it was: the next tick retries the same write.
      pod = undefined;
      log.warn('could not report RDB state; will retry', { error: (e as Error).message });
    } finally {
      busy = false;
    }
  };

  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(dirname(statusFile), { signal }, () => void tick());
    watcher.on('error', () => undefined);
  } catch {
    // The poll below still reports; notifications only cut latency.
  }
  const timer = setInterval(() => void tick(), opts.pollMs ?? 1000);
  await tick();
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  clearInterval(timer);
  watcher?.close();
};
