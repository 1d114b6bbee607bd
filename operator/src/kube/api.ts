import type { LevelLog } from '../runtime/json-log.ts';
import { quietLog } from '../runtime/json-log.ts';
import { isAlreadyExists, isConflict, isNotFound } from './errors.ts';
import type { PodConditionInput } from './patch.ts';
import { podConditionsPatch, stripServerFields } from './patch.ts';
import type { ResourceType } from './resources.ts';
import { Resources, apiVersionOf, knownResource, registerResource, resourcePath, splitApiVersion } from './resources.ts';
import type { Query, RestClient, WatchEvent } from './rest.ts';
import type { KubeObject, ObjectList, ObjectRef, V1Pod, V1Status } from './types.ts';

export const FIELD_MANAGER = 'kdb-operator';

export const ContentType = {
  JsonPatch: 'application/json-patch+json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
  Apply: 'application/apply-patch+yaml',
} as const;

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; list() follows continue tokens to the end. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  /** Server closes the watch after this long (client-go picks 5-10 min). */
  timeoutSeconds?: number;
}

export interface DeleteOptions {
  /** Delete only this incarnation of the object (a recreated one has another uid). */
  uid?: string;
  resourceVersion?: string;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
}

export interface ApplyOptions {
  fieldManager?: string;
  force?: boolean;
  subresource?: 'status';
}

export interface PatchOptions {
  subresource?: 'status';
  fieldManager?: string;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}

/** What informers need. */
export interface ListWatcher {
  list<T extends KubeObject>(rt: ResourceType, opts?: ListOptions): Promise<ObjectList<T>>;
  watch(rt: ResourceType, opts: WatchOptions, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

/**
 * Everything the controller and agent do to the API server. Objects are plain
 * JSON (see types.ts). Calls retry throttling/5xx/connection errors inside;
 * what reaches the caller is a KubeApiError (see errors.ts) to act on.
 */
export interface KubeApi extends ListWatcher {
  get<T extends KubeObject>(ref: ObjectRef, opts?: { subresource?: string; signal?: AbortSignal }): Promise<T | undefined>;
  create<T extends KubeObject>(obj: T, opts?: { signal?: AbortSignal }): Promise<T>;
  /** Create, or return the existing object of that name untouched. */
  createIfAbsent<T extends KubeObject>(obj: T): Promise<{ object: T; created: boolean }>;
  /** PUT; fails with 409 unless metadata.resourceVersion is current. */
  replace<T extends KubeObject>(obj: T, opts?: { subresource?: 'status'; signal?: AbortSignal }): Promise<T>;
  /** RFC 7386 merge patch (lists are replaced whole). Put metadata.resourceVersion in the patch to make it conditional. */
  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object, opts?: PatchOptions): Promise<T>;
  /** Strategic merge patch: built-in kinds only (not custom resources). */
  strategicMergePatch<T extends KubeObject>(ref: ObjectRef, patch: object, opts?: PatchOptions): Promise<T>;
  jsonPatch<T extends KubeObject>(ref: ObjectRef, ops: JsonPatchOp[], opts?: PatchOptions): Promise<T>;
  /** Server-side apply as field manager 'kdb-operator', forcing conflicts by default. */
  apply<T extends KubeObject>(obj: T, opts?: ApplyOptions): Promise<T>;
  /** Merge patch of the status subresource: `{status: status}`. */
  patchStatus<T extends KubeObject>(ref: ObjectRef, status: object): Promise<T>;
  /**
   * Set the given pod conditions (merged by type; others untouched), moving
   * lastTransitionTime only on a flip. No request if nothing changed.
   */
  setPodConditions(pod: V1Pod, conditions: PodConditionInput[], nowMs?: number): Promise<{ pod: V1Pod; changed: boolean }>;
  /** true if deleted (or deletion started), false if it was already gone. */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
  /** Returns the updated object, or undefined if it does not exist. */
  addFinalizer<T extends KubeObject>(ref: ObjectRef, finalizer: string): Promise<T | undefined>;
  removeFinalizer<T extends KubeObject>(ref: ObjectRef, finalizer: string): Promise<T | undefined>;
  /** Resolve a kind to its REST resource (table, else discovery). */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceType>;
}

const withTypeMeta = <T extends KubeObject>(rt: ResourceType, obj: T): T =>
  obj.apiVersion && obj.kind ? obj : ({ apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj } as T);

export class RestKubeApi implements KubeApi {
  readonly #rest: RestClient;
  readonly #log: LevelLog;
  readonly #discovery = new Map<string, Promise<ResourceType[]>>();

  constructor(rest: RestClient, opts: { logger?: LevelLog } = {}) {
    this.#rest = rest;
    this.#log = opts.logger ?? quietLog;
  }

  async resourceFor(apiVersion: string, kind: string): Promise<ResourceType> {
    const known = knownResource(apiVersion, kind);
    if (known) return known;
    let pending = this.#discovery.get(apiVersion);
    if (!pending) {
      const { group, version } = splitApiVersion(apiVersion);
      pending = this.#rest
        .request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>({
          method: 'GET',
          path: group ? `/apis/${group}/${version}` : `/api/${version}`,
        })
        .then((list) =>
          (list.resources ?? [])
            .filter((r) => !r.name.includes('/'))
            .map((r) => ({ group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced })),
        );
      this.#discovery.set(apiVersion, pending);
      // A failed discovery must not be cached forever (the CRD may be installed later).
      pending.catch(() => this.#discovery.delete(apiVersion));
    }
    const rt = (await pending).find((r) => r.kind === kind);
    if (!rt) {
      this.#discovery.delete(apiVersion);
      throw new Error(`unknown kind ${kind} in ${apiVersion}`);
    }
    registerResource(rt);
    return rt;
  }

  async #path(
    ref: { apiVersion?: string; kind?: string; name?: string; namespace?: string } | (ResourceType & { name?: string; namespace?: string }),
    subresource?: string,
    withName = true,
  ): Promise<string> {
    let rt: ResourceType;
    if ('plural' in ref) rt = ref;
    else {
      if (!ref.apiVersion || !ref.kind) throw new Error('apiVersion and kind are required');
      rt = await this.resourceFor(ref.apiVersion, ref.kind);
    }
    if (rt.namespaced && !ref.namespace) throw new Error(`${ref.kind} ${ref.name ?? ''} needs a namespace`);
    return resourcePath(rt, ref.namespace, withName ? ref.name : undefined, subresource);
  }

  async get<T extends KubeObject>(ref: ObjectRef, opts: { subresource?: string; signal?: AbortSignal } = {}): Promise<T | undefined> {
    try {
      return await this.#rest.request<T>({ method: 'GET', path: await this.#path(ref, opts.subresource), signal: opts.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(rt: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#rest.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>({
        method: 'GET',
        path: resourcePath(rt, opts.namespace),
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.pageSize ?? 500, continue: cont },
        signal: opts.signal,
      });
      // List items of built-in kinds come without apiVersion/kind; watch events carry them.
      for (const item of page.items ?? []) items.push(withTypeMeta(rt, item));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined);
    return { items, resourceVersion };
  }

  watch(rt: ResourceType, opts: WatchOptions, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const query: Query = {
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: true,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      timeoutSeconds: opts.timeoutSeconds,
    };
    return this.#rest.transport.watch(resourcePath(rt, opts.namespace), query, onEvent, signal);
  }

  async create<T extends KubeObject>(obj: T, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const path = await this.#path({ ...obj, namespace: obj.metadata?.namespace }, undefined, false);
    return this.#rest.request<T>({ method: 'POST', path, body: obj, signal: opts.signal });
  }

  async createIfAbsent<T extends KubeObject>(obj: T): Promise<{ object: T; created: boolean }> {
    for (let i = 0; ; i++) {
      try {
        return { object: await this.create(obj), created: true };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await this.get<T>(refOfObj(obj));
      if (existing) return { object: existing, created: false };
      // Deleted between our create and get: try again, briefly.
      if (i >= 2) throw new Error(`${obj.kind} ${obj.metadata?.name} keeps appearing and disappearing`);
    }
  }

  async replace<T extends KubeObject>(obj: T, opts: { subresource?: 'status'; signal?: AbortSignal } = {}): Promise<T> {
    return this.#rest.request<T>({ method: 'PUT', path: await this.#path(refOfObj(obj), opts.subresource), body: obj, signal: opts.signal });
  }

  async #patch<T>(ref: ObjectRef, body: unknown, contentType: string, opts: PatchOptions & { force?: boolean } = {}): Promise<T> {
    return this.#rest.request<T>({
      method: 'PATCH',
      path: await this.#path(ref, opts.subresource),
      query: { fieldManager: opts.fieldManager ?? (contentType === ContentType.Apply ? FIELD_MANAGER : undefined), force: opts.force },
      body,
      contentType,
    });
  }

  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object, opts?: PatchOptions): Promise<T> {
    return this.#patch<T>(ref, patch, ContentType.MergePatch, opts);
  }
  strategicMergePatch<T extends KubeObject>(ref: ObjectRef, patch: object, opts?: PatchOptions): Promise<T> {
    return this.#patch<T>(ref, patch, ContentType.StrategicMergePatch, opts);
  }
  jsonPatch<T extends KubeObject>(ref: ObjectRef, ops: JsonPatchOp[], opts?: PatchOptions): Promise<T> {
    return this.#patch<T>(ref, ops, ContentType.JsonPatch, opts);
  }
  apply<T extends KubeObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    return this.#patch<T>(refOfObj(obj), stripServerFields(obj), ContentType.Apply, {
      fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      force: opts.force ?? true,
      subresource: opts.subresource,
    });
  }
  patchStatus<T extends KubeObject>(ref: ObjectRef, status: object): Promise<T> {
    return this.#patch<T>(ref, { status }, ContentType.MergePatch, { subresource: 'status' });
  }

  async setPodConditions(pod: V1Pod, conditions: PodConditionInput[], nowMs = Date.now()): Promise<{ pod: V1Pod; changed: boolean }> {
    const patch = podConditionsPatch(pod.status?.conditions, conditions, nowMs);
    if (patch === undefined) return { pod, changed: false };
    const ref: ObjectRef = { ...Resources.Pod, name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace };
    const updated = await this.#patch<V1Pod>(ref, { status: { conditions: patch } }, ContentType.StrategicMergePatch, { subresource: 'status' });
    return { pod: updated, changed: true };
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const preconditions =
      opts.uid !== undefined || opts.resourceVersion !== undefined
        ? { ...(opts.uid !== undefined ? { uid: opts.uid } : {}), ...(opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {}) }
        : undefined;
    try {
      await this.#rest.request<V1Status>({
        method: 'DELETE',
        path: await this.#path(ref),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          ...(preconditions ? { preconditions } : {}),
          ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
          ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
        },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  addFinalizer<T extends KubeObject>(ref: ObjectRef, finalizer: string): Promise<T | undefined> {
    return this.#editFinalizers<T>(ref, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
  }
  removeFinalizer<T extends KubeObject>(ref: ObjectRef, finalizer: string): Promise<T | undefined> {
    return this.#editFinalizers<T>(ref, (list) => (list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined));
  }

  /**
   * Finalizers are a shared list and merge patch replaces lists whole, so the
   * patch carries the resourceVersion it was computed from: a concurrent edit
   * makes it fail with 409 and we recompute instead of dropping theirs.
   */
  async #editFinalizers<T extends KubeObject>(ref: ObjectRef, edit: (list: string[]) => string[] | undefined): Promise<T | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const obj = await this.get<T>(ref);
      if (!obj) return undefined;
      const next = edit(obj.metadata?.finalizers ?? []);
      if (next === undefined) return obj;
      try {
        return await this.mergePatch<T>(ref, { metadata: { finalizers: next, resourceVersion: obj.metadata?.resourceVersion } });
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.#log.debug('finalizer edit conflicted, retrying', { kind: ref.kind, name: ref.name });
      }
    }
    throw new Error(`could not edit finalizers of ${ref.kind} ${ref.namespace ?? ''}/${ref.name}: kept conflicting`);
  }
}

const refOfObj = (obj: KubeObject): ObjectRef => {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error('object needs apiVersion, kind and metadata.name');
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
};
