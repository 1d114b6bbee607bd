import type { Clock, TimerHandle } from './clock.ts';
import { realClock } from './clock.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { ControllerRateLimiter } from './rate-limiter.ts';

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Called whenever the number of keys waiting to be processed changes. */
  onDepth?: (depth: number) => void;
}

/**
 * Fair by key: a key waits in FIFO order once, however often it is added,
 * and one being reconciled goes to the back when it is added again, so a
 * busy cluster that requeues all the time never runs twice while another
 * waits. Delayed and rate-limited adds join the back when they come due,
 * never ahead of keys already waiting.
 */

/**
 * client-go's rate-limiting work queue, for string keys (namespace/name).
 *
 * - A key is queued at most once (dirty set) and never handed to two workers
 *   at once (processing set).
 * - add() while the key is processing marks it dirty; done() then requeues it,
 *   so changes seen during a reconcile cause exactly one more run.
 * - addAfter() keeps the earliest pending deadline per key.
 * - addRateLimited() asks the rate limiter for the delay; forget() resets it.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #onDepth: ((depth: number) => void) | undefined;

  #queue: string[] = [];
  /** When each key in #queue joined it (clock ms): the head has waited longest. */
  readonly #queuedAt = new Map<string, number>();
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #waiting = new Map<string, { at: number; timer: TimerHandle }>();
  #getters: Array<(key: string | undefined) => void> = [];
  #shuttingDown = false;
  #idleWaiters: Array<() => void> = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#limiter = opts.rateLimiter ?? new ControllerRateLimiter({ clock: this.#clock });
    this.#onDepth = opts.onDepth;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + delayMs;
    const existing = this.#waiting.get(key);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.#waiting.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.#limiter.when(key));
  }

  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /**
   * Next key to process; undefined once the queue is shut down. Unlike
   * client-go, keys still queued at shutdown are dropped: a restarted
   * operator re-lists and reconciles everything anyway.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Must be called exactly once for every key returned by get(). */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
    if (this.#processing.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** How long the key at the head of the queue has waited for a worker (0 when none waits). */
  longestWaitMs(): number {
    const head = this.#queue[0];
    const at = head === undefined ? undefined : this.#queuedAt.get(head);
    return at === undefined ? 0 : Math.max(0, this.#clock.now() - at);
  }

  /** Keys ready to be processed (not counting delayed or in-flight ones). */
  len(): number {
    return this.#queue.length;
  }
  processingCount(): number {
    return this.#processing.size;
  }
  /** Keys scheduled by addAfter() that have not come due yet. */
  waitingCount(): number {
    return this.#waiting.size;
  }
  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stop handing out keys; in-flight keys may still call done(). */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
  }

  /** Resolves when no key is being processed. */
  whenIdle(): Promise<void> {
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#queuedAt.set(key, this.#clock.now());
    this.#onDepth?.(this.#queue.length);
  }

  #pop(): string | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    this.#queuedAt.delete(key);
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#onDepth?.(this.#queue.length);
    return key;
  }
}
