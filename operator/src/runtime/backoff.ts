// Two kinds of backoff: per-key exponential for the work queue (client-go's
// ItemExponentialFailureRateLimiter) and jittered exponential for retrying a
// single remote call (Kubernetes API, AWS), where jitter spreads out callers
// that failed together.

export interface ExponentialBackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Per-key failure counter: delay = base * 2^failures, capped. */
export class ItemExponentialBackoff {
  readonly #opts: ExponentialBackoffOptions;
  readonly #failures = new Map<string, number>();

  constructor(opts: ExponentialBackoffOptions = { baseMs: 5, maxMs: 1_000_000 }) {
    this.#opts = opts;
  }
  /** Delay for the next retry of `key`; counts this as one more failure. */
  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap, so the min() still holds.
    return Math.min(this.#opts.baseMs * 2 ** n, this.#opts.maxMs);
  }
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
  forget(key: string): void {
    this.#failures.delete(key);
  }
}

export interface JitterOptions {
  baseMs: number;
  maxMs: number;
  /** Returns [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (0-based): half the exponential step
 * fixed, half random ("equal jitter"), so a retry never fires immediately
 * yet callers that failed together do not retry together.
 */
export const jitteredBackoffMs = (attempt: number, opts: JitterOptions): number => {
  const random = opts.random ?? Math.random;
  const step = Math.min(opts.baseMs * 2 ** attempt, opts.maxMs);
  return step / 2 + random() * (step / 2);
};
