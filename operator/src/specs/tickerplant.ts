import type { KdbCluster, Resources } from '../api/kdbcluster.ts';
import { DEFAULT_TICKERPLANT_RESOURCES } from './default-resources.ts';
import { quantityOrUndefined } from '../api/quantity.ts';
import type { V1PodDisruptionBudget, V1Service, V1StatefulSet } from '../kube/types.ts';
import { ANNOTATION, LABEL, clusterLabels, pvcName, tickerplantName } from './names.ts';
import { templateHash } from './spec-hash.ts';
import { ownedMetadata } from './owner.ts';
import { EFS_MOUNT, efsPaths } from './storage.ts';
import { fieldEnv, licenseEnv, resourceRequirements } from './env.ts';
import { priorityClassField, type PriorityClasses } from './priority.ts';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, scratchMount, scratchVolume } from './security.ts';

const tpLabels = (c: KdbCluster): Record<string, string> => ({ ...clusterLabels(c), [LABEL.role]: 'tickerplant' });

/** Headless: the StatefulSet's governing Service, so RDBs reach the one tickerplant pod by name. */
export const tickerplantService = (c: KdbCluster): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: ownedMetadata(c, tickerplantName(c), tpLabels(c)),
  spec: {
    clusterIP: 'None',
    // RDBs must find a restarted tickerplant before it is Ready, to reconnect.
    publishNotReadyAddresses: true,
    selector: tpLabels(c),
    ports: tickerplantPorts(c).map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.containerPort })),
  },
});

/** The feed port the RDBs subscribe on, and the kdb+ IPC port q feedhandlers `.u.upd` to when spec.tickerplant.ipcPort is set. */
const tickerplantPorts = (c: KdbCluster): { name: string; containerPort: number }[] => [
  { name: 'tick', containerPort: c.spec.tickerplant.port },
  ...(c.spec.tickerplant.ipcPort !== undefined ? [{ name: 'ipc', containerPort: c.spec.tickerplant.ipcPort }] : []),
];

/**
 * The reference tickerplant's /metrics port (KDB_METRICS_PORT; images/sim
 * tickerplant/metrics.ts), the container port named `metrics` the chart's
 * PodMonitor scrapes. Left out when the spec's own ports take it. The q
 * tickerplant (images/kdb) serves no metrics: its target shows down.
 */
export const TICKERPLANT_METRICS_PORT = 9464;

const metricsPortOf = (c: KdbCluster): number | undefined =>
  tickerplantPorts(c).some((p) => p.containerPort === TICKERPLANT_METRICS_PORT) ? undefined : TICKERPLANT_METRICS_PORT;

/** Pod annotations for scrapers configured by annotation (the prometheus.io convention) rather than a PodMonitor. */
const metricsAnnotations = (port: number | undefined): Record<string, string> =>
  port === undefined ? {} : { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' };

const MiB = 2 ** 20;

/**
 * What the tickerplant may buffer for one live RDB that does not read before
 * it rolls it: a quarter of its memory shared by the pools' live RDBs, from
 * 1 MiB to 64 MiB. Memory is the limit, else the request.
 */
export const subscriberBufferBytes = (c: KdbCluster): number => {
  const r: Resources = c.spec.tickerplant.resources ?? DEFAULT_TICKERPLANT_RESOURCES;
  const memory = quantityOrUndefined(r.limits?.memory) ?? quantityOrUndefined(r.requests?.memory);
  if (memory === undefined) return 64 * MiB;
  return Math.min(64 * MiB, Math.max(MiB, Math.floor(memory / 4 / Math.max(1, c.spec.rdbPools.length))));
};

/**
 * One tickerplant per cluster, a StatefulSet of one: Kubernetes restarts it
 * (the paper's ASG of size 1), and its log and subscriber table live on EFS so
 * a restart loses no queue state.
 */
/** replicas 0: hibernated; the log's claim and volume stay. */
export const tickerplantStatefulSet = (c: KdbCluster, priority: PriorityClasses = {}, replicas: 0 | 1 = 1): V1StatefulSet => {
  const template = tickerplantPodTemplate(c, priority);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    // The hash is on the StatefulSet, not in its template: writing it never restarts the pod.
    metadata: { ...ownedMetadata(c, tickerplantName(c), tpLabels(c)), annotations: { [ANNOTATION.specHash]: templateHash(template) } },
    spec: {
      replicas,
      serviceName: tickerplantName(c),
      // Never two tickerplants writing one log: the old pod is gone before the new one starts.
      podManagementPolicy: 'OrderedReady',
      selector: { matchLabels: tpLabels(c) },
      template,
    },
  };
};

/** The hash the tickerplant StatefulSet carries when built from this spec (kdb-operator.dev/spec-hash). */
export const tickerplantTemplateHash = (c: KdbCluster, priority: PriorityClasses = {}): string =>
  templateHash(tickerplantPodTemplate(c, priority));

type PodTemplate = NonNullable<V1StatefulSet['spec']>['template'];

/** Everything the tickerplant pod is built from: a change to any of it restarts the pod. */
const tickerplantPodTemplate = (c: KdbCluster, priority: PriorityClasses): PodTemplate => {
  const tp = c.spec.tickerplant;
  const paths = efsPaths(c);
  const metricsPort = metricsPortOf(c);
  return {
    metadata: { labels: tpLabels(c), annotations: { 'karpenter.sh/do-not-disrupt': 'true', ...metricsAnnotations(metricsPort) } },
    spec: {
      nodeSelector: { [LABEL.nodeGroup]: tp.nodeGroup },
      terminationGracePeriodSeconds: 30,
      ...priorityClassField(priority.tickerplant),
      automountServiceAccountToken: false,
      securityContext: restrictedPodSecurityContext(),
      containers: [
        {
          name: 'tickerplant',
          image: tp.image,
          args: ['tickerplant'],
          ports: [...tickerplantPorts(c), ...(metricsPort !== undefined ? [{ name: 'metrics', containerPort: metricsPort }] : [])],
          env: [
            ...fieldEnv,
            { name: 'KDB_TP_PORT', value: String(tp.port) },
            { name: 'KDB_LOG_DIR', value: paths.logDir },
            { name: 'KDB_STATE_DIR', value: paths.stateDir },
            { name: 'KDB_SCHEMA', value: JSON.stringify(tp.tables) },
            { name: 'KDB_EOD_TIME', value: tp.endOfDay.time },
            { name: 'KDB_TZ', value: tp.endOfDay.timeZone },
            { name: 'KDB_BATCH_MS', value: String(tp.batchMs) },
            { name: 'KDB_TP_SUBSCRIBER_BUFFER_BYTES', value: String(subscriberBufferBytes(c)) },
            ...(tp.ipcPort !== undefined ? [{ name: 'KDB_TP_IPC_PORT', value: String(tp.ipcPort) }] : []),
            ...(metricsPort !== undefined ? [{ name: 'KDB_METRICS_PORT', value: String(metricsPort) }] : []),
            ...licenseEnv(c.spec.kdbLicenseSecret),
          ],
          securityContext: restrictedContainerSecurityContext(),
          readinessProbe: { tcpSocket: { port: tp.port }, periodSeconds: 2 },
          resources: resourceRequirements(tp.resources ?? DEFAULT_TICKERPLANT_RESOURCES),
          volumeMounts: [{ name: 'efs', mountPath: EFS_MOUNT }, scratchMount()],
        },
      ],
      volumes: [{ name: 'efs', persistentVolumeClaim: { claimName: pvcName(c) } }, scratchVolume()],
    },
  };
};

/**
 * No voluntary eviction of the tickerplant (a node drain waits for you):
 * every RDB's feed goes through it. Involuntary loss is the StatefulSet's to
 * restart.
 */
export const tickerplantPodDisruptionBudget = (c: KdbCluster): V1PodDisruptionBudget => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: ownedMetadata(c, tickerplantName(c), tpLabels(c)),
  spec: { minAvailable: 1, selector: { matchLabels: tpLabels(c) } },
});
