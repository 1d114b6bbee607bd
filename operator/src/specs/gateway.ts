import type { KdbCluster } from '../api/kdbcluster.ts';
import type { V1Deployment, V1Service } from '../kube/types.ts';
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

export const hdbService = (c: KdbCluster): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: ownedMetadata(c, hdbName(c), hdbLabels(c)),
  spec: {
    type: 'ClusterIP',
    selector: hdbLabels(c),
    ports: [{ name: 'kdb', port: c.spec.gateway.hdb.port, targetPort: c.spec.gateway.hdb.port }],
  },
});

export const gatewayService = (c: KdbCluster): V1Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: ownedMetadata(c, gatewayName(c), gatewayLabels(c)),
  spec: {
    type: 'ClusterIP',
    selector: gatewayLabels(c),
    ports: [{ name: 'kdb', port: c.spec.gateway.port, targetPort: c.spec.gateway.port }],
  },
});

/**
 * The reference HDB (args: hdb): one replica reading the cluster's HDB folder
 * on EFS, mounted read-only (the merge Job is the only writer). A restart
 * loses nothing: the days are on EFS.
 */
export const hdbDeployment = (c: KdbCluster, priority: PriorityClasses = {}): V1Deployment => {
  const hdb = c.spec.gateway.hdb;
  const labels = hdbLabels(c);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMetadata(c, hdbName(c), labels),
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [LABEL.nodeGroup]: queryNodeGroup(c) },
          terminationGracePeriodSeconds: 30,
          ...priorityClassField(priority.query),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(),
          containers: [
            {
              name: 'hdb',
              image: hdbImage(c),
              args: ['hdb'],
              ports: [{ name: 'kdb', containerPort: hdb.port }],
              env: [
                ...fieldEnv,
                { name: 'KDB_HDB_DIR', value: efsPaths(c).hdbDir },
                { name: 'KDB_HDB_PORT', value: String(hdb.port) },
                ...licenseEnv(c.spec.kdbLicenseSecret),
              ],
              securityContext: restrictedContainerSecurityContext(),
              readinessProbe: { tcpSocket: { port: hdb.port }, periodSeconds: 2 },
              resources: resourceRequirements(hdb.resources ?? DEFAULT_HDB_RESOURCES),
              volumeMounts: [{ name: 'efs', mountPath: EFS_MOUNT, readOnly: true }, scratchMount()],
            },
          ],
          volumes: [{ name: 'efs', persistentVolumeClaim: { claimName: pvcName(c), readOnly: true } }, scratchVolume()],
        },
      },
    },
  };
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
  const labels = gatewayLabels(c);
  const creds = gw.credentialsSecret;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMetadata(c, gatewayName(c), labels),
    spec: {
      replicas: gw.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [LABEL.nodeGroup]: queryNodeGroup(c) },
          terminationGracePeriodSeconds: 30,
          ...priorityClassField(priority.query),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(),
          containers: [
            {
              name: 'gateway',
              image: gatewayImage(c),
              args: ['gateway'],
              ports: [{ name: 'kdb', containerPort: gw.port }],
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
              securityContext: restrictedContainerSecurityContext(),
              readinessProbe: { tcpSocket: { port: gw.port }, periodSeconds: 2 },
              resources: resourceRequirements(gw.resources ?? DEFAULT_GATEWAY_RESOURCES),
              volumeMounts: [scratchMount(), ...(creds ? [{ name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true }] : [])],
            },
          ],
          volumes: [
            scratchVolume(),
            // 0440: the pod's group (fsGroup) reads it, nobody else; only the one key, as the file the env names.
            ...(creds ? [{ name: 'credentials', secret: { secretName: creds.name, items: [{ key: creds.key, path: 'credentials' }], defaultMode: 0o440 } }] : []),
          ],
        },
      },
    },
  };
};
