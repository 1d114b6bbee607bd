// Our own retry loop around every AWS call. The SDK clients are built with
// maxAttempts 1 (see clients.ts) so this is the only retry layer: its attempts,
// delays and give-up point are ours, observable and unit-testable, and a call
// can never silently take (SDK attempts x our attempts).
import { AwsRequestError, AwsUnavailableError, classifyError, errorCode, type ErrorKind } from './errors.ts';

export type CallOutcome = 'ok' | 'throttled' | 'error' | 'unavailable';

/** One logical AWS call (all its attempts), as reported to the runtime's metrics. */
export interface CallEvent {
  /** AWS operation name, e.g. SetDesiredCapacity. */
  operation: string;
  /**
   * ok: succeeded (possibly after retries); error: AWS rejected the request
   * (surfaced as AwsRequestError); throttled / unavailable: the retry budget
   * ran out while AWS was throttling / failing (surfaced as AwsUnavailableError).
   */
  outcome: CallOutcome;
  attempts: number;
  durationMs: number;
  /** Attempts that were answered with throttling. */
  throttles: number;
  /** Error code of the last failed attempt, if any. */
  errorCode?: string;
}

export interface RetryEvent {
  operation: string;
  /** The attempt that just failed (1-based). */
  attempt: number;
  kind: Exclude<ErrorKind, 'client'>;
  errorCode: string;
  delayMs: number;
}

export interface CallObserver {
  onCall(event: CallEvent): void;
  /** Optional: each retry decision, for debug logging. */
  onRetry?(event: RetryEvent): void;
}

export interface RetryOptions {
  /** Attempts per call, first one included. */
  maxAttempts: number;
  /** Backoff base: the cap of the first retry delay. */
  baseDelayMs: number;
  /** Largest single delay. */
  maxDelayMs: number;
  /** Total budget of one call, attempts and sleeps included. */
  deadlineMs: number;
  /** Upper bound of a single attempt (also enforced by the HTTP handler). */
  attemptTimeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  now: () => number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  // 10 attempts: with 50% throttling a call fails only with p = 0.1%.
  maxAttempts: 10,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  // Bounded so a reconcile blocked on AWS returns within half a minute and
  // the controller can report AwsUnavailable and carry on.
  deadlineMs: 30_000,
  attemptTimeoutMs: 10_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: () => performance.now(),
};

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff And Jitter):
 * uniform in [0, min(cap, base * 2^(retry-1))). Spreads a fleet of retrying
 * callers out instead of synchronising them on the throttled endpoint.
 * `retry` is 1 for the delay before the second attempt.
 */
export const backoffDelay = (retry: number, opts: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number => {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(opts.random() * ceiling);
};

export interface AttemptContext {
  /** 1-based. */
  attempt: number;
  /** Aborts when this attempt's time is up; pass to SDK send(). */
  signal: AbortSignal;
}

export class RetryPolicy {
  readonly options: RetryOptions;
  readonly #observer: CallObserver | undefined;

  constructor(options: Partial<RetryOptions> = {}, observer?: CallObserver) {
    this.options = { ...DEFAULT_RETRY_OPTIONS, ...options };
    if (this.options.maxAttempts < 1) throw new RangeError('maxAttempts must be >= 1');
    this.#observer = observer;
  }

  /**
   * Run `fn` until it succeeds, fails with a client error (AwsRequestError),
   * or the attempts/deadline run out on throttling or transient errors
   * (AwsUnavailableError). Reports exactly one CallEvent.
   */
  async execute<T>(operation: string, fn: (ctx: AttemptContext) => Promise<T>): Promise<T> {
    const o = this.options;
    const start = o.now();
    let attempt = 0;
    let throttles = 0;
    for (;;) {
      attempt++;
      const remaining = o.deadlineMs - (o.now() - start);
      const timeout = Math.max(1, Math.ceil(Math.min(o.attemptTimeoutMs, remaining)));
      const signal = AbortSignal.timeout(timeout);
      let error: unknown;
      try {
        const value = await fn({ attempt, signal });
        this.#report({ operation, outcome: 'ok', attempts: attempt, durationMs: o.now() - start, throttles });
        return value;
      } catch (e) {
        error = e;
      }
      // An attempt we aborted ourselves is a timeout, whatever the SDK named it.
      const kind: ErrorKind = signal.aborted ? 'transient' : classifyError(error);
      const code = signal.aborted ? 'TimeoutError' : errorCode(error);
      if (kind === 'client') {
        this.#report({ operation, outcome: 'error', attempts: attempt, durationMs: o.now() - start, throttles, errorCode: code });
        throw error instanceof AwsRequestError ? error : new AwsRequestError(operation, error);
      }
      if (kind === 'throttled') throttles++;
      const delay = backoffDelay(attempt, o);
      const elapsed = o.now() - start;
      // Give up now rather than sleep into a deadline we cannot meet.
      const reason = attempt >= o.maxAttempts ? 'attempts' : elapsed + delay >= o.deadlineMs ? 'deadline' : undefined;
      if (reason !== undefined) {
        this.#report({
          operation,
          outcome: kind === 'throttled' ? 'throttled' : 'unavailable',
          attempts: attempt,
          durationMs: elapsed,
          throttles,
          errorCode: code,
        });
        throw new AwsUnavailableError({ operation, attempts: attempt, lastError: error, throttled: kind === 'throttled', reason });
      }
      this.#retry({ operation, attempt, kind, errorCode: code, delayMs: delay });
      await o.sleep(delay);
    }
  }

  // A broken metrics sink must never fail an AWS call.
  #report(event: CallEvent): void {
    try {
      this.#observer?.onCall(event);
    } catch {
      /* ignored on purpose */
    }
  }

  #retry(event: RetryEvent): void {
    try {
      this.#observer?.onRetry?.(event);
    } catch {
      /* ignored on purpose */
    }
  }
}
