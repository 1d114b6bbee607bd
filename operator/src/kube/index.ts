// The Kubernetes access layer. Other folders import from here only.
import type { Clock } from '../runtime/clock.ts';
import type { LeaseStore } from '../runtime/leader-election.ts';
import type { Logger } from '../runtime/log.ts';
import { silentLogger } from '../runtime/log.ts';
import type { OperatorMetrics } from '../runtime/metrics.ts';
import type { KubeApi } from './api.ts';
import { RestKubeApi } from './api.ts';
import type { KubeConfigOptions } from './client.ts';
import { loadKubeConfig } from './client.ts';
import type { EventRecorderOptions } from './events.ts';
import { EventRecorder } from './events.ts';
import type { InformerOptions } from './informer.ts';
import { Informer } from './informer.ts';
import { kubeLeaseStore } from './lease.ts';
import type { Permission } from './permissions.ts';
import { guardTransport } from './permissions.ts';
import type { Transport } from './rest.ts';
import { RestClient } from './rest.ts';
import type { KubeObject } from './types.ts';

export * from './types.ts';
export * from './errors.ts';
export * from './resources.ts';
export * from './patch.ts';
export type { KubeApi, ListWatcher, ListOptions, WatchOptions, DeleteOptions, ApplyOptions, PatchOptions, JsonPatchOp } from './api.ts';
export { RestKubeApi, FIELD_MANAGER, ContentType } from './api.ts';
export { Informer, GoneError, LAST_APPLIED, stripForCache, stripNodeForCache } from './informer.ts';
export type { Store, InformerOptions, AddHandler, UpdateHandler, DeleteHandler } from './informer.ts';
export { EventRecorder } from './events.ts';
export type { EventType, EventRecorderOptions } from './events.ts';
export { kubeLeaseStore } from './lease.ts';
export { RestClient, buildPath, parseRetryAfter } from './rest.ts';
export type { Transport, TransportRequest, TransportResponse, WatchEvent, RestOptions, RequestOptions, Query, HttpVerb } from './rest.ts';
export { loadKubeConfig, SERVICE_ACCOUNT_DIR } from './client.ts';
export { httpsTransport } from './https-transport.ts';
export type { HttpsTarget } from './https-transport.ts';
export { resolveKubeconfig } from './kubeconfig.ts';
export type { ClusterAccess, Resolution, KubeconfigFile } from './kubeconfig.ts';
export { inClusterTransport, inClusterAddress } from './in-cluster.ts';
export type { InClusterOptions, InClusterAddress } from './in-cluster.ts';
export { OPERATOR_PERMISSIONS, AGENT_PERMISSIONS, guardTransport, grantKeys, requestAttributes } from './permissions.ts';
export type { Permission, Verb, Scope, ResourceRequest } from './permissions.ts';
export type { KubeConfigOptions, LoadedConfig } from './client.ts';

export interface KubeClientOptions extends KubeConfigOptions {
  logger?: Logger;
  metrics?: OperatorMetrics;
  clock?: Clock;
  qps?: number;
  burst?: number;
  timeoutMs?: number;
  maxRetries?: number;
  /** Use this transport instead of one built from a kubeconfig (tests). */
  transport?: Transport;
  /** Refuse (403, before sending) every request this table does not grant: see permissions.ts. */
  permissions?: { table: readonly Permission[]; name: string };
}

export interface KubeClient {
  readonly api: KubeApi;
  readonly server: string;
  /** Namespace of the kubeconfig context / service account. */
  readonly namespace: string;
  informer<T extends KubeObject>(opts: Omit<InformerOptions, 'logger' | 'clock'> & { logger?: Logger }): Informer<T>;
  eventRecorder(opts: Omit<EventRecorderOptions, 'api' | 'clock' | 'logger'>): EventRecorder;
  leaseStore(namespace: string, name: string): LeaseStore;
}

/**
 * One client per process: one rate limiter and one connection pool shared by
 * every caller, like client-go's shared rest client.
 */
export const createKubeClient = (opts: KubeClientOptions = {}): KubeClient => {
  const log = opts.logger ?? silentLogger();
  let transport = opts.transport;
  let namespace = 'default';
  if (!transport) {
    const loaded = loadKubeConfig(opts);
    transport = loaded.transport;
    namespace = loaded.namespace;
    log.info('kubernetes client configured', { server: transport.server, source: loaded.source, client: loaded.client, ...(loaded.needs ? { needs: loaded.needs } : {}) });
  }
  if (opts.permissions) transport = guardTransport(transport, opts.permissions.table, opts.permissions.name);
  const kubeRequests = opts.metrics?.kubeRequestsTotal;
  const rest = new RestClient({
    transport,
    clock: opts.clock,
    logger: log,
    qps: opts.qps,
    burst: opts.burst,
    timeoutMs: opts.timeoutMs,
    maxRetries: opts.maxRetries,
    onResponse: kubeRequests ? (verb, code) => kubeRequests.inc({ verb, code: String(code) }) : undefined,
  });
  const api = new RestKubeApi(rest, { logger: log });
  return {
    api,
    server: transport.server,
    namespace,
    informer: <T extends KubeObject>(o: Omit<InformerOptions, 'logger' | 'clock'> & { logger?: Logger }) =>
      new Informer<T>(api, { ...o, logger: o.logger ?? log, clock: opts.clock }),
    eventRecorder: (o) => new EventRecorder({ ...o, api, clock: opts.clock, logger: log }),
    leaseStore: (ns, name) => kubeLeaseStore(api, ns, name),
  };
};
