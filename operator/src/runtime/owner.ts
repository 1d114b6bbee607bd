// Owned objects (pods, StatefulSets, services...) are never reconciled on
// their own: an event on one enqueues its owner's key, and the owner's
// reconcile looks at the whole picture again.

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectWithOwners {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    ownerReferences?: OwnerRef[];
  };
}

export interface OwnerMatch {
  /** Group of the owner kind, e.g. 'kdb-operator.dev' ('' for core). */
  group: string;
  kind: string;
  /** Label that names the owner, for objects that cannot carry an owner reference (cluster-scoped, or created elsewhere). */
  label?: string;
}

export const groupOf = (apiVersion: string): string => {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
};

/** namespace/name, or name for cluster-scoped objects: the queue key. */
export const keyOf = (namespace: string | undefined, name: string): string =>
  namespace ? `${namespace}/${name}` : name;

export const objectKey = (obj: ObjectWithOwners): string =>
  keyOf(obj.metadata?.namespace, obj.metadata?.name ?? '');

export const splitKey = (key: string): { namespace?: string; name: string } => {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};

/**
 * The key of the owner of `obj` of the given kind, preferring the controller
 * owner reference, then any matching owner reference, then the label (whose
 * value is `name` in the object's namespace, or `namespace/name`).
 * Owner references cannot cross namespaces, so the owner's namespace is the object's.
 */
export const ownerKey = (obj: ObjectWithOwners, match: OwnerMatch): string | undefined => {
  const refs = (obj.metadata?.ownerReferences ?? []).filter(
    (r) => r.kind === match.kind && groupOf(r.apiVersion) === match.group,
  );
  const ref = refs.find((r) => r.controller === true) ?? refs[0];
  if (ref !== undefined) return keyOf(obj.metadata?.namespace, ref.name);
  if (match.label !== undefined) {
    const value = obj.metadata?.labels?.[match.label];
    if (value) return value.includes('/') ? value : keyOf(obj.metadata?.namespace, value);
  }
  return undefined;
};

/** An informer handler that enqueues the owner's key, if any. */
export const enqueueOwner =
  (match: OwnerMatch, enqueue: (key: string) => void) =>
  (obj: ObjectWithOwners): void => {
    const key = ownerKey(obj, match);
    if (key !== undefined) enqueue(key);
  };
