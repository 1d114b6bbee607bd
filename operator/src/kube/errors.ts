/**
 * A failed Kubernetes API call. statusCode 0 means no HTTP response
 * (connection refused/reset, timeout). `reason` is metav1.Status.reason
 * (NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Gone, ...).
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly statusCode: number;
  readonly reason: string;
  readonly verb: string;
  readonly path: string;
  readonly retryAfterSeconds: number | undefined;
  readonly body: unknown;

  constructor(args: {
    statusCode: number;
    reason?: string;
    message: string;
    verb: string;
    path: string;
    retryAfterSeconds?: number;
    body?: unknown;
    cause?: unknown;
  }) {
    super(`${args.verb} ${args.path}: ${args.statusCode || 'no response'} ${args.reason ?? ''}: ${args.message}`.replace(/\s+:/, ':'), {
      cause: args.cause,
    });
    this.statusCode = args.statusCode;
    this.reason = args.reason ?? '';
    this.verb = args.verb;
    this.path = args.path;
    this.retryAfterSeconds = args.retryAfterSeconds;
    this.body = args.body;
  }
}

const codeOf = (err: unknown): number | undefined => {
  if (err instanceof KubeApiError) return err.statusCode;
  if (typeof err === 'object' && err !== null) {
    const e = err as { statusCode?: unknown; code?: unknown };
    if (typeof e.statusCode === 'number') return e.statusCode;
    if (typeof e.code === 'number') return e.code;
  }
  return undefined;
};

export const isNotFound = (err: unknown): boolean => codeOf(err) === 404;
/** 409 of either kind: AlreadyExists on create, Conflict on a stale resourceVersion/precondition. */
export const isConflict = (err: unknown): boolean => codeOf(err) === 409;
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => codeOf(err) === 410;
export const isForbidden = (err: unknown): boolean => codeOf(err) === 403;
export const isInvalid = (err: unknown): boolean => codeOf(err) === 422;
/** Worth retrying the same request: throttled, server error, or no response. */
export const isRetryable = (err: unknown): boolean => {
  const code = codeOf(err);
  return code === undefined || code === 0 || code === 429 || (code >= 500 && code !== 501);
};
