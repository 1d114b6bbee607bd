// Installing the EFS CSI driver registers a CSIDriver that needs no attach;
// without it the attach/detach controller waits on an external attacher
// that does not exist here, and reports FailedAttachVolume on every EFS pod.
import type { StorageV1Api } from '@kubernetes/client-node';
import { errMsg, log } from './log.ts';

export const ensureEfsCsiDriver = async (storage: StorageV1Api): Promise<void> => {
  try {
    await storage.createCSIDriver({
      body: {
        metadata: { name: 'efs.csi.aws.com', labels: { 'app.kubernetes.io/managed-by': 'kdb-operator-nodesim' } },
        spec: { attachRequired: false, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
      },
    });
    log.info('registered CSIDriver efs.csi.aws.com');
  } catch (e) {
    if ((e as { code?: number }).code !== 409) log.warn('could not register CSIDriver efs.csi.aws.com', { error: errMsg(e) });
  }
};
