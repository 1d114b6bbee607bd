// The load generator: it plays every RDB and its agent. Each pod it sees
// running gets a status of its own, turned into the agent's report by the
// agent's own rules (operator/src/agent/report.ts) and written by the same
// two calls the agent makes: a merge patch of the three annotations, then
// the pod conditions on pods/status. The tickerplant's part is played too:
// per pool the oldest queued RDB goes live when there is no live one, and
// the live RDB rolls to the next queued one at the roll threshold.
import { reportFor, ANNOTATION } from '../../operator/src/agent/report.ts';
import type { RdbState, RdbStatusFile } from '../../operator/src/api/rdb-status.ts';
import { Resources, type KubeApi, type V1Pod } from '../../operator/src/kube/index.ts';
import { REPORTED_AT_ANNOTATION } from '../../operator/src/agent/agent.ts';

export interface RdbSim {
  pod: string;
  cluster: number;
  ordinal: number;
  state: RdbState;
  percent: number;
  firstI: number;
  lastI: number | null;
  /** When each report of this RDB was written (ms), by what it reported. */
  reports: Array<{ at: number; state: RdbState; percent: number }>;
  node?: string;
  instanceId?: string;
  gone?: number;
}

export interface AgentWrite {
  at: number;
  ms: number;
}

const LIMIT = 256 * 2 ** 20;
const DAY = '2026-12-01';

export class LoadGenerator {
  readonly rdbs = new Map<string, RdbSim>();
  readonly writes: AgentWrite[] = [];
  errors = 0;
  #inFlight = 0;
  #pods = new Map<string, V1Pod>();
  #messages = new Map<number, number>();

  private readonly api: KubeApi;
  private readonly namespace: string;
  private readonly o: { scale: number; roll: number; step: number; maxRdbs: number };

  constructor(api: KubeApi, namespace: string, o: { scale: number; roll: number; step: number; maxRdbs: number }) {
    this.api = api;
    this.namespace = namespace;
    this.o = o;
  }

  /** Pod events from the bench's informer: a running RDB pod joins as queued, a deleted one leaves. */
  onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    const name = pod.metadata?.name ?? '';
    const labels = pod.metadata?.labels ?? {};
    if (labels['kdb-operator.dev/role'] !== 'rdb') return;
    const rdb = this.rdbs.get(name);
    if (type === 'DELETED') {
      if (rdb && rdb.gone === undefined) rdb.gone = Date.now();
      this.#pods.delete(name);
      return;
    }
    this.#pods.set(name, pod);
    if (rdb) {
      rdb.node ??= pod.spec?.nodeName;
      return;
    }
    if (pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) return;
    const cluster = Number(/^c(\d+)$/.exec(labels['kdb-operator.dev/cluster'] ?? '')?.[1] ?? NaN);
    const ordinal = Number(/-(\d+)$/.exec(name)?.[1] ?? NaN);
    if (!Number.isFinite(cluster) || !Number.isFinite(ordinal)) return;
    const sim: RdbSim = { pod: name, cluster, ordinal, state: 'queued', percent: 1, firstI: 0, lastI: null, reports: [] };
    if (pod.spec?.nodeName) sim.node = pod.spec.nodeName;
    this.rdbs.set(name, sim);
    void this.report(sim);
  }

  poolOf(cluster: number): RdbSim[] {
    return [...this.rdbs.values()].filter((r) => r.cluster === cluster && r.gone === undefined).sort((a, b) => a.ordinal - b.ordinal);
  }

  /**
   * One step of cluster i's day: the live RDB fills by `step` percent (or
   * the oldest queued RDB goes live); at the roll threshold it rolls if a
   * queued RDB can take over. Once the pool holds maxRdbs the live RDB stops
   * short of the scale threshold, so the day ends with maxRdbs RDBs.
   */
  async tick(cluster: number): Promise<void> {
    const pool = this.poolOf(cluster);
    const live = pool.find((r) => r.state === 'live');
    const queued = pool.filter((r) => r.state === 'queued');
    const i = this.#messages.get(cluster) ?? 0;
    if (!live) {
      const next = queued[0];
      if (next) await this.goLive(next, i);
      return;
    }
    const full = pool.length >= this.o.maxRdbs;
    const cap = full ? this.o.scale - 1 : this.o.roll;
    if (live.percent >= this.o.roll && queued[0]) {
      const at = i + 1000;
      this.#messages.set(cluster, at);
      live.state = 'rolled';
      live.lastI = at;
      await this.report(live);
      await this.goLive(queued[0], at);
      return;
    }
    if (live.percent >= cap) return;
    live.percent = Math.min(cap, live.percent + this.o.step);
    this.#messages.set(cluster, i + 100);
    await this.report(live);
  }

  async goLive(r: RdbSim, at: number): Promise<void> {
    r.state = 'live';
    r.firstI = at;
    r.percent = 1;
    await this.report(r);
  }

  /** End of day: every rolled RDB of the pool writes its slice and reports flushed, all at once. */
  async flushAll(cluster: number): Promise<number> {
    const rolled = this.poolOf(cluster).filter((r) => r.state === 'rolled');
    for (const r of rolled) {
      r.state = 'flushed';
      r.percent = 1;
    }
    await Promise.all(rolled.map((r) => this.report(r)));
    return rolled.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  status(r: RdbSim, at: number): RdbStatusFile {
    const rows = r.state === 'flushed' ? 0 : Math.round(r.percent * 1000);
    return {
      version: 1,
      name: r.pod,
      pool: 'main',
      state: r.state,
      memory: { usedBytes: Math.floor((r.percent * LIMIT) / 100), limitBytes: LIMIT },
      window: { firstI: r.firstI, lastI: r.lastI, lastProcessed: r.lastI ?? r.firstI + rows },
      rows: rows > 0 ? { trade: rows } : {},
      day: DAY,
      flushed: r.state === 'flushed' ? [{ day: DAY, rows: 1000, path: `/staging/${DAY}/${r.pod}.slice.jsonl` }] : [],
      updatedAt: new Date(at).toISOString(),
    };
  }

  /** The agent's two writes for this RDB's status now. */
  async report(r: RdbSim): Promise<void> {
    const pod = this.#pods.get(r.pod);
    if (!pod) return;
    const at = Date.now();
    const report = reportFor(this.status(r, at));
    r.reports.push({ at, state: r.state, percent: r.percent });
    const ref = { ...Resources.Pod, namespace: this.namespace, name: r.pod };
    this.#inFlight++;
    try {
      const patched = await this.api.mergePatch<V1Pod>(ref, {
        metadata: {
          annotations: {
            [ANNOTATION.memoryPercent]: String(report.memoryPercent),
            [ANNOTATION.rdbStatus]: JSON.stringify(report.summary),
            [REPORTED_AT_ANNOTATION]: new Date(at).toISOString(),
          },
        },
      });
      const res = await this.api.setPodConditions(patched, report.conditions);
      this.#pods.set(r.pod, res.pod);
      this.writes.push({ at, ms: Date.now() - at });
    } catch {
      // A pod deleted under the write (scale-in) or a refused write: the agent retries on its next status change.
      this.errors++;
    } finally {
      this.#inFlight--;
    }
  }
}
