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

/** Metadata of an object the cluster owns in its own namespace. */
export const ownedMetadata = (c: Pick<KdbCluster, 'metadata'>, name: string, labels: Record<string, string>) => ({
  name,
  namespace: c.metadata.namespace ?? 'default',
  labels,
  ownerReferences: [ownerReference(c)],
});
