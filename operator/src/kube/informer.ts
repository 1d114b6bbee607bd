import type { Clock } from '../runtime/clock.ts';
import { realClock } from '../runtime/clock.ts';
import { jitteredBackoffMs } from '../runtime/backoff.ts';
import { errorMessage } from '../runtime/errors.ts';
import type { Logger } from '../runtime/log.ts';
import { silentLogger } from '../runtime/log.ts';
import type { ListWatcher } from './api.ts';
import { isGone } from './errors.ts';
import type { ResourceType } from './resources.ts';
import type { WatchEvent } from './rest.ts';
import type { KubeObject } from './types.ts';

export type AddHandler<T> = (obj: Readonly<T>) => void;
export type UpdateHandler<T> = (obj: Readonly<T>, old: Readonly<T>) => void;
export type DeleteHandler<T> = (obj: Readonly<T>) => void;

/** Read side of an informer: what reconcilers look at. */
export interface Store<T> {
  /** By "namespace/name" (or "name" for cluster-scoped kinds). */
  get(key: string): Readonly<T> | undefined;
  list(namespace?: string): ReadonlyArray<Readonly<T>>;
  hasSynced(): boolean;
}

export interface InformerOptions {
  resource: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  clock?: Clock;
  /** Restart backoff after failures: jittered exponential. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Server-side watch timeout; randomised per watch like client-go. */
  watchTimeoutSeconds?: number;
  random?: () => number;
  /** What of each object is kept in the cache (default stripForCache): pure, given a fresh copy it may change. */
  transform?: (obj: KubeObject) => KubeObject;
}

/** Written by kubectl apply, the whole object again: nothing the operator reads. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The cache holds what reconcile reads, not the server's bookkeeping:
 * managedFields (often larger than the object) and kubectl's
 * last-applied copy go. Everything else stays; a pure function of the object.
 */
export const stripForCache = <T extends KubeObject>(obj: T): T => {
  const md = obj.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (!md || (md.managedFields === undefined && md.annotations?.[LAST_APPLIED] === undefined)) return obj;
  const { managedFields: _m, ...metadata } = md;
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _l, ...annotations } = metadata.annotations;
    metadata.annotations = annotations;
  }
  return { ...obj, metadata };
};

/**
 * Nodes also drop status.images, the list of every image pulled there
 * (hundreds of entries on a busy node); the operator reads a node's
 * labels, annotations, providerID, unschedulable and conditions only.
 */
export const stripNodeForCache = <T extends KubeObject>(obj: T): T => {
  const n = stripForCache(obj) as T & { status?: { images?: unknown } };
  if (n.status?.images === undefined) return n;
  const { images: _i, ...status } = n.status;
  return { ...n, status };
};

export class GoneError extends Error {
  readonly statusCode = 410;
}

const keyOf = (obj: KubeObject): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name ?? ''}` : (obj.metadata?.name ?? '');

/** Freeze the whole tree: cached objects are shared by every reader. */
const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
};

/**
 * List+watch with a local cache, supervised: unlike client-node's informer it
 * never stops on an error. A 410 (resourceVersion too old) re-lists at once;
 * any other failure re-lists after a jittered backoff; a watch the server
 * simply ends resumes from the last resourceVersion.
 *
 * Handlers should only enqueue keys; cached objects are deep-frozen, clone
 * (structuredClone) before changing one.
 */
export class Informer<T extends KubeObject> implements Store<T> {
  readonly resource: ResourceType;
  readonly #lw: ListWatcher;
  readonly #opts: InformerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  #cache = new Map<string, Readonly<T>>();
  #resourceVersion = '';
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  readonly #adds: AddHandler<T>[] = [];
  readonly #updates: UpdateHandler<T>[] = [];
  readonly #deletes: DeleteHandler<T>[] = [];
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  #restarts = 0;

  constructor(lw: ListWatcher, opts: InformerOptions) {
    this.#lw = lw;
    this.#opts = opts;
    this.resource = opts.resource;
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#log = (opts.logger ?? silentLogger()).child({
      informer: opts.resource.plural,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    });
  }

  onAdd(fn: AddHandler<T>): this {
    this.#adds.push(fn);
    return this;
  }
  onUpdate(fn: UpdateHandler<T>): this {
    this.#updates.push(fn);
    return this;
  }
  onDelete(fn: DeleteHandler<T>): this {
    this.#deletes.push(fn);
    return this;
  }
  /** Same handler for add, update (new object) and delete. */
  onChange(fn: (obj: Readonly<T>) => void): this {
    return this.onAdd(fn).onUpdate((o) => fn(o)).onDelete(fn);
  }

  get(key: string): Readonly<T> | undefined {
    return this.#cache.get(key);
  }
  list(namespace?: string): ReadonlyArray<Readonly<T>> {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }
  hasSynced(): boolean {
    return this.#synced;
  }
  /** Times the list+watch loop recovered from an error (for tests and metrics). */
  restarts(): number {
    return this.#restarts;
  }
  lastResourceVersion(): string {
    return this.#resourceVersion;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== done);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(done);
    });
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort(new Error('informer stopped'));
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === '') await this.#relist(signal);
        if (signal.aborted) break;
        await this.#watch(signal);
        // The server ended the watch (timeoutSeconds) or it went idle: resume.
        this.#failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if ((err as { name?: unknown } | null)?.name === 'TimeoutError') {
          // client-node's 30 s inactivity timeout on a quiet watch: nothing was
          // missed, resume from the last resourceVersion at once.
          continue;
        }
        // Re-list after any other error: the watch may have missed events.
        this.#resourceVersion = '';
        this.#restarts++;
        if (isGone(err)) {
          this.#log.info('resourceVersion expired, re-listing');
          continue;
        }
        const delay = jitteredBackoffMs(this.#failures++, {
          baseMs: this.#opts.backoffBaseMs ?? 1000,
          maxMs: this.#opts.backoffMaxMs ?? 30_000,
          random: this.#random,
        });
        this.#log.warn('list/watch failed, restarting', { error: errorMessage(err), delayMs: Math.round(delay), failures: this.#failures });
        try {
          await this.#clock.sleep(delay, signal);
        } catch {
          break;
        }
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.#lw.list<T>(this.resource, {
      namespace: this.#opts.namespace,
      labelSelector: this.#opts.labelSelector,
      fieldSelector: this.#opts.fieldSelector,
      signal,
    });
    if (signal.aborted) return;
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      this.#upsert(key, item);
    }
    for (const [key, old] of this.#cache) {
      if (!seen.has(key)) {
        this.#cache.delete(key);
        this.#emitDelete(old);
      }
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.info('informer synced', { objects: this.#cache.size });
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  #watch(signal: AbortSignal): Promise<void> {
    const base = this.#opts.watchTimeoutSeconds ?? 300;
    let failure: Error | undefined;
    const inner = new AbortController();
    const both = AbortSignal.any([signal, inner.signal]);
    const onEvent = (ev: WatchEvent): void => {
      if (failure !== undefined) return;
      this.#failures = 0;
      const obj = ev.object as T & { code?: number; message?: string };
      switch (ev.type) {
        case 'ADDED':
        case 'MODIFIED':
          this.#upsert(keyOf(obj), obj);
          break;
        case 'DELETED': {
          const key = keyOf(obj);
          const old = this.#cache.get(key);
          this.#cache.delete(key);
          this.#emitDelete(deepFreeze(this.#keep(obj)) ?? old);
          break;
        }
        case 'BOOKMARK':
          break;
        case 'ERROR':
          failure = obj.code === 410 ? new GoneError(obj.message ?? 'gone') : new Error(`watch error ${obj.code ?? ''}: ${obj.message ?? ''}`);
          inner.abort();
          return;
      }
      const rv = obj.metadata?.resourceVersion;
      if (rv) this.#resourceVersion = rv;
    };
    return this.#lw
      .watch(
        this.resource,
        {
          namespace: this.#opts.namespace,
          labelSelector: this.#opts.labelSelector,
          fieldSelector: this.#opts.fieldSelector,
          resourceVersion: this.#resourceVersion,
          timeoutSeconds: Math.floor(base * (1 + this.#random())),
        },
        onEvent,
        both,
      )
      .then(() => {
        if (failure !== undefined) throw failure;
        if (signal.aborted) return;
      });
  }

  #keep(obj: T): T {
    return (this.#opts.transform ?? stripForCache)(obj) as T;
  }

  #upsert(key: string, obj: T): void {
    const old = this.#cache.get(key);
    if (old !== undefined && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    const frozen = deepFreeze(this.#keep(obj));
    this.#cache.set(key, frozen);
    if (old === undefined) for (const h of this.#adds) this.#call(() => h(frozen));
    else for (const h of this.#updates) this.#call(() => h(frozen, old));
  }

  #emitDelete(obj: Readonly<T>): void {
    for (const h of this.#deletes) this.#call(() => h(obj));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error('informer handler threw', { error: errorMessage(err) });
    }
  }
}
