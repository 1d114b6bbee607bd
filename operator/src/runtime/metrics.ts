import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileResult = 'success' | 'error' | 'terminal' | 'requeue';
export type AwsCallOutcome = 'success' | 'throttled' | 'error' | 'retry';
export type ScaleDirection = 'out' | 'in';

/** Lets the AWS layer count its calls without importing prom-client. */
export type AwsCallRecorder = (operation: string, outcome: string) => void;

export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'controller'>;
  readonly awsCallsTotal: Counter<'operation' | 'outcome'>;
  readonly scaleEventsTotal: Counter<'pool' | 'direction'>;
  readonly reactionSeconds: Histogram<'direction'>;
  readonly kubeRequestsTotal: Counter<'verb' | 'code'>;
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

  return {
    registry,
    reconcileTotal,
    reconcileDuration,
    workqueueDepth,
    awsCallsTotal,
    scaleEventsTotal,
    reactionSeconds,
    kubeRequestsTotal,
    recordAwsCall: (operation, outcome) => awsCallsTotal.inc({ operation, outcome }),
    recordScaleEvent: (pool, direction) => scaleEventsTotal.inc({ pool, direction }),
    observeReaction: (direction, seconds) => reactionSeconds.observe({ direction }, seconds),
  };
};
