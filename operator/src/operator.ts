import { hostname } from 'node:os';
import { createAws } from './aws/index.ts';
import { kdbClusterController, workersFrom } from './controllers/kdbcluster/index.ts';
import { OPERATOR_PERMISSIONS, createKubeClient } from './kube/index.ts';
import { startHealthServer } from './runtime/http.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { drainThenRelease, exitOnLostLeadership } from './runtime/leadership.ts';
import type { Logger } from './runtime/log.ts';
import { createMetrics } from './runtime/metrics.ts';
import { Shutdown } from './runtime/shutdown.ts';

const env = (name: string, fallback: string): string => process.env[name] || fallback;

/** The operator process: informers -> work queue -> reconcile, behind leader election. */
export const runOperator = async (log: Logger): Promise<void> => {
  const metrics = createMetrics({ defaultMetrics: true });
  const kube = createKubeClient({ logger: log, metrics, permissions: { table: OPERATOR_PERMISSIONS, name: 'OPERATOR_PERMISSIONS' } });
  const aws = createAws(
    {},
    { observer: { onCall: (e) => metrics.awsCallsTotal.inc({ operation: e.operation, outcome: e.outcome }) } },
  );
  log.info('AWS client configured', aws.describe);
  const { controller, informers } = kdbClusterController({
    kube,
    aws,
    log,
    metrics,
    agentServiceAccount: env('KDB_AGENT_SERVICE_ACCOUNT', 'kdb-rdb-agent'),
    // The chart's PriorityClasses; empty (no chart classes) sets none rather than name one that does not exist.
    priorityClasses: {
      tickerplant: env('KDB_TICKERPLANT_PRIORITY_CLASS', ''),
      rdb: env('KDB_RDB_PRIORITY_CLASS', ''),
      merge: env('KDB_MERGE_PRIORITY_CLASS', ''),
      query: env('KDB_QUERY_PRIORITY_CLASS', ''),
    },
    // Node groups are found by EKS cluster and node group together; without it only rdbPools[].autoScalingGroupName works.
    eksClusterName: env('KDB_EKS_CLUSTER_NAME', ''),
    workers: workersFrom(process.env.KDB_WORKERS),
  });

  const http = await startHealthServer({
    port: Number(env('KDB_METRICS_PORT', '8080')),
    host: env('POD_IP', '0.0.0.0'),
    registry: metrics.registry,
  });
  const shutdown = new Shutdown({ logger: log });
  for (const inf of informers) inf.start();
  http.addReadyCheck('informers', () => (informers.every((i) => i.hasSynced()) ? true : 'informers not synced'));

  await Promise.all(informers.map((i) => i.waitForSync()));
  log.info('informers synced', { informers: informers.length });

  const startControllers = (): void => {
    log.info('leading: starting controllers');
    controller.start();
    for (const c of informers[0]!.list()) controller.enqueue(`${c.metadata?.namespace ?? 'default'}/${c.metadata?.name ?? ''}`);
  };
  let elector: LeaderElector | undefined;
  if (env('KDB_LEADER_ELECTION', 'true') === 'true') {
    const identity = env('POD_NAME', `${hostname()}-${process.pid}`);
    elector = new LeaderElector({
      // The chart's Role grants get/update on this one Lease name in the release namespace.
      store: kube.leaseStore(env('POD_NAMESPACE', kube.namespace), env('KDB_LEADER_ELECTION_LEASE', 'kdb-operator-leader')),
      identity,
      logger: log,
      onStartedLeading: startControllers,
      onStoppedLeading: exitOnLostLeadership(controller, log),
    });
    elector.start();
  } else startControllers();

  // The lease is held until every in-flight reconcile has finished, or the process exits holding it.
  drainThenRelease(shutdown, controller, elector);
  shutdown.add('informers', () => Promise.all(informers.map((i) => i.stop())));
  shutdown.add('http', () => http.close());
  shutdown.add('aws', () => aws.destroy());
};
