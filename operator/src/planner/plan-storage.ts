import type { ConditionValue } from './conditions.ts';
import type { Action, Observed } from './types.ts';

/**
 * EFS backs the tickerplant log and the HDB. The file system is the user's
 * (spec.storage.efs.fileSystemId); the operator may create an access point
 * and always makes the PVs/PVCs. Without AWS the volumes can still be made
 * from the id alone, unless they need an access point id AWS has to tell.
 */
export interface StoragePlan {
  actions: Action[];
  ready: boolean;
  condition: ConditionValue;
  /** A reason the cluster cannot work as asked (for Degraded), if any. */
  problem: string | undefined;
}

export const planStorage = (o: Observed): StoragePlan => {
  const efs = o.cluster.spec.storage.efs;
  const seen = o.storage.efs;
  const volumes = o.storage.logVolume && o.storage.hdbVolume;
  const cond = (status: 'True' | 'False' | 'Unknown', reason: string, message: string): ConditionValue => ({
    type: 'StorageReady',
    status,
    reason,
    message,
  });

  if (seen === 'missing') {
    return {
      actions: [],
      ready: false,
      condition: cond('False', 'EfsNotFound', `EFS file system ${efs.fileSystemId} not found: check storage.efs.fileSystemId`),
      problem: `EFS file system ${efs.fileSystemId} not found`,
    };
  }
  if (seen !== 'unknown' && seen.lifeCycleState !== 'available') {
    return {
      actions: [],
      ready: false,
      condition: cond('False', 'EfsNotAvailable', `EFS file system ${efs.fileSystemId} is ${seen.lifeCycleState}`),
      // Still being created is not a fault; deleting, deleted or error is.
      problem: seen.lifeCycleState === 'creating' ? undefined : `EFS file system ${efs.fileSystemId} is ${seen.lifeCycleState}`,
    };
  }
  const actions: Action[] = [];
  let accessPointId: string | undefined;
  if (efs.accessPoint.create) {
    if (seen === 'unknown') {
      if (!volumes) {
        return {
          actions: [],
          ready: false,
          condition: cond('Unknown', 'AwsUnavailable', 'waiting for AWS to create or find the EFS access point'),
          problem: undefined,
        };
      }
    } else if (seen.accessPointId === undefined) {
      return {
        actions: [{ kind: 'EnsureEfsAccessPoint', fileSystemId: efs.fileSystemId }],
        ready: false,
        condition: cond('False', 'CreatingAccessPoint', `creating an access point on ${efs.fileSystemId}`),
        problem: undefined,
      };
    } else accessPointId = seen.accessPointId;
  }
  if (!volumes) {
    actions.push({
      kind: 'EnsureStorageVolumes',
      fileSystemId: efs.fileSystemId,
      ...(accessPointId !== undefined ? { accessPointId } : {}),
    });
    return {
      actions,
      ready: false,
      condition: cond('False', 'VolumesPending', 'creating the log and HDB volumes'),
      problem: undefined,
    };
  }
  return {
    actions,
    ready: true,
    condition: cond('True', 'VolumesBound', `log and HDB volumes on ${efs.fileSystemId} are bound`),
    problem: undefined,
  };
};
