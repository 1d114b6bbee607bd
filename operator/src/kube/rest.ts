// The one place requests to the API server go through: client-side rate
// limit, per-attempt timeout, and retries on throttling, server errors and
// lost connections. client-node has none of these.
import type { Clock } from '../runtime/clock.ts';
import { realClock } from '../runtime/clock.ts';
import { jitteredBackoffMs } from '../runtime/backoff.ts';
import { TokenBucket } from '../runtime/rate-limiter.ts';
import type { LevelLog } from '../runtime/json-log.ts';
import { quietLog } from '../runtime/json-log.ts';
import { KubeApiError } from './errors.ts';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Query = Record<string, string | number | boolean | undefined>;

export interface TransportRequest {
  method: HttpVerb;
  /** Path plus query string, e.g. /api/v1/pods?limit=500 */
  path: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  text: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

/** Raw HTTP to one API server; kube/client.ts builds it from a kubeconfig. */
export interface Transport {
  readonly server: string;
  send(req: TransportRequest): Promise<TransportResponse>;
  /**
   * Stream watch events until the server ends the stream (resolves), it
   * fails (rejects, with statusCode when the server answered) or `signal`
   * aborts (resolves).
   */
  watch(path: string, query: Query, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface RestOptions {
  transport: Transport;
  clock?: Clock;
  logger?: LevelLog;
  /** Client-side rate limit (client-go defaults are 5/10; ours 20/50). */
  qps?: number;
  burst?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** Retries after the first attempt. */
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Longest Retry-After we honour; a bigger one is capped. */
  maxRetryAfterMs?: number;
  random?: () => number;
  onResponse?: (verb: HttpVerb, status: number) => void;
}

export interface RequestOptions {
  method: HttpVerb;
  path: string;
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxRetries?: number;
}

export const buildPath = (path: string, query?: Query): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
};

/** Seconds from a Retry-After header (delta-seconds or HTTP date). */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - nowMs) / 1000);
};

const retryableStatus = (status: number): boolean => status === 429 || (status >= 500 && status !== 501);

const parseJson = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

const statusError = (verb: string, path: string, res: TransportResponse, nowMs: number): KubeApiError => {
  const body = parseJson(res.text);
  const status = (typeof body === 'object' && body !== null ? body : {}) as { reason?: string; message?: string };
  return new KubeApiError({
    statusCode: res.status,
    reason: status.reason,
    message: status.message ?? (typeof body === 'string' ? body.slice(0, 500) : ''),
    verb,
    path,
    retryAfterSeconds: parseRetryAfter(res.headers['retry-after'], nowMs),
    body,
  });
};

export class RestClient {
  readonly transport: Transport;
  readonly #clock: Clock;
  readonly #log: LevelLog;
  readonly #bucket: TokenBucket;
  readonly #opts: Required<Pick<RestOptions, 'timeoutMs' | 'maxRetries' | 'backoffBaseMs' | 'backoffMaxMs' | 'maxRetryAfterMs'>>;
  readonly #random: () => number;
  readonly #onResponse: RestOptions['onResponse'];

  constructor(opts: RestOptions) {
    this.transport = opts.transport;
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.logger ?? quietLog;
    this.#bucket = new TokenBucket(opts.qps ?? 20, opts.burst ?? 50, this.#clock);
    this.#opts = {
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxRetries: opts.maxRetries ?? 5,
      backoffBaseMs: opts.backoffBaseMs ?? 200,
      backoffMaxMs: opts.backoffMaxMs ?? 10_000,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 30_000,
    };
    this.#random = opts.random ?? Math.random;
    this.#onResponse = opts.onResponse;
  }

  /** One API call with retries; returns the parsed JSON body. */
  async request<T>(req: RequestOptions): Promise<T> {
    const path = buildPath(req.path, req.query);
    const maxRetries = req.maxRetries ?? this.#opts.maxRetries;
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    for (let attempt = 0; ; attempt++) {
      await this.#bucket.acquire(req.signal);
      const signals = [AbortSignal.timeout(req.timeoutMs ?? this.#opts.timeoutMs)];
      if (req.signal) signals.push(req.signal);
      let res: TransportResponse;
      try {
        res = await this.transport.send({ method: req.method, path, headers, body, signal: AbortSignal.any(signals) });
      } catch (cause) {
        if (req.signal?.aborted) throw req.signal.reason ?? cause;
        this.#onResponse?.(req.method, 0);
        const err = new KubeApiError({ statusCode: 0, message: describeNetworkError(cause), verb: req.method, path, cause });
        if (attempt >= maxRetries) throw err;
        await this.#backoff(attempt, undefined, err, req.signal);
        continue;
      }
      this.#onResponse?.(req.method, res.status);
      if (res.status >= 200 && res.status < 300) return parseJson(res.text) as T;
      const err = statusError(req.method, path, res, this.#clock.now());
      if (!retryableStatus(res.status) || attempt >= maxRetries) throw err;
      await this.#backoff(attempt, err.retryAfterSeconds, err, req.signal);
    }
  }

  async #backoff(attempt: number, retryAfterSeconds: number | undefined, err: KubeApiError, signal?: AbortSignal): Promise<void> {
    const delay =
      retryAfterSeconds !== undefined
        ? Math.min(retryAfterSeconds * 1000, this.#opts.maxRetryAfterMs)
        : jitteredBackoffMs(attempt, { baseMs: this.#opts.backoffBaseMs, maxMs: this.#opts.backoffMaxMs, random: this.#random });
    this.#log.debug('retrying kubernetes request', { verb: err.verb, path: err.path, status: err.statusCode, attempt: attempt + 1, delayMs: Math.round(delay) });
    await this.#clock.sleep(delay, signal);
  }
}

const describeNetworkError = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
};
