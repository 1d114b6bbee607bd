import type { KdbCluster } from '../api/kdbcluster.ts';
import type { V1Container, V1Deployment, V1Service, V1Volume } from '../kube/types.ts';
import { DEFAULT_GATEWAY_RESOURCES, DEFAULT_HDB_RESOURCES } from './default-resources.ts';
import { fieldEnv, licenseEnv, resourceRequirements } from './env.ts';
import { LABEL, clusterLabels, gatewayName, hdbName, pvcName, rdbServiceName, serviceHost } from './names.ts';
import { ownedMetadata } from './owner.ts';
import { priorityClassField, type PriorityClasses } from './priority.ts';
import { RDB_QUERY_PORT } from './rdb.ts';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, scratchMount, scratchVolume } from './security.ts';
import { EFS_MOUNT, efsPaths } from './storage.ts';

/**
 * The query side of a cluster (spec.gateway): the gateway Deployment and
 * Service clients connect to, the HDB Deployment and Service it asks for
 * merged days, and a headless Service over every RDB pod, whose addresses
 * are the RDBs it asks for today. Pure builders: the effector applies them.
 */

/** Where the credentials Secret is mounted in the gateway pod, and the file the gateway reads (KDB_IPC_CREDENTIALS_FILE). */
export const CREDENTIALS_DIR = '/etc/kdb-gateway';
export const CREDENTIALS_FILE = `${CREDENTIALS_DIR}/credentials`;

export const gatewayLabels = (c: KdbCluster): Record<string, string> => ({ ...clusterLabels(c), [LABEL.role]: 'gateway' });
export const hdbLabels = (c: KdbCluster): Record<string, string> => ({ ...clusterLabels(c), [LABEL.role]: 'hdb' });
/** Every RDB pod of the cluster, of every pool: what specs/rdb.ts rdbLabels share across pools. */
export const allRdbsSelector = (c: KdbCluster): Record<string, string> => ({ ...clusterLabels(c), [LABEL.role]: 'rdb' });

const gatewayImage = (c: KdbCluster): string => c.spec.gateway.image ?? c.spec.tickerplant.image;
const hdbImage = (c: KdbCluster): string => c.spec.gateway.hdb.image ?? gatewayImage(c);
/** Both run beside the tickerplant by default: its node group is always up, the RDB servers come and go. */
const queryNodeGroup = (c: KdbCluster): string => c.spec.gateway.nodeGroup ?? c.spec.tickerplant.nodeGroup;

/**
 * Headless, over every RDB pod, ready or not: a flushed RDB fails its
 * readiness but still serves its rows until the HDB has its day, and the
 * gateway must see a replaying one to wait for it rather than skip it.
 */
export const rdbHeadlessService = (c: KdbCluster): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: ownedMetadata(c, rdbServiceName(c), { ...clusterLabels(c), [LABEL.role]: 'rdb' }),
  spec: {
    clusterIP: 'None',
    publishNotReadyAddresses: true,
    selector: allRdbsSelector(c),
    ports: [{ name: 'query', port: RDB_QUERY_PORT, targetPort: RDB_QUERY_PORT }],
  },
});

/** A ClusterIP Service on the one kdb+ port of a query process. */
const kdbService = (c: KdbCluster, name: string, labels: Record<string, string>, port: number): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: ownedMetadata(c, name, labels),
  spec: {
    type: 'ClusterIP',
    selector: labels,
    ports: [{ name: 'kdb', port, targetPort: port }],
  },
});

export const hdbService = (c: KdbCluster): V1Service => kdbService(c, hdbName(c), hdbLabels(c), c.spec.gateway.hdb.port);

export const gatewayService = (c: KdbCluster): V1Service => kdbService(c, gatewayName(c), gatewayLabels(c), c.spec.gateway.port);

interface QueryProcess {
  name: string;
  labels: Record<string, string>;
  replicas: number;
  /** Its container: the skeleton adds the kdb+ port, the restricted context and the readiness probe on that port. */
  container: Omit<V1Container, 'ports' | 'securityContext' | 'readinessProbe'> & { name: string };
  port: number;
  volumes: V1Volume[];
}

/** The pod both query processes share: on the query node group, restricted, no API token, ready once its kdb+ port listens. */
const queryDeployment = (c: KdbCluster, priority: PriorityClasses, p: QueryProcess): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: ownedMetadata(c, p.name, p.labels),
  spec: {
    replicas: p.replicas,
    selector: { matchLabels: p.labels },
    template: {
      metadata: { labels: p.labels },
      spec: {
        nodeSelector: { [LABEL.nodeGroup]: queryNodeGroup(c) },
        terminationGracePeriodSeconds: 30,
        ...priorityClassField(priority.query),
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurityContext(),
        containers: [
          {
            ...p.container,
            ports: [{ name: 'kdb', containerPort: p.port }],
            securityContext: restrictedContainerSecurityContext(),
            readinessProbe: { tcpSocket: { port: p.port }, periodSeconds: 2 },
          },
        ],
        volumes: p.volumes,
      },
    },
  },
});

/**
 * The reference HDB (args: hdb): one replica reading the cluster's HDB folder
 * on EFS, mounted read-only (the merge Job is the only writer). A restart
 * loses nothing: the days are on EFS.
 */
export const hdbDeployment = (c: KdbCluster, priority: PriorityClasses = {}): V1Deployment => {
  const hdb = c.spec.gateway.hdb;
  return queryDeployment(c, priority, {
    name: hdbName(c),
    labels: hdbLabels(c),
    replicas: 1,
    port: hdb.port,
    container: {
      name: 'hdb',
      image: hdbImage(c),
      args: ['hdb'],
      env: [
        ...fieldEnv,
        { name: 'KDB_HDB_DIR', value: efsPaths(c).hdbDir },
        { name: 'KDB_HDB_PORT', value: String(hdb.port) },
        ...licenseEnv(c.spec.kdbLicenseSecret),
      ],
      resources: resourceRequirements(hdb.resources ?? DEFAULT_HDB_RESOURCES),
      volumeMounts: [{ name: 'efs', mountPath: EFS_MOUNT, readOnly: true }, scratchMount()],
    },
    volumes: [{ name: 'efs', persistentVolumeClaim: { claimName: pvcName(c), readOnly: true } }, scratchVolume()],
  });
};

/**
 * The gateway (args: gateway, gateway/src/config.ts reads the env): its RDBs
 * are the headless Service's addresses, looked up for each query; the
 * tickerplant's end of day tells it which day a time falls in. Credentials
 * come as a file from the Secret the spec names: never in env, never read by
 * the operator.
 */
export const gatewayDeployment = (c: KdbCluster, priority: PriorityClasses = {}): V1Deployment => {
  const gw = c.spec.gateway;
  const tp = c.spec.tickerplant;
  const creds = gw.credentialsSecret;
  return queryDeployment(c, priority, {
    name: gatewayName(c),
    labels: gatewayLabels(c),
    replicas: gw.replicas,
    port: gw.port,
    container: {
      name: 'gateway',
      image: gatewayImage(c),
      args: ['gateway'],
      env: [
        ...fieldEnv,
        { name: 'KDB_GATEWAY_PORT', value: String(gw.port) },
        { name: 'KDB_GATEWAY_RDB_SERVICE', value: `${serviceHost(c, rdbServiceName(c))}:${RDB_QUERY_PORT}` },
        { name: 'KDB_GATEWAY_HDB', value: `${serviceHost(c, hdbName(c))}:${gw.hdb.port}` },
        { name: 'KDB_EOD_TIME', value: tp.endOfDay.time },
        { name: 'KDB_TZ', value: tp.endOfDay.timeZone },
        ...(gw.rowLimit !== undefined ? [{ name: 'KDB_GATEWAY_ROW_LIMIT', value: String(gw.rowLimit) }] : []),
        ...(creds ? [{ name: 'KDB_IPC_CREDENTIALS_FILE', value: CREDENTIALS_FILE }] : []),
      ],
      resources: resourceRequirements(gw.resources ?? DEFAULT_GATEWAY_RESOURCES),
      volumeMounts: [scratchMount(), ...(creds ? [{ name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true }] : [])],
    },
    volumes: [
      scratchVolume(),
      // 0440: the pod's group (fsGroup) reads it, nobody else; only the one key, as the file the env names.
      ...(creds ? [{ name: 'credentials', secret: { secretName: creds.name, items: [{ key: creds.key, path: 'credentials' }], defaultMode: 0o440 } }] : []),
    ],
  });
};
