import { reportChanged, reportFor, type AgentReport } from '../../operator/src/agent/report.ts';
import { applyScaleInRecord, scaleInsOf } from '../../operator/src/api/kdbcluster.ts';
import type { KdbCluster, KdbClusterStatus, PoolStatus, ScaleInRecord } from '../../operator/src/api/kdbcluster.ts';
import { quantityToNumber } from '../../operator/src/api/quantity.ts';
import type { RdbState, RdbStatusFile } from '../../operator/src/api/rdb-status.ts';
import { formatFieldErrors, parseKdbCluster } from '../../operator/src/api/validate.ts';
import { ANNOTATION } from '../../operator/src/agent/report.ts';
import { observeRdbPod } from '../../operator/src/controllers/kdbcluster/rdb-report.ts';
import type { V1Pod } from '../../operator/src/kube/types.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import type { Action, Observed, ObservedAsg, ObservedNode } from '../../operator/src/planner/types.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { MemoryAccount } from '../../images/sim/src/rdb/memory.ts';
import { disconnect, emptyTable, endOfDay, roll, subscribe, type Assignment, type QueueTable } from '../../images/sim/src/tickerplant/subscriber-queue.ts';
import { localToEpoch, parseHhMm, tradingDayAt } from '../../images/sim/src/tickerplant/trading-day.ts';
import { drawLeadTimeMs, seededRng, type LeadTime } from './prng.ts';
import { dayProfile, PAPER_PROFILE, type HourShare } from './profile.ts';

/**
 * One trading day of a simulated world, driven by the operator's own
 * planner. Each reconcile builds an `Observed` of the world, calls plan(),
 * and carries the actions out the way the effectors and AWS would. The
 * planner's rules are never repeated here: what decides live, queued and
 * rolled is the planner reading the agent's report (reportFor) through the
 * operator's own pod observer (observeRdbPod) on pods made by the operator's
 * own builder (rdbPod).
 *
 * What the simulator models is the world around the planner:
 * - AWS: desired capacity launches instances, each ready (InService, node
 *   Ready) after a lead time drawn from a seeded normal distribution;
 *   terminate with decrement takes the named instance away.
 * - Kubernetes: a scheduler binds a pending RDB pod to a free node of the
 *   group (one RDB per node); deletes honour the uid/resourceVersion
 *   precondition; status writes go back into the cluster object.
 * - The data plane, with the reference image's own pure parts: the
 *   tickerplant's subscriber queue (subscriber-queue.ts: a live RDB that
 *   rolls hands over to the oldest queued one; with none queued the next to
 *   arrive goes live and replays the gap), the RDB's memory account
 *   (memory.ts: it rolls once it reaches its roll threshold), the trading
 *   day (trading-day.ts: end of day at the first instant the local clock
 *   shows it). Rolling is the data plane's rule, not the planner's: the
 *   planner only sees its outcome in the reports.
 */

export const GIB = 2 ** 30;
const MIB = 2 ** 20;
const HOUR_MS = 3_600_000;

/** How fast the world answers, beyond the lead time. */
export const WORLD = {
  /** A watched change (pod, node, cluster status) reaches the controller's queue. */
  reactMs: 1_000,
  /** A deleted RDB pod is gone (the process exits, the kubelet confirms). */
  podGoneMs: 3_000,
  /** A terminated instance stops being billed and its node object goes. */
  terminateMs: 30_000,
  /** The merge Job runs this long. */
  mergeMs: 60_000,
  /** A failed effector call is retried after. */
  retryMs: 1_000,
  /** Samples for the chart and the timeline. */
  sampleMs: 60_000,
  /** Warm-up before the window opens: the pool's first server comes up. */
  warmupMs: HOUR_MS,
} as const;

export interface SimConfig {
  dayGb: number;
  /** Each RDB's memory, a Kubernetes quantity; one RDB per server, so also the server's size. */
  rdbMemory: string;
  scale: number;
  roll: number;
  leadTime: LeadTime;
  profile: readonly HourShare[];
  seed: number;
  /** The idle RDB process (the paper measured about 150 MB), counted in its memory percent. */
  idleMb: number;
  maxRdbs: number;
  /** The pool's scale-out policy (rdbPools[].scaleOut.policy); 'threshold' leaves scaleOut out of the spec, as a default pool has it. */
  policy?: 'threshold' | 'predictive';
  /** rdbPools[].scaleOut.leadTimeMargin (predictive only); the schema's default when absent. */
  leadTimeMargin?: number;
  /** rdbPools[].schedule (open and close, Monday to Friday): off market hours the pool may hold no RDB. */
  schedule?: { open: string; close: string };
  /** Size of the one server the day is compared with; default the smallest power of two holding the day below the roll threshold. */
  singleServerGb?: number;
  /** World step while data flows (s): one tickerplant message per step. */
  stepS: number;
  /** End-of-day write rate of an RDB's slice to the shared volume. */
  flushMiBs: number;
  /** Trading day simulated, local to the cluster's end-of-day zone. */
  day: string;
  /** Keep every planner action in the log (for tests); else the log keeps the world's events and the actions that move things. */
  fullLog?: boolean;
}

export const DEFAULT_CONFIG: SimConfig = {
  dayGb: 16,
  rdbMemory: '4Gi',
  scale: 60,
  roll: 80,
  leadTime: { meanS: 90, sdS: 30 },
  profile: PAPER_PROFILE,
  seed: 1,
  idleMb: 150,
  maxRdbs: 1000,
  stepS: 5,
  flushMiBs: 100,
  day: '2026-03-02',
};

export interface SimEvent {
  /** Hours since the window opened (negative in the warm-up). */
  h: number;
  kind: string;
  [k: string]: unknown;
}

export interface Sample {
  h: number;
  /** Instances billed (launched and not yet gone). */
  servers: number;
  inService: number;
  desired: number;
  rdbs: number;
  queued: number;
  usedGb: number;
}

export interface CushionEntry {
  rdb: string;
  queuedAtH: number;
  liveAtH: number;
  waitedS: number;
}

export interface SimResult {
  config: Omit<SimConfig, 'profile' | 'fullLog'> & { profile: HourShare[]; serverGb: number };
  window: { from: string; to: string; endOfDay: string };
  gbHours: { provisioned: number; used: number; ratio: number };
  singleServer: { gb: number; gbHours: number };
  savings: number;
  maxServers: number;
  /** Server count after every change inside the window. */
  serversOverTime: { h: number; servers: number; inService: number; desired: number }[];
  samples: Sample[];
  cushion: {
    /** RDBs that waited queued and went live when the one before them rolled. */
    rdbs: CushionEntry[];
    minS: number | null;
    /** Rolls with nothing queued: the next RDB to arrive went live and replayed the gap. */
    rollsWithNothingQueued: { h: number; rdb: string; gapS: number | null }[];
    /** RDBs that arrived to a pool with no live RDB (the first of all, and after a roll with nothing queued). */
    wentLiveOnArrival: string[];
    /** Servers that were still queued at end of day: launched, never live, handed back. */
    queuedAtEndOfDay: string[];
  };
  conservation: { publishedGb: number; flushedGb: number; profileUsedGbHours: number };
  safety: { terminations: number; unsafeTerminations: number; deletes: number; unsafeDeletes: number };
  planner: { calls: number; actions: Record<string, number>; events: Record<string, number> };
  nextMorning: { h: number; servers: number; live: string | null; liveDay: string | null; queued: number; rdbs: number };
  log: SimEvent[];
  runMs: number;
}

// ---- the world

interface SimRdb {
  name: string;
  state: RdbState;
  day: string;
  firstI: number;
  lastI: number | null;
  lastProcessed: number;
  mem: MemoryAccount;
  rows: number;
  flushed: { day: string; rows: number; path: string }[];
  holding: boolean;
  done: boolean;
  flush?: { until: number; day: string; nextDay: string; goesOn: boolean; lastI: number; was: RdbState };
  queuedAt?: number;
  liveAt?: number;
  updatedAt: number;
}

interface SimPod {
  name: string;
  ordinal: number;
  uid: string;
  rv: number;
  base: V1Pod;
  createdAt: number;
  node?: string;
  deletionAt?: number;
  goneAt?: number;
  rdb?: SimRdb;
  published?: AgentReport;
  publishedAt?: string;
}

interface SimInstance {
  id: string;
  launchedAt: number;
  readyAt: number;
  state: 'Pending' | 'InService' | 'Terminating';
  protected: boolean;
  node: string;
  endedAt?: number;
  /** RDBs that ever ran on its node. */
  rdbs: string[];
}

interface SimNode {
  name: string;
  instanceId: string;
  unschedulable: boolean;
  annotations: Record<string, string>;
}

const CLUSTER = 'sim';
const NAMESPACE = 'sim';
const POOL = 'main';
const NODE_GROUP = 'rdb';
const ASG_NAME = 'eks-rdb-sim';

/** The KdbCluster the simulator plans for, parsed by the operator's own schema (defaults and cross-field rules). */
export const simCluster = (cfg: Pick<SimConfig, 'rdbMemory' | 'scale' | 'roll' | 'maxRdbs' | 'policy' | 'leadTimeMargin' | 'schedule'>): KdbCluster => {
  const scaleOut =
    cfg.policy === 'predictive' ? { scaleOut: { policy: 'predictive', ...(cfg.leadTimeMargin !== undefined ? { leadTimeMargin: cfg.leadTimeMargin } : {}) } } : {};
  const r = parseKdbCluster({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: CLUSTER, namespace: NAMESPACE, uid: 'sim-uid', generation: 1, resourceVersion: '1' },
    spec: {
      rdbPools: [
        {
          name: POOL,
          nodeGroup: NODE_GROUP,
          memory: cfg.rdbMemory,
          scaleThreshold: cfg.scale,
          rollThreshold: cfg.roll,
          minRdbs: 1,
          maxRdbs: cfg.maxRdbs,
          ...scaleOut,
          ...(cfg.schedule ? { schedule: cfg.schedule } : {}),
        },
      ],
      storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
    },
  });
  if (!r.ok) throw new Error(formatFieldErrors(r.errors));
  return r.value;
};

/** The paper's comparison: one server big enough for the whole day (a power of two of GB, the day under its roll threshold). */
export const defaultSingleServerGb = (dayGb: number, roll: number): number => 2 ** Math.ceil(Math.log2((dayGb * 100) / roll));

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

export const simulateDay = (input: Partial<SimConfig> = {}): SimResult => {
  const started = performance.now();
  const cfg: SimConfig = { ...DEFAULT_CONFIG, ...input };
  let cluster = simCluster(cfg);
  const pool = cluster.spec.rdbPools[0]!;
  const eod = cluster.spec.tickerplant.endOfDay;
  const eodMinutes = parseHhMm(eod.time) ?? 17 * 60;
  const tz = eod.timeZone;
  const limitBytes = quantityToNumber(pool.memory);
  const baselineBytes = Math.round(cfg.idleMb * MIB);
  if (baselineBytes >= limitBytes) throw new Error(`--idle-mb ${cfg.idleMb} is not below --rdb-memory ${cfg.rdbMemory}`);
  const serverGb = limitBytes / GIB;
  const dayBytes = cfg.dayGb * GIB;
  const profile = dayProfile(cfg.profile, cfg.day, tz);
  const firstHour = Math.min(...cfg.profile.filter((h) => h.share > 0).map((h) => h.hour));
  const lastHour = Math.max(...cfg.profile.filter((h) => h.share > 0).map((h) => h.hour));
  // One trading day: its data comes before its end of day (what comes after belongs to the next day).
  if ((lastHour + 1) * 60 > eodMinutes) throw new Error(`--profile: hour ${lastHour} ends after the end of day ${eod.time} ${tz}: a day's data must arrive before its end of day`);
  const windowFrom = localToEpoch(cfg.day, firstHour * 60, tz);
  const windowTo = windowFrom + 24 * HOUR_MS;
  const eodAt = localToEpoch(cfg.day, eodMinutes, tz);
  const singleGb = cfg.singleServerGb ?? defaultSingleServerGb(cfg.dayGb, cfg.roll);
  const rng = seededRng(cfg.seed);
  const stepMs = cfg.stepS * 1000;
  const flushBytesPerMs = (cfg.flushMiBs * MIB) / 1000;

  let now = windowFrom - WORLD.warmupMs;
  const hOf = (t: number): number => round((t - windowFrom) / HOUR_MS, 5);
  const iso = (t: number): string => new Date(t).toISOString();
  const log: SimEvent[] = [];
  const note = (kind: string, detail: Record<string, unknown> = {}) => log.push({ h: hOf(now), kind, ...detail });

  // Kubernetes and AWS
  const pods: SimPod[] = [];
  const instances: SimInstance[] = [];
  const allInstances: SimInstance[] = [];
  const nodes = new Map<string, SimNode>();
  const asg = { desired: 0, min: 0, max: cfg.maxRdbs, suspended: [] as string[], protectNew: false, owner: undefined as string | undefined };
  const jobs = new Map<string, { phase: 'Running' | 'Succeeded' | 'Failed'; doneAt: number }>();
  let storage = { logVolume: true, hdbVolume: true };
  let uidSeq = 0;
  let instanceSeq = 0;
  let dirty = true;
  let nextReconcile = now;

  // The tickerplant: its subscriber table and the day's log (message i holds sizes[i-1] bytes).
  const tp = { day: tradingDayAt(now, eodMinutes, tz), table: emptyTable(tradingDayAt(now, eodMinutes, tz)) as QueueTable, sizes: [] as number[] };
  let published = 0;
  let flushedBytes = 0;
  const cushion: CushionEntry[] = [];
  const nothingQueued: { h: number; rdb: string; at: number; gapS: number | null }[] = [];
  const onArrival: string[] = [];
  const queuedAtEod: string[] = [];
  const safety = { terminations: 0, unsafeTerminations: 0, deletes: 0, unsafeDeletes: 0 };
  const plannerStats = { calls: 0, actions: {} as Record<string, number>, events: {} as Record<string, number> };

  const livePods = () => pods.filter((p) => p.goneAt === undefined || p.goneAt > now);
  const rdbs = (): SimRdb[] => pods.flatMap((p) => (p.rdb ? [p.rdb] : []));
  const rdbByName = (name: string) => pods.find((p) => p.name === name)?.rdb;
  const dataBytes = (r: SimRdb) => r.mem.usedBytes - r.mem.baselineBytes;
  // Nothing to lose: no data, and no message owed to it unapplied (a live RDB the tickerplant sent nothing new since its window opened).
  const holdsNothing = (r: SimRdb) =>
    dataBytes(r) === 0 && (r.state === 'queued' || r.state === 'flushed' || (r.state === 'live' && r.lastProcessed >= tp.sizes.length));
  const heldBytes = () => rdbs().reduce((s, r) => s + dataBytes(r), 0);

  // ---- data plane (the reference RDB's behaviour around the pure queue)

  /** Applies messages after lastProcessed up to `upto`; a live RDB rolls once its memory reaches the roll threshold. */
  const replay = (r: SimRdb, upto: number, mayRoll: boolean): void => {
    // The log check needs to know when an RDB that flushed and went on live holds data again.
    if (r.rows === 0 && upto > r.lastProcessed) note('took', { rdb: r.name });
    for (let i = r.lastProcessed + 1; i <= upto; i++) {
      r.mem.add(tp.sizes[i - 1]!);
      r.rows++;
      r.lastProcessed = i;
      if (mayRoll && r.mem.reached(pool.rollThreshold)) {
        rollRdb(r);
        return;
      }
    }
  };

  const assign = (a: Assignment): void => {
    const r = rdbByName(a.name);
    if (!r) return;
    r.updatedAt = now;
    if (a.role === 'queued') {
      r.state = 'queued';
      r.queuedAt = now;
      note('queued', { rdb: r.name });
      return;
    }
    if (a.role !== 'live') throw new Error(`unexpected ${a.role} assignment for ${a.name}`);
    if (!r.holding) r.lastProcessed = a.firstI;
    r.holding = true;
    r.firstI = a.firstI;
    r.lastI = null;
    r.state = 'replaying';
    r.liveAt = now;
    if (r.queuedAt !== undefined) {
      cushion.push({ rdb: r.name, queuedAtH: hOf(r.queuedAt), liveAtH: hOf(now), waitedS: round((now - r.queuedAt) / 1000, 1) });
    } else onArrival.push(r.name);
    const gap = nothingQueued.at(-1);
    if (gap && gap.gapS === null) gap.gapS = round((now - gap.at) / 1000, 1);
    note('live', { rdb: r.name, firstI: a.firstI, replayTo: a.replayTo, waitedS: r.queuedAt !== undefined ? round((now - r.queuedAt) / 1000, 1) : null });
    replay(r, a.replayTo, true);
    if (r.state === 'replaying') r.state = 'live';
  };

  const rollRdb = (r: SimRdb): void => {
    r.lastI = r.lastProcessed;
    r.state = 'rolled';
    r.updatedAt = now;
    const res = roll(tp.table, POOL, r.name, r.lastI, tp.sizes.length, iso(now));
    if (!res.ok) throw new Error(res.error);
    tp.table = res.table;
    note('roll', { rdb: r.name, lastI: r.lastI, memoryPercent: round((100 * r.mem.usedBytes) / limitBytes, 1), next: res.value[0]?.name ?? null });
    if (res.value.length === 0) nothingQueued.push({ h: hOf(now), rdb: r.name, at: now, gapS: null });
    for (const a of res.value) assign(a);
  };

  const startRdb = (p: SimPod): void => {
    const r: SimRdb = {
      name: p.name,
      state: 'queued',
      day: tp.day,
      firstI: 0,
      lastI: null,
      lastProcessed: 0,
      mem: new MemoryAccount(baselineBytes, limitBytes),
      rows: 0,
      flushed: [],
      holding: false,
      done: false,
      updatedAt: now,
    };
    p.rdb = r;
    const res = subscribe(tp.table, { name: p.name, pool: POOL, tables: pool.tables, syms: pool.syms, replaces: null, held: null }, tp.sizes.length, iso(now));
    if (!res.ok) throw new Error(res.error);
    tp.table = res.table;
    for (const a of [res.value.assignment, ...res.value.promoted]) assign(a);
  };

  const slice = (r: SimRdb, day: string) => ({ day, rows: r.rows, path: `/hdb/staging/${day}/${r.name}` });

  const finishEndOfDay = (r: SimRdb, e: { day: string; nextDay: string }, goesOn: boolean, was: RdbState, lastI: number | null): void => {
    if (lastI !== null) {
      flushedBytes += dataBytes(r);
      r.flushed = [...r.flushed, slice(r, e.day)];
      r.mem.clear();
      r.rows = 0;
      note('flushed', { rdb: r.name, day: e.day, goesOn });
      if (!goesOn) {
        r.lastI = lastI;
        r.state = 'flushed';
      }
    }
    r.updatedAt = now;
    if (goesOn) {
      r.day = e.nextDay;
      r.firstI = 0;
      r.lastI = null;
      r.lastProcessed = 0;
      r.state = 'live';
    } else if (was === 'queued') {
      // As in the paper: a non-live RDB with no data leaves so its server can go.
      r.flushed = [...r.flushed, { day: e.day, rows: 0, path: `/hdb/staging/${e.day}/${r.name}` }];
      r.lastI = 0;
      r.state = 'flushed';
      r.holding = false;
      r.done = true;
      queuedAtEod.push(r.name);
      note('flushed', { rdb: r.name, day: e.day, goesOn: false, empty: true });
      const d = disconnect(tp.table, POOL, r.name, 0, tp.sizes.length, iso(now));
      if (d.ok) tp.table = d.table;
    } else {
      r.holding = false;
      r.done = true;
    }
  };

  const rdbEndOfDay = (r: SimRdb, e: { day: string; nextDay: string }): void => {
    const was = r.state;
    if (was === 'flushed' || (r.done && was !== 'live')) return;
    const goesOn = was === 'live' || was === 'replaying';
    if (r.holding && e.day === r.day) {
      r.state = 'flushing';
      r.updatedAt = now;
      r.flush = { until: now + Math.ceil(dataBytes(r) / flushBytesPerMs), day: e.day, nextDay: e.nextDay, goesOn, lastI: r.lastI ?? r.lastProcessed, was };
      return;
    }
    finishEndOfDay(r, e, goesOn, was, null);
  };

  const tickerplantEndOfDay = (): void => {
    const day = tp.day;
    const nextDay = tradingDayAt(now, eodMinutes, tz);
    note('endOfDay', { day, nextDay, messages: tp.sizes.length });
    for (const r of rdbs()) if (!r.done || r.state === 'live') rdbEndOfDay(r, { day, nextDay });
    tp.table = endOfDay(tp.table, nextDay, tp.sizes.length);
    tp.day = nextDay;
    tp.sizes = [];
  };

  // ---- Kubernetes and AWS

  const newInstance = (): SimInstance => {
    const n = ++instanceSeq;
    const lead = drawLeadTimeMs(rng, cfg.leadTime);
    const inst: SimInstance = {
      id: `i-${n.toString(16).padStart(17, '0')}`,
      launchedAt: now,
      readyAt: now + lead,
      state: 'Pending',
      protected: asg.protectNew,
      node: `ip-10-0-${n >> 8}-${n & 255}.ec2.internal`,
      rdbs: [],
    };
    note('instanceLaunched', { instanceId: inst.id, leadS: round(lead / 1000, 1) });
    return inst;
  };

  const awsStep = (): void => {
    const active = instances.filter((i) => i.state !== 'Terminating');
    for (let k = active.length; k < asg.desired; k++) {
      const inst = newInstance();
      instances.push(inst);
      allInstances.push(inst);
    }
    for (const i of instances) {
      if (i.state === 'Pending' && i.readyAt <= now) {
        i.state = 'InService';
        nodes.set(i.node, { name: i.node, instanceId: i.id, unschedulable: false, annotations: {} });
        note('instanceReady', { instanceId: i.id, node: i.node });
        dirty = true;
      }
    }
    for (const i of [...instances]) {
      if (i.state === 'Terminating' && i.endedAt !== undefined && i.endedAt <= now) {
        instances.splice(instances.indexOf(i), 1);
        nodes.delete(i.node);
        note('instanceGone', { instanceId: i.id });
        dirty = true;
      }
    }
  };

  const kubeStep = (): void => {
    for (const p of [...pods]) {
      if (p.goneAt !== undefined && p.goneAt <= now) {
        pods.splice(pods.indexOf(p), 1);
        const r = p.rdb;
        if (r && !r.done) {
          const d = disconnect(tp.table, POOL, r.name, r.lastProcessed, tp.sizes.length, iso(now));
          if (d.ok) {
            tp.table = d.table;
            for (const a of d.value) assign(a);
          }
        }
        note('podGone', { pod: p.name });
        dirty = true;
      }
    }
    // The scheduler: one RDB per node (the pod's anti-affinity), on a Ready, schedulable node of the group.
    const taken = new Set(pods.flatMap((p) => (p.node ? [p.node] : [])));
    for (const p of pods.filter((x) => x.node === undefined && x.deletionAt === undefined).sort((a, b) => a.createdAt - b.createdAt)) {
      const free = instances.find((i) => i.state === 'InService' && !taken.has(i.node) && nodes.get(i.node)?.unschedulable === false);
      if (!free) break;
      p.node = free.node;
      p.rv++;
      taken.add(free.node);
      free.rdbs.push(p.name);
      note('scheduled', { pod: p.name, node: free.node, waitedS: round((now - p.createdAt) / 1000, 1) });
      dirty = true;
      startRdb(p);
    }
    for (const [name, j] of jobs) {
      if (j.phase === 'Running' && j.doneAt <= now) {
        j.phase = 'Succeeded';
        note('mergeSucceeded', { job: name });
        dirty = true;
      }
    }
  };

  /** The RDB writes its status file; its agent publishes what changed (the agent's own rule, reportChanged). */
  const agentStep = (): void => {
    for (const p of pods) {
      const r = p.rdb;
      if (!r || p.goneAt !== undefined) continue;
      const file: RdbStatusFile = {
        version: 1,
        name: r.name,
        pool: POOL,
        state: r.state,
        memory: { usedBytes: r.mem.usedBytes, limitBytes },
        window: { firstI: r.firstI, lastI: r.lastI, lastProcessed: r.lastProcessed },
        rows: r.rows > 0 ? { trade: r.rows } : {},
        day: r.day,
        flushed: r.flushed,
        updatedAt: iso(now),
      };
      const report = reportFor(file);
      if (!reportChanged(p.published, report)) continue;
      p.published = report;
      p.publishedAt = file.updatedAt;
      p.rv++;
      dirty = true;
    }
  };

  const v1Pod = (p: SimPod): V1Pod => ({
    ...p.base,
    metadata: {
      ...p.base.metadata,
      // Set by the API server on create: the operator measures the lead time from it.
      creationTimestamp: iso(p.createdAt),
      uid: p.uid,
      resourceVersion: String(p.rv),
      annotations: {
        ...p.base.metadata?.annotations,
        ...(p.published
          ? {
              [ANNOTATION.memoryPercent]: String(p.published.memoryPercent),
              [ANNOTATION.rdbStatus]: JSON.stringify(p.published.summary),
              [ANNOTATION.reportedAt]: p.publishedAt ?? iso(now),
            }
          : {}),
      },
      ...(p.deletionAt !== undefined ? { deletionTimestamp: iso(p.deletionAt) } : {}),
    },
    spec: { ...p.base.spec!, ...(p.node !== undefined ? { nodeName: p.node } : {}) },
    status: { phase: p.node !== undefined ? 'Running' : 'Pending', conditions: (p.published?.conditions ?? []).map((c) => ({ ...c })) },
  });

  const observe = (): Observed => {
    const observedAsg: ObservedAsg = {
      name: ASG_NAME,
      desired: asg.desired,
      min: asg.min,
      max: asg.max,
      instances: instances.map((i) => ({ instanceId: i.id, lifecycleState: i.state, protectedFromScaleIn: i.protected, zone: 'us-east-1a' })),
      suspendedProcesses: [...asg.suspended],
      newInstancesProtectedFromScaleIn: asg.protectNew,
      ...(asg.owner !== undefined ? { owner: asg.owner } : {}),
    };
    const observedNodes: ObservedNode[] = [...nodes.values()].map((n) => ({
      name: n.name,
      instanceId: n.instanceId,
      ready: true,
      unschedulable: n.unschedulable,
      annotations: { ...n.annotations },
    }));
    return {
      cluster,
      now: new Date(now),
      tickerplant: { statefulSet: { ready: true }, service: true },
      storage: { efs: { lifeCycleState: 'available' }, ...storage },
      pools: { [POOL]: { asg: observedAsg, nodes: observedNodes, pods: livePods().map((p) => observeRdbPod(v1Pod(p))) } },
      mergeJobs: [...jobs].map(([name, j]) => ({ name, phase: j.phase })),
    };
  };

  const setStatus = (status: KdbClusterStatus): void => {
    cluster = { ...cluster, metadata: { ...cluster.metadata, resourceVersion: String(Number(cluster.metadata.resourceVersion ?? '1') + 1) }, status };
    dirty = true;
  };

  const recordScaleIn = (poolName: string, instanceId: string, record: ScaleInRecord | null): void => {
    const statusPools: PoolStatus[] = structuredClone(cluster.status?.pools ?? []);
    let entry = statusPools.find((p) => p.name === poolName);
    if (!entry) {
      entry = { name: poolName, queued: [], rolled: [], rdbs: [] };
      statusPools.push(entry);
    }
    // As the effector writes it: every chain in scaleIns, an older operator's scaleIn moved in.
    entry.scaleIns = applyScaleInRecord(scaleInsOf(entry), instanceId, record);
    delete entry.scaleIn;
    if (entry.scaleIns.length === 0) delete entry.scaleIns;
    setStatus({ ...(cluster.status ?? { conditions: [], pools: [] }), pools: statusPools });
  };

  /** Carries one action out; false when it fails (the effectors stop the list there). */
  const apply = (a: Action): boolean => {
    bump(plannerStats.actions, a.kind);
    const quiet = a.kind === 'UpdateStatus' || a.kind === 'EmitEvent' || a.kind === 'RequeueAfter';
    if (!quiet || cfg.fullLog) {
      const { kind, ...rest } = a as Action & Record<string, unknown>;
      note('action', { action: kind, ...(kind === 'UpdateStatus' ? {} : rest) });
    }
    switch (a.kind) {
      case 'EnsureRdbPod': {
        if (pods.some((p) => p.name === a.name)) return true;
        const base = rdbPod({ cluster, pool, ordinal: a.ordinal, agentServiceAccount: 'kdb-agent' });
        pods.push({ name: a.name, ordinal: a.ordinal, uid: `uid-${++uidSeq}`, rv: 1, base, createdAt: now });
        dirty = true;
        return true;
      }
      case 'DeleteRdbPod': {
        const p = pods.find((x) => x.name === a.pod);
        if (!p) return true;
        if (a.reason === 'ScaleIn' && (a.precondition.uid !== p.uid || a.precondition.resourceVersion !== String(p.rv))) {
          note('deleteConflict', { pod: a.pod });
          return false;
        }
        safety.deletes++;
        if (p.rdb && !holdsNothing(p.rdb)) {
          safety.unsafeDeletes++;
          note('unsafeDelete', { pod: p.name, state: p.rdb.state, dataBytes: dataBytes(p.rdb) });
        }
        if (p.deletionAt === undefined) {
          p.deletionAt = now;
          p.goneAt = now + WORLD.podGoneMs;
          p.rv++;
          dirty = true;
        }
        return true;
      }
      case 'CordonNode':
      case 'UncordonNode': {
        const n = nodes.get(a.node);
        if (n) n.unschedulable = a.kind === 'CordonNode';
        dirty = true;
        return true;
      }
      case 'AnnotateNode': {
        const n = nodes.get(a.node);
        if (n) n.annotations = { ...n.annotations, ...a.annotations };
        return true;
      }
      case 'ClaimNodeGroup':
        asg.owner ??= a.owner;
        return true;
      case 'SuspendAZRebalance':
        if (!asg.suspended.includes('AZRebalance')) asg.suspended.push('AZRebalance');
        return true;
      case 'ProtectNewInstances':
        asg.protectNew = true;
        return true;
      case 'SetInstanceProtection':
        for (const i of instances) if (a.instanceIds.includes(i.id)) i.protected = a.protect;
        return true;
      case 'SetDesiredCapacity':
        // The facade never writes below a fresh read, nor above MaxSize.
        asg.desired = Math.min(asg.max, Math.max(asg.desired, a.value));
        awsStep();
        return true;
      case 'TerminateInstanceInGroup': {
        const inst = instances.find((i) => i.id === a.instanceId);
        if (!inst || inst.state !== 'InService') return true;
        // The effector's last look: any pod but the victim still bound to the node refuses the terminate.
        if (pods.some((p) => p.node === inst.node && p.name !== a.pod && (p.goneAt === undefined || p.goneAt > now))) {
          note('terminateRefused', { instanceId: inst.id });
          return true;
        }
        safety.terminations++;
        // Ground truth, not the report: an RDB that ran there and still holds data (or never said it flushed) would be lost.
        const holders = inst.rdbs.map((n) => rdbByName(n)).filter((r): r is SimRdb => r !== undefined && !holdsNothing(r));
        if (holders.length > 0) {
          safety.unsafeTerminations++;
          note('unsafeTerminate', { instanceId: inst.id, rdbs: holders.map((r) => ({ rdb: r.name, state: r.state, dataBytes: dataBytes(r) })) });
        }
        note('terminate', { instanceId: inst.id, rdbs: inst.rdbs, unflushed: holders.map((r) => r.name) });
        inst.state = 'Terminating';
        inst.endedAt = now + WORLD.terminateMs;
        asg.desired = Math.max(0, asg.desired - 1);
        return true;
      }
      case 'RecordScaleInStep':
        recordScaleIn(a.pool, a.instanceId, a.record);
        return true;
      case 'UpdateStatus':
        setStatus(a.status);
        return true;
      case 'EnsureMergeJob':
        if (!jobs.has(a.job)) jobs.set(a.job, { phase: 'Running', doneAt: now + WORLD.mergeMs });
        dirty = true;
        return true;
      case 'EnsureStorageVolumes':
        storage = { logVolume: true, hdbVolume: true };
        return true;
      case 'EmitEvent':
        bump(plannerStats.events, a.event.reason);
        return true;
      case 'RequeueAfter':
        nextReconcile = Math.min(nextReconcile, now + a.ms);
        return true;
      // Neither storage, the tickerplant nor the gateway holds RDB capacity: nothing to simulate.
      case 'EnsureEfsAccessPoint':
      case 'EnsureTickerplant':
      case 'EnsureGateway':
      case 'DeleteGateway':
        return true;
      // The simulated day is never deleted, hibernated or ended early by request.
      case 'EndTradingDay':
      case 'ReleaseCluster':
      // Nor is its pool spec changed, so no live RDB is ever outdated.
      case 'RollLiveRdb':
        return true;
    }
  };

  const reconcile = (): void => {
    dirty = false;
    nextReconcile = Number.POSITIVE_INFINITY;
    plannerStats.calls++;
    const actions = plan(observe());
    for (const a of actions) {
      if (!apply(a)) {
        nextReconcile = Math.min(nextReconcile, now + WORLD.retryMs);
        break;
      }
    }
    if (nextReconcile === Number.POSITIVE_INFINITY) nextReconcile = now + WORLD.retryMs;
  };

  // ---- the clock

  const samples: Sample[] = [];
  const serversOverTime: SimResult['serversOverTime'] = [];
  const billed = () => instances.length;
  const sample = () => {
    const active = livePods().filter((p) => p.deletionAt === undefined);
    samples.push({
      h: hOf(now),
      servers: billed(),
      inService: instances.filter((i) => i.state === 'InService').length,
      desired: asg.desired,
      rdbs: active.length,
      queued: active.filter((p) => p.rdb === undefined || p.rdb.state === 'queued').length,
      usedGb: round(heldBytes() / GIB, 4),
    });
  };
  const trackServers = () => {
    if (now < windowFrom || now > windowTo) return;
    const s = { h: hOf(now), servers: billed(), inService: instances.filter((i) => i.state === 'InService').length, desired: asg.desired };
    const last = serversOverTime.at(-1);
    if (!last || last.servers !== s.servers || last.inService !== s.inService || last.desired !== s.desired) serversOverTime.push(s);
  };

  let usedByteMs = 0;
  let nextSample = windowFrom;
  let lastData = now;
  let maxServers = 0;
  let eodDone = false;
  let nextDayCheck = Math.min(eodAt, localToEpoch(tp.day, eodMinutes, tz));

  const nextEventAt = (): number => {
    let t = Math.min(lastData + stepMs, nextReconcile, windowTo, nextSample);
    if (!eodDone && eodAt > now) t = Math.min(t, eodAt);
    for (const i of instances) {
      if (i.state === 'Pending') t = Math.min(t, i.readyAt);
      if (i.endedAt !== undefined) t = Math.min(t, i.endedAt);
    }
    for (const p of pods) {
      if (p.goneAt !== undefined) t = Math.min(t, p.goneAt);
      if (p.rdb?.flush) t = Math.min(t, p.rdb.flush.until);
    }
    for (const j of jobs.values()) if (j.phase === 'Running') t = Math.min(t, j.doneAt);
    return Math.max(t, now + 1);
  };

  while (now < windowTo) {
    const t = nextEventAt();
    const heldBefore = heldBytes();
    const from = now;
    now = t;
    // The tickerplant: end of day first (everything before it is published), then this step's data.
    // (Asked only from the end-of-day instant on: the rule reads the zone's clock, which is slow to do every step.)
    if (now >= nextDayCheck && tradingDayAt(now, eodMinutes, tz) > tp.day) {
      tickerplantEndOfDay();
      eodDone = true;
      nextDayCheck = localToEpoch(tp.day, eodMinutes, tz);
    }
    if (now - lastData >= stepMs || now === windowTo) {
      const bytes = dayBytes * (profile.at(now) - profile.at(lastData));
      lastData = now;
      if (bytes > 0) {
        tp.sizes.push(bytes);
        published += bytes;
      }
    }
    for (const r of rdbs()) {
      if (r.flush && r.flush.until <= now) {
        const f = r.flush;
        delete r.flush;
        finishEndOfDay(r, f, f.goesOn, f.was, f.lastI);
      }
    }
    const live = rdbs().find((r) => r.state === 'live');
    if (live) replay(live, tp.sizes.length, true);
    awsStep();
    kubeStep();
    agentStep();
    if (dirty) nextReconcile = Math.min(nextReconcile, now + WORLD.reactMs);
    if (now >= nextReconcile) reconcile();
    if (dirty) nextReconcile = Math.min(nextReconcile, now + WORLD.reactMs);

    // Accounting, inside the window only.
    const a = Math.max(from, windowFrom);
    const b = Math.min(now, windowTo);
    if (b > a) {
      const heldAfter = heldBytes();
      // Data grows through the step; a flush drops it at the step's end.
      usedByteMs += (heldAfter >= heldBefore ? (heldBefore + heldAfter) / 2 : heldBefore) * (b - a);
    }
    if (now >= windowFrom) maxServers = Math.max(maxServers, billed());
    trackServers();
    if (now >= nextSample && now <= windowTo) {
      sample();
      nextSample += WORLD.sampleMs;
    }
  }

  // Provisioned: every instance from launch (AWS bills from then) until it is gone.
  let provisionedMs = 0;
  for (const i of allInstances) {
    const a = Math.max(i.launchedAt, windowFrom);
    const b = Math.min(i.endedAt ?? windowTo, windowTo);
    if (b > a) provisionedMs += b - a;
  }
  const provisioned = (provisionedMs / HOUR_MS) * serverGb;
  const used = usedByteMs / HOUR_MS / GIB;
  const singleGbHours = singleGb * 24;
  const liveNow = pods.find((p) => p.rdb?.state === 'live');
  const { fullLog: _f, profile: _p, ...rest } = cfg;
  return {
    config: { ...rest, profile: [...cfg.profile], serverGb, singleServerGb: singleGb },
    window: { from: iso(windowFrom), to: iso(windowTo), endOfDay: iso(eodAt) },
    gbHours: { provisioned: round(provisioned), used: round(used), ratio: used > 0 ? round(provisioned / used) : 0 },
    singleServer: { gb: singleGb, gbHours: singleGbHours },
    savings: round(1 - provisioned / singleGbHours),
    maxServers,
    serversOverTime,
    samples,
    cushion: {
      rdbs: cushion,
      minS: cushion.length > 0 ? Math.min(...cushion.map((c) => c.waitedS)) : null,
      rollsWithNothingQueued: nothingQueued.map(({ h, rdb, gapS }) => ({ h, rdb, gapS })),
      wentLiveOnArrival: onArrival,
      queuedAtEndOfDay: queuedAtEod,
    },
    conservation: {
      publishedGb: round(published / GIB, 4),
      flushedGb: round(flushedBytes / GIB, 4),
      profileUsedGbHours: round(cfg.dayGb * profile.integralHours(windowFrom, eodAt), 4),
    },
    safety,
    planner: plannerStats,
    nextMorning: {
      h: hOf(now),
      servers: billed(),
      live: liveNow?.name ?? null,
      liveDay: liveNow?.rdb?.day ?? null,
      queued: pods.filter((p) => p.rdb?.state === 'queued').length,
      rdbs: livePods().length,
    },
    log,
    runMs: Math.round(performance.now() - started),
  };
};

