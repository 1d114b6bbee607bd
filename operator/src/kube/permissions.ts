// Every Kubernetes call the operator and the agent make, as RBAC sees it.
// The chart's ClusterRole and Roles must grant exactly this
// (test/unit/rbac-chart.test.ts), and the processes refuse, before it leaves,
// any request this table does not list (guardTransport below): a new call
// fails loudly in every test instead of being granted silently or refused by
// RBAC only on a real cluster.
import type { HttpVerb, Query, Transport, WatchEvent } from './rest.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/**
 * Where the chart grants it: `cluster` in the ClusterRole; `leader-lease` in a
 * Role of the release namespace restricted to the lease's name; `namespace`
 * in that Role without a name (create cannot be restricted by resourceNames).
 */
export type Scope = 'cluster' | 'leader-lease' | 'namespace';

export interface Permission {
  /** '' for the core group. */
  group: string;
  /** Plural, with '/subresource' for a subresource. */
  resource: string;
  verbs: readonly Verb[];
  scope: Scope;
  /** The calls that need it. */
  why: string;
  /** Checked by the API server on other calls, never requested itself: the guard never sees it. */
  implied?: true;
}

// Measured on the local stack (test/integration/agent-admission.test.ts): an
// apply PATCH of a missing object is refused without create.
const SSA_CREATES = 'server-side apply of an object that does not exist yet: the request is a patch, and the API server also checks create';

export const OPERATOR_PERMISSIONS: readonly Permission[] = [
  { group: 'kdb-operator.dev', resource: 'kdbclusters', verbs: ['list', 'watch'], scope: 'cluster', why: 'the KdbCluster informer' },
  { group: 'kdb-operator.dev', resource: 'kdbclusters', verbs: ['get', 'patch'], scope: 'cluster', why: 'KubeApi.addFinalizer/removeFinalizer: get, then a merge patch carrying its resourceVersion' },
  { group: 'kdb-operator.dev', resource: 'kdbclusters/status', verbs: ['patch'], scope: 'cluster', why: 'effect.ts: status and scale-in records, merge patch with resourceVersion' },
  {
    group: 'kdb-operator.dev',
    resource: 'kdbclusters/finalizers',
    verbs: ['update'],
    scope: 'cluster',
    implied: true,
    why: 'owned objects carry ownerReferences with blockOwnerDeletion; the OwnerReferencesPermissionEnforcement admission plugin (OpenShift, hardened clusters) checks this verb',
  },
  { group: '', resource: 'pods', verbs: ['list', 'watch'], scope: 'cluster', why: 'the pod informer (managed-by label); observe/effect: every pod on a node before a terminate (fieldSelector spec.nodeName)' },
  { group: '', resource: 'pods', verbs: ['create', 'delete'], scope: 'cluster', why: 'effect.ts: EnsureRdbPod, DeleteRdbPod' },
  { group: '', resource: 'nodes', verbs: ['list', 'watch'], scope: 'cluster', why: 'the node informer' },
  { group: '', resource: 'nodes', verbs: ['patch'], scope: 'cluster', why: 'effect.ts: CordonNode, UncordonNode, AnnotateNode (merge patch)' },
  { group: '', resource: 'services', verbs: ['list', 'watch'], scope: 'cluster', why: 'the service informer' },
  { group: '', resource: 'services', verbs: ['patch'], scope: 'cluster', why: 'effect.ts: EnsureTickerplant, EnsureGateway, server-side apply' },
  { group: '', resource: 'services', verbs: ['delete'], scope: 'cluster', why: 'effect.ts: DeleteGateway (spec.gateway.enabled went false)' },
  { group: '', resource: 'services', verbs: ['create'], scope: 'cluster', implied: true, why: SSA_CREATES },
  { group: '', resource: 'persistentvolumeclaims', verbs: ['list', 'watch'], scope: 'cluster', why: 'the claim informer' },
  { group: '', resource: 'persistentvolumeclaims', verbs: ['create', 'get'], scope: 'cluster', why: 'effect.ts: EnsureStorageVolumes, createIfAbsent' },
  { group: '', resource: 'persistentvolumes', verbs: ['list', 'watch'], scope: 'cluster', why: 'the volume informer' },
  { group: '', resource: 'persistentvolumes', verbs: ['create', 'get'], scope: 'cluster', why: 'effect.ts: EnsureStorageVolumes, createIfAbsent' },
  { group: '', resource: 'persistentvolumes', verbs: ['patch'], scope: 'cluster', why: 'effect.ts: EnsureStorageVolumes re-binds a retained volume (JSON patch)' },
  { group: '', resource: 'events', verbs: ['create', 'patch'], scope: 'cluster', why: 'events.ts: a new core/v1 Event, then count bumps by merge patch' },
  { group: 'apps', resource: 'statefulsets', verbs: ['list', 'watch'], scope: 'cluster', why: 'the statefulset informer' },
  { group: 'apps', resource: 'statefulsets', verbs: ['patch'], scope: 'cluster', why: 'effect.ts: EnsureTickerplant, server-side apply' },
  { group: 'apps', resource: 'statefulsets', verbs: ['create'], scope: 'cluster', implied: true, why: SSA_CREATES },
  { group: 'apps', resource: 'deployments', verbs: ['list', 'watch'], scope: 'cluster', why: 'the deployment informer (gateway and HDB)' },
  { group: 'apps', resource: 'deployments', verbs: ['patch', 'delete'], scope: 'cluster', why: 'effect.ts: EnsureGateway (server-side apply), DeleteGateway' },
  { group: 'apps', resource: 'deployments', verbs: ['create'], scope: 'cluster', implied: true, why: SSA_CREATES },
  { group: 'batch', resource: 'jobs', verbs: ['list', 'watch'], scope: 'cluster', why: 'the merge Job informer' },
  { group: 'batch', resource: 'jobs', verbs: ['create', 'get'], scope: 'cluster', why: 'effect.ts: EnsureMergeJob, createIfAbsent' },
  { group: 'policy', resource: 'poddisruptionbudgets', verbs: ['patch'], scope: 'cluster', why: 'effect.ts: EnsureRdbPod, server-side apply' },
  { group: 'policy', resource: 'poddisruptionbudgets', verbs: ['create'], scope: 'cluster', implied: true, why: SSA_CREATES },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'update'], scope: 'leader-lease', why: 'lease.ts: leader election reads and renews its one Lease' },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['create'], scope: 'namespace', why: 'lease.ts: the first replica creates the Lease' },
];

/** The agent beside each RDB: its own pod only (the chart's admission policy narrows it to that). */
export const AGENT_PERMISSIONS: readonly Permission[] = [
  { group: '', resource: 'pods', verbs: ['get', 'patch'], scope: 'namespace', why: 'agent.ts: reads its pod, merge-patches the report annotations' },
  { group: '', resource: 'pods/status', verbs: ['patch'], scope: 'namespace', why: 'KubeApi.setPodConditions: strategic merge patch of its conditions' },
];

export interface ResourceRequest {
  group: string;
  resource: string;
  verb: Verb;
  namespace?: string;
  name?: string;
}

/**
 * The RBAC attributes of a request path, as the API server derives them; undefined
 * for non-resource paths (discovery, /version), which every authenticated user may read.
 */
export const requestAttributes = (method: HttpVerb, pathWithQuery: string, watch = false): ResourceRequest | undefined => {
  const [path = '', query = ''] = pathWithQuery.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  // /api/v1/namespaces/{ns}/{resource}...; /api/v1/namespaces/{name} is the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub] = rest;
  if (!plural) return undefined;
  const resource = sub ? `${plural}/${sub}` : plural;
  const watching = watch || new URLSearchParams(query).get('watch') === 'true';
  const verb: Verb =
    method === 'GET' ? (watching ? 'watch' : name ? 'get' : 'list')
    : method === 'POST' ? 'create'
    : method === 'PUT' ? 'update'
    : method === 'PATCH' ? 'patch'
    : name ? 'delete' : 'deletecollection';
  return { group, resource, verb, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) };
};

/** The (group, resource, verb) triples a table grants, as `group/resource:verb` ('' group gives a leading '/'). */
export const grantKeys = (table: readonly Permission[]): Set<string> =>
  new Set(table.flatMap((p) => p.verbs.map((v) => `${p.group}/${p.resource}:${v}`)));

const keyOf = (r: ResourceRequest): string => `${r.group}/${r.resource}:${r.verb}`;

const refusal = (r: ResourceRequest, table: string): string =>
  `${r.verb} ${r.group ? `${r.group}/` : ''}${r.resource} is not in ${table} (operator/src/kube/permissions.ts): ` +
  `add the call there, and the chart's RBAC follows (test/unit/rbac-chart.test.ts)`;

/**
 * A transport that answers 403 itself, as RBAC would, to any request its
 * table does not grant. `used` collects what was granted and called, so a
 * run can be compared with the table.
 */
export const guardTransport = (
  inner: Transport,
  table: readonly Permission[],
  tableName: string,
  used: Set<string> = new Set(),
): Transport & { used: Set<string> } => {
  const granted = grantKeys(table.filter((p) => !p.implied));
  const check = (method: HttpVerb, path: string, watch: boolean): string | undefined => {
    const r = requestAttributes(method, path, watch);
    if (!r) return undefined;
    if (!granted.has(keyOf(r))) return refusal(r, tableName);
    used.add(keyOf(r));
    return undefined;
  };
  return {
    server: inner.server,
    used,
    async send(req) {
      const refused = check(req.method, req.path, false);
      if (refused === undefined) return inner.send(req);
      return {
        status: 403,
        headers: { 'content-type': 'application/json' },
        text: JSON.stringify({ apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: refused }),
      };
    },
    watch(path: string, query: Query, onEvent: (ev: WatchEvent) => void, signal: AbortSignal) {
      const refused = check('GET', path, true);
      if (refused === undefined) return inner.watch(path, query, onEvent, signal);
      return Promise.reject(Object.assign(new Error(refused), { statusCode: 403 }));
    },
  };
};
