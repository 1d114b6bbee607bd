import type { KdbCluster } from '../api/kdbcluster.ts';
import { DEFAULT_MERGE_RESOURCES } from './default-resources.ts';
import type { V1Job } from '../kube/types.ts';
import { licenseEnv, resourceRequirements } from './env.ts';
import { ANNOTATION, LABEL, clusterLabels, pvcName } from './names.ts';
import { ownedMetadata } from './owner.ts';
import { priorityClassField } from './priority.ts';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, scratchMount, scratchVolume } from './security.ts';
import { EFS_MOUNT, efsPaths } from './storage.ts';

/** Finished merge Jobs stay a week for `kubectl logs`, then go; status keeps the outcome. */
export const MERGE_JOB_TTL_SECONDS = 7 * 24 * 3600;

export const mergeLabels = (c: KdbCluster): Record<string, string> => ({ ...clusterLabels(c), [LABEL.role]: 'merge' });

/**
 * The end-of-day merge of one day: the image's `merge` entrypoint reads the
 * day from KDB_MERGE_DAY and the slices from the staging area. Retries are
 * safe: a merged day is left alone.
 */
export const mergeJob = (c: KdbCluster, day: string, name: string, priorityClassName?: string): V1Job => {
  const paths = efsPaths(c);
  const merge = c.spec.merge;
  const labels = mergeLabels(c);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...ownedMetadata(c, name, labels), annotations: { [ANNOTATION.day]: day } },
    spec: {
      backoffLimit: 3,
      ttlSecondsAfterFinished: MERGE_JOB_TTL_SECONDS,
      template: {
        metadata: { labels, annotations: { [ANNOTATION.day]: day } },
        spec: {
          restartPolicy: 'Never',
          ...priorityClassField(priorityClassName),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(),
          nodeSelector: { [LABEL.nodeGroup]: merge.nodeGroup ?? c.spec.tickerplant.nodeGroup },
          containers: [
            {
              name: 'merge',
              image: merge.image ?? c.spec.rdbPools[0]?.image ?? c.spec.tickerplant.image,
              args: ['merge'],
              env: [
                { name: 'KDB_MERGE_DAY', value: day },
                { name: 'KDB_STAGING_DIR', value: paths.stagingDir },
                { name: 'KDB_HDB_DIR', value: paths.hdbDir },
                ...licenseEnv(c.spec.kdbLicenseSecret),
              ],
              securityContext: restrictedContainerSecurityContext(),
              resources: resourceRequirements(merge.resources ?? DEFAULT_MERGE_RESOURCES),
              volumeMounts: [{ name: 'efs', mountPath: EFS_MOUNT }, scratchMount()],
            },
          ],
          volumes: [{ name: 'efs', persistentVolumeClaim: { claimName: pvcName(c) } }, scratchVolume()],
        },
      },
    },
  };
};
