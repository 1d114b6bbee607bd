import type { KdbCluster, KdbClusterStatus, RdbPoolSpec, ScaleInRecord } from '../api/kdbcluster.ts';
import type { RdbState } from '../api/rdb-status.ts';

/**
 * The planner's whole world: everything reconcile observed, and the time.
 * Built by the controller from informer caches and fresh AWS reads; the
 * planner never reads anything else, so the same input always gives the
 * same plan.
 */
export interface Observed {
  /** Parsed (validated, defaulted) KdbCluster, with its status as last written. */
  cluster: KdbCluster;
  now: Date;
  tickerplant: ObservedTickerplant;
  storage: ObservedStorage;
  /** Per pool name (spec.rdbPools[].name). A pool missing here is treated as not observed yet. */
  pools: Record<string, ObservedPool>;
  /** The cluster's end-of-day merge Jobs. */
  mergeJobs: ObservedMergeJob[];
  /** Which of the gateway's objects exist (spec.gateway); absent: none was seen. */
  gateway?: ObservedGateway;
}

/** The query side's objects (specs/gateway.ts), each present or not. */
export interface ObservedGateway {
  deployment: boolean;
  service: boolean;
  hdbDeployment: boolean;
  hdbService: boolean;
  rdbService: boolean;
}

export interface ObservedMergeJob {
  name: string;
  phase: 'Running' | 'Succeeded' | 'Failed';
}

export interface ObservedTickerplant {
  /** replicas: the StatefulSet's spec.replicas (0 while hibernated). */
  statefulSet: 'missing' | { ready: boolean; replicas?: number };
  service: boolean;
  /** kdb-operator.dev/spec-hash on the StatefulSet: the template it runs; absent when an older operator made it. */
  templateHash?: string;
  /** The hash of the template the spec asks for now (specs tickerplantTemplateHash); absent: not computed, changes apply as before. */
  desiredTemplateHash?: string;
}

export type EfsObservation =
  /** AWS unreachable: say so, keep what exists. */
  | 'unknown'
  | 'missing'
  | {
      /** EFS LifeCycleState: creating | available | updating | deleting | deleted | error */
      lifeCycleState: string;
      /** The access point for this cluster, when one exists (storage.efs.accessPoint.create). */
      accessPointId?: string;
    };

export interface ObservedStorage {
  efs: EfsObservation;
  /** PV + bound PVC for the tickerplant log and for the HDB. */
  logVolume: boolean;
  hdbVolume: boolean;
}

export interface ObservedPool {
  /** The pool's ASG; 'unknown' while AWS is unreachable; 'missing' when no group matches. */
  asg: ObservedAsg | 'unknown' | 'missing';
  /** How the ASG was looked up and which groups matched: set when asg is 'missing' (none, or several: never guessed). */
  asgLookup?: AsgLookup;
  /** Nodes of the pool's node group. */
  nodes: ObservedNode[];
  /** RDB pods of this pool owned by the cluster (terminating ones included). */
  pods: ObservedRdbPod[];
  /**
   * For a pool no longer in the spec (draining): the pool as its pods were
   * built (image, memory, node group, tables, syms, thresholds), so a lost
   * RDB of it can still be replaced. Absent for pools of the spec.
   */
  removedPoolSpec?: RdbPoolSpec;
  /** The hash of the pod template the pool's spec asks for now (specs rdbPoolTemplateHash); absent: not computed. */
  desiredPodHash?: string;
}

/** Shaped like operator/src/aws Group, so the controller can pass it through. */
export interface ObservedAsg {
  name: string;
  desired: number;
  min: number;
  max: number;
  instances: ObservedInstance[];
  suspendedProcesses: string[];
  newInstancesProtectedFromScaleIn: boolean;
  /** The KdbCluster that claimed the group (its kdb-operator.dev/owner tag), if any. */
  owner?: string;
}

export interface AsgLookup {
  /** What was asked, e.g. `tags eks:cluster-name=prod, eks:nodegroup-name=rdb`. */
  query: string;
  /** Names of the groups that matched. */
  matches: string[];
  /** Why no lookup could be made (e.g. the operator has no EKS cluster name). */
  problem?: string;
}

export interface ObservedInstance {
  instanceId: string;
  /** InService, Pending, Terminating, Terminating:Wait, Terminated, Standby... */
  lifecycleState: string;
  protectedFromScaleIn: boolean;
  zone: string;
}

export interface ObservedNode {
  name: string;
  /** From spec.providerID aws:///<zone>/<instance-id> (see providerId.ts). */
  instanceId?: string;
  ready: boolean;
  unschedulable: boolean;
  annotations: Record<string, string>;
  /**
   * Pods on the node that are not this cluster's RDB pods and still run
   * ("namespace/name"; DaemonSet pods left out): another cluster's RDB, our
   * own tickerplant. Terminating the node would kill them.
   */
  otherPods?: string[];
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ObservedRdbPod {
  name: string;
  /** metadata.uid and metadata.resourceVersion as observed: a scale-in delete is conditional on both. */
  uid?: string;
  resourceVersion?: string;
  /** metadata.creationTimestamp (ISO time): predictive scale-out measures the lead time from it. */
  createdAt?: string;
  /** spec.nodeName; absent while waiting for a node. */
  node?: string;
  phase: PodPhase;
  deletionTimestamp?: string;
  /** The lost RDB whose window this pod replays (KDB_REPLACES). */
  replaces?: string;
  /** The trading day of that window (KDB_REPLACES_DAY), when it was asked for one. */
  replacesDay?: string;
  /**
   * The thresholds the RDB was started with (KDB_SCALE_THRESHOLD and
   * KDB_ROLL_THRESHOLD in its environment): it rolls at its own, whatever
   * the spec says now; absent for pods that do not carry them.
   */
  thresholds?: { scale: number; roll: number };
  /** kdb-operator.dev/spec-hash: the pool template the pod was built from; absent on pods of an older operator. */
  specHash?: string;
  /** What the agent reported on the pod; absent until the RDB first reports, or when its report is invalid. */
  rdb?: RdbReport;
  /** Why the pod's report was refused (it then counts as no report): what the Warning Event says. */
  invalidReport?: InvalidRdbReport;
  /**
   * Never observed: the planner sets it (context.ts) when the pod's node is
   * NotReady, unreachable or gone. What such a pod reported is stale, and
   * whatever it held counts as lost.
   */
  nodeLost?: boolean;
}

export interface InvalidRdbReport {
  /** The annotation and the field in it, e.g. `kdb-operator.dev/rdb-status: day`. */
  field: string;
  message: string;
  /** Digest of the annotation values refused: one Warning per distinct bad report. */
  fingerprint: string;
}

/** The agent's pod conditions and annotations, decoded. */
export interface RdbReport {
  state: RdbState;
  /** kdb-operator.dev/Live */
  live: boolean;
  /** kdb-operator.dev/Rolled */
  rolled: boolean;
  /** kdb-operator.dev/DataFlushed: holds nothing that is not already on the shared volume. */
  dataFlushed: boolean;
  flushedDays: string[];
  day?: string;
  /** kdb-operator.dev/memory-percent */
  memoryPercent?: number;
  window?: { firstI: number; lastI: number | null };
  /**
   * It holds rows in memory (summary rows > 0; the agent always reports the
   * step between none and some). Absent: unknown, taken as holding rows.
   */
  holdsRows?: boolean;
  /** Rows it holds, all tables, as of its last annotation write (for metrics; the plan does not use it). */
  rows?: number;
  /** When the RDB wrote what this report says (ISO time): scaling reactions are timed from it. */
  reportedAt?: string;
  /** Why its data plane cannot go on as it should (WindowPastLog, Renumbered): Degraded. */
  error?: { reason: 'WindowPastLog' | 'Renumbered'; message: string };
}

// ---- actions

export type EventType = 'Normal' | 'Warning';

export interface ClusterEvent {
  type: EventType;
  /** CamelCase, stable: alerting keys on it. */
  reason: string;
  message: string;
}

/** Lost: it held unflushed data (a replacement replays it). Failed: failed, or on a lost node, holding nothing. */
export type DeleteReason = 'ScaleIn' | 'Lost' | 'Failed' | 'WindDown' | 'Outdated';

export interface PodPrecondition {
  uid: string;
  resourceVersion: string;
}

/**
 * What the effectors do, in list order. A failed action stops the list: the
 * ones after it may depend on it (a scale-in step is recorded before it runs).
 */
export type Action =
  | { kind: 'EnsureEfsAccessPoint'; fileSystemId: string }
  | { kind: 'EnsureStorageVolumes'; fileSystemId: string; accessPointId?: string }
  /**
   * replicas 0: hibernated (the log and its volume stay). keepStatefulSet: its
   * template change waits for a safe moment (spec.updates); the Service and PDB are applied.
   */
  | { kind: 'EnsureTickerplant'; reason: string; replicas?: 0 | 1; keepStatefulSet?: true }
  /**
   * Ask the tickerplant to end trading day `day` now, if that is still its
   * day (so a repeat after a crash ends nothing twice): every RDB then
   * flushes it as at a scheduled end of day.
   */
  | { kind: 'EndTradingDay'; day: string; reason: 'Deletion' | 'Hibernation' | 'Requested' }
  /**
   * Ask the tickerplant to roll `rdb`, the pool's live RDB, now and hand the
   * feed to `next`, a queued RDB (plan-updates.ts: the live RDB is moved onto
   * a new pool spec). The tickerplant rolls only while `rdb` is still live
   * and only onto a queued RDB that is connected, so a repeat rolls nothing.
   */
  | { kind: 'RollLiveRdb'; pool: string; rdb: string; next: string }
  /** Deletion is complete: node-group claims and access points are released and the finalizer removed. */
  | { kind: 'ReleaseCluster' }
  /** Apply the gateway, the HDB and the RDBs' headless Service (server-side apply). */
  | { kind: 'EnsureGateway'; reason: string }
  /** spec.gateway.enabled went false: delete those objects (by name; a missing one is fine). */
  | { kind: 'DeleteGateway' }
  /** `name` is rdbPodName(cluster, pool, ordinal); the builder takes the ordinal. */
  /** `poolSpec`: for a draining pool (not in the spec any more), the pool to build the pod from. */
  /** replacesDay: the trading day of the lost window (KDB_REPLACES_DAY), so a window of the day before is replayed from that day's log. */
  | { kind: 'EnsureRdbPod'; pool: string; name: string; ordinal: number; replaces?: string; replacesDay?: string; poolSpec?: RdbPoolSpec }
  /** WindDown: a wind-down removes an RDB that holds nothing still owed (no server to hand back, or never placed). */
  | { kind: 'DeleteRdbPod'; pool: string; pod: string; reason: 'Lost' | 'Failed' | 'WindDown' }
  /** The victim exactly as the plan saw it: a pod changed since (new uid or resourceVersion) is not deleted. */
  | { kind: 'DeleteRdbPod'; pool: string; pod: string; reason: 'ScaleIn'; precondition: PodPrecondition }
  /** A queued RDB built from an older pool spec, holding nothing: replaced by one of the new spec (plan-updates.ts). */
  | { kind: 'DeleteRdbPod'; pool: string; pod: string; reason: 'Outdated'; precondition: PodPrecondition }
  | { kind: 'CordonNode'; node: string }
  | { kind: 'UncordonNode'; node: string }
  | { kind: 'AnnotateNode'; node: string; annotations: Record<string, string> }
  | { kind: 'SuspendAZRebalance'; group: string }
  | { kind: 'ProtectNewInstances'; group: string }
  | { kind: 'SetInstanceProtection'; group: string; instanceIds: string[]; protect: boolean }
  /** Only ever raises: `value` > `observed`. The effector must not write below a fresh read either. */
  /** `since`: when the report that set off this scale-out was written (for the reaction-time metric). */
  | { kind: 'SetDesiredCapacity'; group: string; value: number; observed: number; reason: string; since?: string }
  /** `since`: when the RDB reported its data flushed (for the reaction-time metric). */
  /** `node`/`pod`: the victim's node and RDB pod; the effector re-reads the node and refuses while any other pod runs there. */
  | { kind: 'TerminateInstanceInGroup'; group: string; instanceId: string; decrement: true; since?: string; node?: string; pod?: string }
  /** Tag the ASG as this cluster's (kdb-operator.dev/owner = owner) unless another cluster's tag is there. */
  | { kind: 'ClaimNodeGroup'; group: string; owner: string }
  /**
   * Persist one of the pool's scale-in records, the one of `instanceId` (null
   * clears it), before the step it names runs. Consecutive ones are written
   * together, in one status write.
   */
  | { kind: 'RecordScaleInStep'; pool: string; instanceId: string; record: ScaleInRecord | null }
  /** Create the day's merge Job unless it exists (`job` is its name, from planner mergeJobName). */
  | { kind: 'EnsureMergeJob'; day: string; job: string }
  | { kind: 'UpdateStatus'; status: KdbClusterStatus }
  | { kind: 'EmitEvent'; event: ClusterEvent }
  | { kind: 'RequeueAfter'; ms: number };

export type ActionKind = Action['kind'];
export type ActionOf<K extends ActionKind> = Extract<Action, { kind: K }>;

/** Why a pool could not grow, for the CapacityLimited condition. */
export type CapacityLimit = 'MaxRdbs' | 'AsgMaxSize';

export interface LostRdb {
  name: string;
  /** The window owner the replacement replays (the lost RDB, or what it was itself replaying). */
  replaces: string;
  firstI?: number;
  lastI?: number;
  /** The trading day of the window, from the lost RDB's last report. */
  day?: string;
  /** The replacement pod created for it in this plan, or the one seen replaying it. */
  replacement?: string;
}
