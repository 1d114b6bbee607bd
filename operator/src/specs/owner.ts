import type { KdbCluster } from '../api/kdbcluster.ts';
import { API_GROUP_VERSION, KIND } from '../api/kdbcluster.ts';
import type { V1OwnerReference } from '../kube/types.ts';

/** Owned objects go with their KdbCluster through Kubernetes garbage collection. */
export const ownerReference = (c: Pick<KdbCluster, 'metadata'>): V1OwnerReference => ({
  apiVersion: API_GROUP_VERSION,
  kind: KIND,
  name: c.metadata.name,
  uid: c.metadata.uid ?? '',
  controller: true,
  blockOwnerDeletion: true,
});
