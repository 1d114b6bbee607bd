import type { LeaseRecord, LeaseStore, StoredLease } from '../runtime/leader-election.ts';
import type { KubeApi } from './api.ts';
import { rfc3339Micro } from './patch.ts';
import type { V1Lease } from './types.ts';

const toRecord = (lease: V1Lease): StoredLease => {
  const spec = lease.spec ?? {};
  const ms = (t: string | undefined): number | undefined => (t ? Date.parse(t) : undefined);
  return {
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTimeMs: ms(spec.acquireTime),
      renewTimeMs: ms(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
};

const toSpec = (r: LeaseRecord): NonNullable<V1Lease['spec']> => ({
  holderIdentity: r.holderIdentity,
  leaseDurationSeconds: r.leaseDurationSeconds,
  leaseTransitions: r.leaseTransitions,
  ...(r.acquireTimeMs !== undefined ? { acquireTime: rfc3339Micro(r.acquireTimeMs) } : {}),
  ...(r.renewTimeMs !== undefined ? { renewTime: rfc3339Micro(r.renewTimeMs) } : {}),
});

/**
 * A coordination.k8s.io/v1 Lease as the leader-election store. Updates are
 * PUTs carrying the resourceVersion read last, so the API server rejects a
 * write based on a stale read with 409 (optimistic concurrency). No retries
 * here: the elector retries on its own schedule.
 */
export const kubeLeaseStore = (api: KubeApi, namespace: string, name: string): LeaseStore => {
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name, namespace };
  return {
    describe: () => `${namespace}/${name}`,
    async get(signal) {
      const lease = await api.get<V1Lease>(ref, { signal });
      return lease ? toRecord(lease) : undefined;
    },
    async create(record, signal) {
      const lease = await api.create<V1Lease>(
        { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name, namespace }, spec: toSpec(record) },
        { signal },
      );
      return toRecord(lease);
    },
    async update(record, resourceVersion, signal) {
      const lease = await api.replace<V1Lease>(
        { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name, namespace, resourceVersion }, spec: toSpec(record) },
        { signal },
      );
      return toRecord(lease);
    },
  };
};
