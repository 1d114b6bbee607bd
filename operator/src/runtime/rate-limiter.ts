import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import { ItemExponentialBackoff } from './backoff.ts';

/**
 * Token bucket in the style of golang.org/x/time/rate: reserve() always
 * succeeds and returns how long the caller must wait, letting the balance go
 * negative, so concurrent callers queue up fairly instead of polling.
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(qps: number, burst: number, clock: Clock = realClock) {
    this.qps = qps;
    this.burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock.now();
  }
  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.qps) / 1000);
    this.#last = now;
  }
  /** Take one token; returns the wait in ms before it may be used. */
  reserve(): number {
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.qps;
  }
  /** Take one token only if available now. */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
  /** Wait for a token. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await this.#clock.sleep(wait, signal);
  }
}

/** How long to wait before a key is retried. */
export interface RateLimiter {
  when(key: string): number;
  forget(key: string): void;
  numRequeues(key: string): number;
}

/**
 * client-go's DefaultControllerRateLimiter: the larger of per-key exponential
 * backoff (5 ms .. 1000 s) and an overall bucket (10 qps, burst 100), so one
 * failing key backs off alone while a storm of failures is still capped.
 */
export class ControllerRateLimiter implements RateLimiter {
  readonly #item: ItemExponentialBackoff;
  readonly #bucket: TokenBucket;

  constructor(
    opts: { baseMs?: number; maxMs?: number; qps?: number; burst?: number; clock?: Clock } = {},
  ) {
    this.#item = new ItemExponentialBackoff({ baseMs: opts.baseMs ?? 5, maxMs: opts.maxMs ?? 1_000_000 });
    this.#bucket = new TokenBucket(opts.qps ?? 10, opts.burst ?? 100, opts.clock ?? realClock);
  }
  when(key: string): number {
    return Math.max(this.#item.when(key), this.#bucket.reserve());
  }
  forget(key: string): void {
    this.#item.forget(key);
  }
  numRequeues(key: string): number {
    return this.#item.failures(key);
  }
}
