// The arithmetic the e2e's verdicts rest on: what a trading day's records
// (the feed's report, the HDB marker, the AWS call log, the RDB pods' reports
// and the samples) come to in rows lost and duplicated, unsafe and double
// terminations, reaction times and cost. Pure, so crafted records can prove
// each verdict can fail (test/unit/e2e-verdicts.test.ts).
import type { AwsCall } from '../lib/faults.ts';
import { FAULT_KINDS, type FaultKind, type InjectedFault, type MissedFault } from './chaos.ts';

/** What `summarize` reads of the day's options. */
export interface VerdictOptions {
  /** Wall time the market hours of the profile (06:00-15:00) were played in. */
  dayMs: number;
}

export interface Sample {
  /** ms since the day started; `at` is the wall clock. */
  t: number;
  at: number;
  desired: number;
  inService: number;
  rdbs: number;
  usedBytes: number;
  phase: string;
  live: string;
}

export interface PodRecord {
  name: string;
  node?: string;
  ip?: string;
  liveAt?: number;
  /** When it first reported queued: the queue cushion runs from here to liveAt. */
  queuedAt?: number;
  crossedScaleAt?: number;
  flushedAt?: number;
  flushedDays: string[];
  /** When the agent first reported each flushed day (the live RDB flushes without DataFlushed: it goes on live). */
  dayFlushedAt: Record<string, number>;
  rows: number;
  memoryPercent: number;
  state?: string;
  /** The trading day of what it holds (its report). */
  day?: string;
  /** When the pod object went (the watch's DELETED). */
  deletedAt?: number;
  deleted?: boolean;
}

export interface DaySummary {
  day: string;
  rowsPublished: number;
  /** Times the feed lost the tickerplant and reconnected (resending what was not acknowledged). */
  feedReconnects: number;
  rowsInRdbsBeforeEndOfDay: number;
  rowsInHdb: number;
  rowsInRdbs: number;
  rowsLost: number;
  rowsDuplicated: number;
  checksumsMatch: boolean;
  maxRdbs: number;
  finalRdbs: number;
  desiredCapacityTimeline: { t: string; desired: number }[];
  terminatedInstances: { instanceId: string; rdb: string; flushedAt: string; terminatedAt: string; decrement: boolean }[];
  unsafeTerminations: number;
  desiredLoweredBySetDesiredCapacity: number;
  /**
   * Instances named by more than one successful termination of any kind: the
   * operator's TerminateInstanceInAutoScalingGroup or TerminateInstances, or
   * the chaos day's own out-of-band TerminateInstances.
   */
  duplicateTerminations: number;
  /** What the chaos day injected (empty on a calm day), by kind and when; and what it scheduled but found no target for. */
  faults: { injected: InjectedFault[]; byKind: Record<FaultKind, number>; missed: MissedFault[] };
  operatorKills: string[];
  throttledAwsCalls: number;
  scaleOutReactionMs: { median: number; max: number; samples: number[] };
  scaleInReactionMs: { median: number; max: number; samples: number[] };
  memoryGbHours: { provisioned: number; used: number };
  savingsVsSingleNode: number;
  /**
   * How long each RDB that went live from the queue had waited there, the
   * minimum, and the RDBs after the first that went live without ever being
   * queued (the live one rolled with nothing queued).
   */
  cushion: { rdbs: { name: string; waitedS: number }[]; minS: number | null; liveWithoutQueue: string[] };
  kubectlGetKdb: string;
  /** The operator's mutating AWS calls by operation (the chaos day's out-of-band terminations are not among them). */
  awsMutations: Record<string, number>;
  /**
   * The operator's own kdb_operator_reaction_seconds (the leader pod's, since
   * its last start), to set beside the figures from the call log.
   */
  operatorReaction: Record<'out' | 'in', { count: number; meanMs: number }>;
  /** The operator's end-of-day merge Job and what it had to wait for. */
  mergeJob: {
    name: string;
    expectedName: string;
    ownedBy: string[];
    createdAt: string;
    lastFlushAt: string;
    slices: number;
    rdbsThatFlushed: number;
  };
}


const MUTATIONS = new Set(['SetDesiredCapacity', 'TerminateInstanceInAutoScalingGroup', 'SetInstanceProtection', 'UpdateAutoScalingGroup', 'SuspendProcesses', 'ResumeProcesses', 'TerminateInstances']);

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};


export interface SummaryInput {
  feed: { rows: number; tables: Record<string, { rows: number; checksum: string }>; reconnects?: number };
  marker: { tables: Record<string, { rows: number; checksum: string }> };
  day: string;
  samples: Sample[];
  pods: Map<string, PodRecord>;
  nodeInstance: Map<string, string>;
  rowsInRdbsBeforeEndOfDay: number;
  awsCalls: AwsCall[];
  rdbGroup: string;
  memBytes: number;
  kubectlGetKdb: string;
  operatorKills: string[];
  mergeJob: DaySummary['mergeJob'];
  operatorReaction: DaySummary['operatorReaction'];
  throttled: number;
  /** The chaos day's record of what it did; its out-of-band TerminateInstances are told apart from the operator's by these. */
  faults?: InjectedFault[];
  missedFaults?: MissedFault[];
}

const instanceIdsOf = (c: AwsCall): string[] => {
  const v = c.params.InstanceIds ?? c.params.InstanceId;
  return Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];
};

/**
 * Splits the EC2 TerminateInstances calls into the chaos day's own (one per
 * recorded out-of-band termination, matched by instance, first call after
 * the fault's time) and the operator's (which it must never make).
 */
const splitOutOfBand = (calls: AwsCall[], faults: InjectedFault[]): { operator: AwsCall[]; outOfBand: AwsCall[] } => {
  const pending = faults.filter((f) => f.instanceId && f.kind.endsWith('instance-terminate')).map((f) => ({ id: f.instanceId!, at: Date.parse(f.at) }));
  const outOfBand = new Set<AwsCall>();
  for (const c of calls.filter((x) => x.operation === 'TerminateInstances')) {
    const ids = instanceIdsOf(c);
    // Calls are stamped on arrival, the fault once its call returned: its call is the one in the 10 s before.
    const t = Date.parse(c.time);
    const k = pending.findIndex((p) => ids.length === 1 && ids[0] === p.id && t <= p.at + 1_000 && t >= p.at - 10_000);
    if (k >= 0) {
      outOfBand.add(c);
      pending.splice(k, 1);
    }
  }
  return { operator: calls.filter((c) => !outOfBand.has(c)), outOfBand: [...outOfBand] };
};

/** Pure: turns what was recorded into the figures the paper reports, and the safety verdicts. */
export const summarize = (o: VerdictOptions, i: SummaryInput): DaySummary => {
  let lost = 0;
  let dup = 0;
  let checksumsMatch = true;
  for (const [table, pub] of Object.entries(i.feed.tables)) {
    const hdb = i.marker.tables[table] ?? { rows: 0, checksum: '0' };
    lost += Math.max(0, pub.rows - hdb.rows);
    dup += Math.max(0, hdb.rows - pub.rows);
    if (pub.checksum !== hdb.checksum) checksumsMatch = false;
  }
  const rowsInHdb = Object.values(i.marker.tables).reduce((a, t) => a + t.rows, 0);
  // Every RDB pod an instance hosted, one after another (a lost RDB's node can take its replacement).
  const instancePods = new Map<string, PodRecord[]>();
  for (const p of i.pods.values()) {
    const id = p.node ? i.nodeInstance.get(p.node) : undefined;
    if (id) instancePods.set(id, [...(instancePods.get(id) ?? []), p]);
  }

  const { operator: operatorCalls, outOfBand } = splitOutOfBand(i.awsCalls, i.faults ?? []);
  const terminations = operatorCalls.filter((c) => c.operation === 'TerminateInstanceInAutoScalingGroup');
  let unsafe = 0;
  const terminatedInstances = terminations.map((c) => {
    const id = String(c.params.InstanceId ?? '');
    const hosted = instancePods.get(id) ?? [];
    const at = Date.parse(c.time);
    const decrement = String(c.params.ShouldDecrementDesiredCapacity) === 'true';
    // Safe only if every RDB it hosted had flushed, or was gone (its window
    // replayed elsewhere, which the row verdicts check), before the call. An
    // instance that hosted none is an idle one handed back.
    const holding = hosted.filter((p) => !(p.flushedAt !== undefined && p.flushedAt <= at) && !(p.deletedAt !== undefined && p.deletedAt <= at));
    if (holding.length > 0 || !decrement) unsafe++;
    const pod = holding[0] ?? hosted.find((p) => p.flushedAt !== undefined) ?? hosted.at(-1);
    return {
      instanceId: id,
      rdb: pod?.name ?? '(no RDB)',
      flushedAt: pod?.flushedAt ? new Date(pod.flushedAt).toISOString() : '(never)',
      terminatedAt: c.time,
      decrement,
    };
  });
  // A SetDesiredCapacity below the desired seen just before it would be an AWS-chosen victim.
  let lowered = 0;
  for (const c of operatorCalls.filter((x) => x.operation === 'SetDesiredCapacity')) {
    const at = Date.parse(c.time);
    const before = [...i.samples].reverse().find((s) => s.at <= at);
    if (before && Number(c.params.DesiredCapacity) < before.desired) lowered++;
  }
  const setDesired = operatorCalls.filter((c) => c.operation === 'SetDesiredCapacity').map((c) => Date.parse(c.time));
  // Each raise answers the latest report of a live RDB crossing scaleThreshold before it.
  const crossings = [...i.pods.values()].map((p) => p.crossedScaleAt).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const scaleOut: number[] = [];
  for (const call of setDesired) {
    const cause = crossings.filter((t) => t <= call).at(-1);
    if (cause !== undefined) scaleOut.push(call - cause);
  }
  const scaleIn = terminatedInstances
    .filter((t) => t.flushedAt !== '(never)')
    .map((t) => Date.parse(t.terminatedAt) - Date.parse(t.flushedAt));

  // Cost as the paper counts it: provisioned node memory over the day. The
  // feed plays 06:00-15:00 (9 hours) in dayMs; the rest of the 24 hours the
  // pool runs its one RDB.
  const hoursPerMs = 9 / o.dayMs;
  let provisioned = 0;
  let used = 0;
  for (let k = 1; k < i.samples.length; k++) {
    const dtH = (i.samples[k]!.t - i.samples[k - 1]!.t) * hoursPerMs;
    provisioned += (i.samples[k - 1]!.inService * i.memBytes * dtH) / 2 ** 30;
    used += (i.samples[k - 1]!.usedBytes * dtH) / 2 ** 30;
  }
  const observedH = ((i.samples.at(-1)?.t ?? 0) - (i.samples[0]?.t ?? 0)) * hoursPerMs;
  provisioned += (Math.max(0, 24 - observedH) * i.memBytes) / 2 ** 30;
  const maxRdbs = Math.max(0, ...i.samples.map((s) => s.rdbs));
  const singleNode = (maxRdbs * i.memBytes * 24) / 2 ** 30;

  const mutations: Record<string, number> = {};
  const terminatedTimes = new Map<string, number>();
  for (const c of [...operatorCalls, ...outOfBand].filter((x) => x.operation === 'TerminateInstanceInAutoScalingGroup' || x.operation === 'TerminateInstances')) {
    for (const id of instanceIdsOf(c)) terminatedTimes.set(id, (terminatedTimes.get(id) ?? 0) + 1);
  }
  const byKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of i.faults ?? []) byKind[f.kind]++;

  for (const c of operatorCalls) if (MUTATIONS.has(c.operation)) mutations[c.operation] = (mutations[c.operation] ?? 0) + 1;
  const timeline: { t: string; desired: number }[] = [];
  for (const s of i.samples) if (timeline.at(-1)?.desired !== s.desired) timeline.push({ t: `${(s.t / 1000).toFixed(1)}s`, desired: s.desired });

  return {
    day: i.day,
    rowsPublished: i.feed.rows,
    feedReconnects: i.feed.reconnects ?? 0,
    rowsInRdbsBeforeEndOfDay: i.rowsInRdbsBeforeEndOfDay,
    rowsInHdb,
    rowsInRdbs: [...i.pods.values()].filter((p) => !p.deleted).reduce((a, p) => a + p.rows, 0),
    rowsLost: lost,
    rowsDuplicated: dup,
    checksumsMatch,
    maxRdbs,
    finalRdbs: [...i.pods.values()].filter((p) => !p.deleted).length,
    desiredCapacityTimeline: timeline,
    terminatedInstances,
    unsafeTerminations: unsafe,
    desiredLoweredBySetDesiredCapacity: lowered,
    duplicateTerminations: [...terminatedTimes.values()].filter((n) => n > 1).length,
    faults: { injected: i.faults ?? [], byKind, missed: i.missedFaults ?? [] },
    operatorKills: i.operatorKills,
    throttledAwsCalls: i.throttled,
    scaleOutReactionMs: { median: median(scaleOut), max: Math.max(0, ...scaleOut), samples: scaleOut },
    scaleInReactionMs: { median: median(scaleIn), max: Math.max(0, ...scaleIn), samples: scaleIn },
    memoryGbHours: { provisioned: round(provisioned), used: round(used) },
    savingsVsSingleNode: singleNode > 0 ? round(1 - provisioned / singleNode) : 0,
    cushion: cushionOf(i.pods),
    kubectlGetKdb: i.kubectlGetKdb,
    awsMutations: mutations,
    mergeJob: i.mergeJob,
    operatorReaction: i.operatorReaction,
  };
};

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** From the pods' own reports: queued, then live. */
export const cushionOf = (pods: ReadonlyMap<string, PodRecord>): DaySummary['cushion'] => {
  const live = [...pods.values()].filter((p) => p.liveAt !== undefined).sort((a, b) => a.liveAt! - b.liveAt!);
  const rdbs = live
    .filter((p) => p.queuedAt !== undefined && p.queuedAt <= p.liveAt!)
    .map((p) => ({ name: p.name, waitedS: round((p.liveAt! - p.queuedAt!) / 1000) }));
  return {
    rdbs,
    minS: rdbs.length > 0 ? Math.min(...rdbs.map((r) => r.waitedS)) : null,
    liveWithoutQueue: live.slice(1).filter((p) => p.queuedAt === undefined).map((p) => p.name),
  };
};
