import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileResult = 'success' | 'error' | 'terminal' | 'requeue';
export type AwsCallOutcome = 'success' | 'throttled' | 'error' | 'retry';
export type ScaleDirection = 'out' | 'in';

/** Labels of the per-cluster and per-pool gauges (set from status: controllers/kdbcluster/status-metrics.ts). */
export type ClusterLabel = 'namespace' | 'cluster';
export type PoolLabel = ClusterLabel | 'pool';

/** Lets the AWS layer count its calls without importing prom-client. */
export type AwsCallRecorder = (operation: string, outcome: string) => void;

export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'controller'>;
  /** Seconds the key at the head of the queue has waited, read from the queue at each scrape. */
  readonly workqueueLongestWait: Gauge<'controller'>;
  /** The controller's queue, to read the longest wait from at scrape time. */
  watchWorkqueue(controller: string, longestWaitMs: () => number): void;
  readonly awsCallsTotal: Counter<'operation' | 'outcome'>;
  readonly scaleEventsTotal: Counter<'pool' | 'direction'>;
  readonly reactionSeconds: Histogram<'direction'>;
  readonly kubeRequestsTotal: Counter<'verb' | 'code'>;
  /** 1 for the cluster's phase, 0 for the others. */
  readonly clusterPhase: Gauge<ClusterLabel | 'phase'>;
  /** 1 while the condition is True, 0 while False or Unknown. */
  readonly clusterCondition: Gauge<ClusterLabel | 'type'>;
  readonly poolRdbs: Gauge<PoolLabel | 'state'>;
  readonly poolDesiredCapacity: Gauge<PoolLabel>;
  readonly poolLiveMemoryPercent: Gauge<PoolLabel>;
  readonly poolRows: Gauge<PoolLabel>;
  readonly poolSecondsToRoll: Gauge<PoolLabel>;
  readonly poolLeadTimeSeconds: Gauge<PoolLabel>;
  readonly poolQueueCushionSeconds: Gauge<PoolLabel>;
  readonly poolLastScaleEvent: Gauge<PoolLabel | 'direction'>;
  recordAwsCall: AwsCallRecorder;
  recordScaleEvent(pool: string, direction: ScaleDirection): void;
  /** Seconds from the trigger (fill seen / flush reported) to the AWS action. */
  observeReaction(direction: ScaleDirection, seconds: number): void;
}

/**
 * One registry per process (or per test), never prom-client's global one, so
 * two operators in one test process do not collide.
 */
export const createMetrics = (opts: { defaultMetrics?: boolean; registry?: Registry } = {}): OperatorMetrics => {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics ?? false) collectDefaultMetrics({ register: registry, prefix: 'kdb_operator_' });
  const registers = [registry];

  const reconcileTotal = new Counter({
    name: 'kdb_operator_reconcile_total',
    help: 'Reconciles by outcome',
    labelNames: ['controller', 'result'] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: 'kdb_operator_reconcile_duration_seconds',
    help: 'Time spent in one reconcile',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const workqueueDepth = new Gauge({
    name: 'kdb_operator_workqueue_depth',
    help: 'Keys waiting in the work queue',
    labelNames: ['controller'] as const,
    registers,
  });
  const queues = new Map<string, () => number>();
  // Read at scrape time: a wait grows with no event to report it.
  const workqueueLongestWait = new Gauge({
    name: 'kdb_operator_workqueue_longest_wait_seconds',
    help: 'Seconds the longest-waiting key in the work queue has waited for a worker',
    labelNames: ['controller'] as const,
    registers,
    collect() {
      for (const [controller, ms] of queues) this.set({ controller }, ms() / 1000);
    },
  });
  const awsCallsTotal = new Counter({
    name: 'kdb_operator_aws_calls_total',
    help: 'AWS API calls by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const scaleEventsTotal = new Counter({
    name: 'kdb_operator_scale_events_total',
    help: 'Scale-out and scale-in actions per RDB pool',
    labelNames: ['pool', 'direction'] as const,
    registers,
  });
  const reactionSeconds = new Histogram({
    name: 'kdb_operator_reaction_seconds',
    help: 'Seconds from a scaling trigger being observed to the AWS call',
    labelNames: ['direction'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers,
  });
  const kubeRequestsTotal = new Counter({
    name: 'kdb_operator_kube_requests_total',
    help: 'Kubernetes API requests by verb and HTTP status (0 = no response)',
    labelNames: ['verb', 'code'] as const,
    registers,
  });

  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    new Gauge({ name, help, labelNames, registers });
  const pool = ['namespace', 'cluster', 'pool'] as const;
  const clusterPhase = gauge('kdb_operator_cluster_phase', 'KdbCluster phase: 1 for the current one, 0 for the others', ['namespace', 'cluster', 'phase'] as const);
  const clusterCondition = gauge('kdb_operator_cluster_condition', 'KdbCluster condition: 1 while True, 0 while False or Unknown', ['namespace', 'cluster', 'type'] as const);
  const poolRdbs = gauge('kdb_operator_pool_rdbs', 'RDBs of the pool by state, as status shows them (every state, 0 when none)', [...pool, 'state'] as const);
  const poolDesiredCapacity = gauge('kdb_operator_pool_desired_capacity', "Desired capacity of the pool's node group (ASG) as planned", pool);
  const poolLiveMemoryPercent = gauge('kdb_operator_pool_live_memory_percent', "The live RDB's memory, percent of its limit, as it last reported; absent with no live RDB", pool);
  const poolRows = gauge('kdb_operator_pool_rows', "Rows the pool's RDBs hold, summed from their last reports (an RDB re-reports at each whole percent of memory)", pool);
  const poolSecondsToRoll = gauge('kdb_operator_pool_seconds_to_roll', 'Predictive pools: seconds until the live RDB reaches its roll threshold at the measured fill rate', pool);
  const poolLeadTimeSeconds = gauge('kdb_operator_pool_lead_time_seconds', 'Predictive pools: median measured lead time, RDB pod created to RDB queued', pool);
  const poolQueueCushionSeconds = gauge(
    'kdb_operator_pool_queue_cushion_seconds',
    'Predictive pools: seconds to roll minus the seconds until a queued RDB is ready (0 when one is queued); below 0 the live RDB rolls before its successor can take over',
    pool,
  );
  const poolLastScaleEvent = gauge('kdb_operator_pool_last_scale_event_timestamp_seconds', "Unix time of this operator process's last scale-out (desired capacity raised) or scale-in (instance terminated) of the pool", [...pool, 'direction'] as const);

  return {
    registry,
    reconcileTotal,
    reconcileDuration,
    workqueueDepth,
    workqueueLongestWait,
    watchWorkqueue: (controller, longestWaitMs) => void queues.set(controller, longestWaitMs),
    awsCallsTotal,
    scaleEventsTotal,
    reactionSeconds,
    kubeRequestsTotal,
    clusterPhase,
    clusterCondition,
    poolRdbs,
    poolDesiredCapacity,
    poolLiveMemoryPercent,
    poolRows,
    poolSecondsToRoll,
    poolLeadTimeSeconds,
    poolQueueCushionSeconds,
    poolLastScaleEvent,
    recordAwsCall: (operation, outcome) => awsCallsTotal.inc({ operation, outcome }),
    recordScaleEvent: (pool, direction) => scaleEventsTotal.inc({ pool, direction }),
    observeReaction: (direction, seconds) => reactionSeconds.observe({ direction }, seconds),
  };
};
