import type { KdbCluster } from '../api/kdbcluster.ts';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '../kube/types.ts';
import { clusterLabels, pvName, pvcName } from './names.ts';
import { ownedMetadata } from './owner.ts';

/** Where the cluster's EFS volume is mounted in every pod. */
export const EFS_MOUNT = '/efs';

/**
 * Where a cluster keeps its files on the file system: the access point's root
 * when the operator made one (it is /kdb/<namespace>/<name>), else that same
 * folder below the file system's root. Two clusters on one file system never
 * share a tickerplant log, subscriber table or HDB.
 */
export const clusterRoot = (c: KdbCluster): string =>
  c.spec.storage.efs.accessPoint.create ? EFS_MOUNT : `${EFS_MOUNT}${clusterFolder(c)}`;
export const clusterFolder = (c: Pick<KdbCluster, 'metadata'>): string => `/kdb/${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;

export const efsPaths = (c: KdbCluster) => {
  const efs = c.spec.storage.efs;
  const root = clusterRoot(c);
  // The log and subscriber table belong to this incarnation of the cluster: a
  // cluster deleted and made again under the same name must not restore the
  // old one's queue (its RDB names come back with other data behind them).
  const logDir = `${root}${efs.logPath}/${c.metadata.uid ?? 'unknown'}`;
  return {
    logDir,
    stateDir: `${logDir}/state`,
    hdbDir: `${root}${efs.hdbPath}`,
    stagingDir: `${root}${efs.hdbPath}/.staging`,
  };
};

/**
 * A static PV of the EFS CSI driver. EFS has no size; the capacity is only
 * there because the API requires one. The PV itself is always Retain: EFS
 * data outlives any PV, and the cluster's reclaim policy acts on the access
 * point instead.
 */
export const efsPersistentVolume = (c: KdbCluster, accessPointId?: string): V1PersistentVolume => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: pvName(c), labels: clusterLabels(c) },
  spec: {
    capacity: { storage: '1Ti' },
    accessModes: ['ReadWriteMany'],
    persistentVolumeReclaimPolicy: 'Retain',
    storageClassName: '',
    volumeMode: 'Filesystem',
    claimRef: { namespace: c.metadata.namespace ?? 'default', name: pvcName(c) },
    csi: {
      driver: 'efs.csi.aws.com',
      volumeHandle: accessPointId
        ? `${c.spec.storage.efs.fileSystemId}::${accessPointId}`
        : c.spec.storage.efs.fileSystemId,
    },
  },
});

export const efsPersistentVolumeClaim = (c: KdbCluster): V1PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: ownedMetadata(c, pvcName(c), clusterLabels(c)),
  spec: {
    accessModes: ['ReadWriteMany'],
    storageClassName: '',
    volumeName: pvName(c),
    resources: { requests: { storage: '1Ti' } },
  },
});
