// Where each kind lives in the REST API. The built-in table covers what the
// operator touches; other kinds (CRDs) are registered by the code that owns
// them, or found through discovery by KubeApi.resourceFor().

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const apiVersionOf = (rt: ResourceType): string => (rt.group ? `${rt.group}/${rt.version}` : rt.version);

export const splitApiVersion = (apiVersion: string): { group: string; version: string } => {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
};

const core = (kind: string, plural: string, namespaced = true): ResourceType => ({ group: '', version: 'v1', kind, plural, namespaced });

export const Resources = {
  Pod: core('Pod', 'pods'),
  Node: core('Node', 'nodes', false),
  Namespace: core('Namespace', 'namespaces', false),
  ConfigMap: core('ConfigMap', 'configmaps'),
  Secret: core('Secret', 'secrets'),
  Service: core('Service', 'services'),
  ServiceAccount: core('ServiceAccount', 'serviceaccounts'),
  Event: core('Event', 'events'),
  PersistentVolume: core('PersistentVolume', 'persistentvolumes', false),
  PersistentVolumeClaim: core('PersistentVolumeClaim', 'persistentvolumeclaims'),
  Endpoints: core('Endpoints', 'endpoints'),
  StatefulSet: { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  Deployment: { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  Job: { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true },
  PodDisruptionBudget: { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  CustomResourceDefinition: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  Role: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true },
  RoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  ClusterRole: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  KdbCluster: { group: 'kdb-operator.dev', version: 'v1alpha1', kind: 'KdbCluster', plural: 'kdbclusters', namespaced: true },
} as const satisfies Record<string, ResourceType>;

const registry = new Map<string, ResourceType>();
const regKey = (apiVersion: string, kind: string): string => `${apiVersion}|${kind}`;

export const registerResource = (rt: ResourceType): void => {
  registry.set(regKey(apiVersionOf(rt), rt.kind), rt);
};
for (const rt of Object.values(Resources)) registerResource(rt);

/** The registered resource for apiVersion+kind, if known without discovery. */
export const knownResource = (apiVersion: string, kind: string): ResourceType | undefined =>
  registry.get(regKey(apiVersion, kind));

/** REST path: /api/v1/namespaces/ns/pods/name/status, /apis/g/v/plural, ... */
export const resourcePath = (rt: ResourceType, namespace?: string, name?: string, subresource?: string): string => {
  let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
};
