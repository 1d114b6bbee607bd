// A small TTL cache with an injected clock. Describe calls are cached about a
// minute (as cluster-autoscaler does) so a reconcile loop over many clusters
// does not spend the account's Describe budget, and every write to a group
// invalidates that group so the next read after a change is fresh.

export interface TtlCacheOptions {
  ttlMs: number;
  now: () => number;
}

export class TtlCache<K, V> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<K, { value: V; expires: number }>();

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now;
  }

  get(key: K): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (this.#now() >= e.expires) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: K, value: V): void {
    if (this.#ttlMs <= 0) return;
    this.#entries.set(key, { value, expires: this.#now() + this.#ttlMs });
  }

  /** How long the key's entry has left; 0 when it is missing or expired (a call made anyway may refresh it). */
  remainingMs(key: K): number {
    const e = this.#entries.get(key);
    return e === undefined ? 0 : Math.max(0, e.expires - this.#now());
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /** Drop every entry whose key or value matches. */
  deleteWhere(pred: (key: K, value: V) => boolean): void {
    for (const [k, e] of this.#entries) if (pred(k, e.value)) this.#entries.delete(k);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
