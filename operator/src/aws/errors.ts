// Error vocabulary of the AWS layer. Callers outside operator/src/aws never see
// SDK exception classes: they get one of the typed errors below, so they can
// decide (condition, event, requeue) without importing @aws-sdk/*.

/** How a failed attempt is treated by the retry policy. */
export type ErrorKind = 'throttled' | 'transient' | 'client';

// Codes AWS services use for throttling. The SDK's own list is longer, but
// several of its entries (LimitExceededException, TransactionInProgress...)
// are quota or conflict errors for our services, not "slow down".
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
]);

// Server-side codes that arrive on 4xx-looking paths or without a status.
const TRANSIENT_CODES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
]);

// Node socket errors: the endpoint is down, unreachable or dropped us.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_HTTP2_STREAM_ERROR',
]);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: { throttling?: boolean };
  $fault?: unknown;
}

const asRecord = (e: unknown): SdkLikeError => (typeof e === 'object' && e !== null ? (e as SdkLikeError) : {});

/** The AWS error code (SDK exception name), or a socket error code. */
export const errorCode = (e: unknown): string => {
  const r = asRecord(e);
  if (typeof r.name === 'string' && r.name !== 'Error') return r.name;
  if (typeof r.code === 'string') return r.code;
  return 'Unknown';
};

export const httpStatusOf = (e: unknown): number | undefined => asRecord(e).$metadata?.httpStatusCode;

/**
 * Classify one failed attempt. Throttling and server/network trouble retry;
 * everything else is a statement about our request and must surface at once
 * (retrying a ValidationError only burns the throttling budget).
 */
export const classifyError = (e: unknown, depth = 0): ErrorKind => {
  const r = asRecord(e);
  const name = typeof r.name === 'string' ? r.name : '';
  const code = typeof r.code === 'string' ? r.code : '';
  const status = r.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING_CODES.has(name) || THROTTLING_CODES.has(code) || r.$retryable?.throttling === true) {
    return 'throttled';
  }
  if (r.$retryable !== undefined) return 'transient';
  if (status !== undefined && status >= 500 && status <= 599) return 'transient';
  if (TRANSIENT_CODES.has(name) || NETWORK_CODES.has(code) || NETWORK_CODES.has(name)) return 'transient';
  if (code.startsWith('UND_ERR_')) return 'transient';
  // The SDK wraps some socket failures; look one level into the cause chain.
  if (r.cause !== undefined && depth < 5) {
    const inner = classifyError(r.cause, depth + 1);
    if (inner !== 'client') return inner;
  }
  return 'client';
};

/**
 * AWS stayed throttled or unreachable for the whole retry budget. The
 * controller turns this into the AwsUnavailable condition and keeps
 * reconciling the Kubernetes side.
 */
export class AwsUnavailableError extends Error {
  override readonly name = 'AwsUnavailableError';
  readonly operation: string;
  readonly attempts: number;
  readonly lastErrorCode: string;
  /** Whether the last failed attempt was throttling (vs 5xx/network/timeout). */
  readonly throttled: boolean;
  readonly reason: 'attempts' | 'deadline';

  constructor(args: {
    operation: string;
    attempts: number;
    lastError: unknown;
    throttled: boolean;
    reason: 'attempts' | 'deadline';
  }) {
    const code = errorCode(args.lastError);
    super(
      `AWS ${args.operation} unavailable after ${args.attempts} attempt(s) (${args.reason} exhausted, last error ${code})`,
      { cause: args.lastError },
    );
    this.operation = args.operation;
    this.attempts = args.attempts;
    this.lastErrorCode = code;
    this.throttled = args.throttled;
    this.reason = args.reason;
  }
}

/** AWS rejected the request itself (4xx other than throttling). Not retried. */
export class AwsRequestError extends Error {
  override readonly name = 'AwsRequestError';
  readonly operation: string;
  /** AWS error code, e.g. ValidationError, ResourceInUse, AccessPointNotFound. */
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;

  constructor(operation: string, cause: unknown) {
    const r = asRecord(cause);
    const code = errorCode(cause);
    const msg = typeof r.message === 'string' ? r.message : String(cause);
    super(`AWS ${operation} failed: ${code}: ${msg}`, { cause });
    this.operation = operation;
    this.code = code;
    this.httpStatus = r.$metadata?.httpStatusCode;
    this.requestId = r.$metadata?.requestId;
  }

  /** The service's own message, without our prefix. */
  get awsMessage(): string {
    const c = asRecord(this.cause);
    return typeof c.message === 'string' ? c.message : '';
  }
}

/**
 * The facade refused to do something unsafe (for example terminate an instance
 * that belongs to a different group than the caller expected). Never retried.
 */
export class AwsSafetyError extends Error {
  override readonly name = 'AwsSafetyError';
}

/** More than one ASG matched a tag lookup: we never guess which one to scale. */
export class AmbiguousGroupError extends Error {
  override readonly name = 'AmbiguousGroupError';
  readonly groupNames: string[];
  constructor(tags: Record<string, string>, groupNames: string[]) {
    super(`tags ${JSON.stringify(tags)} match ${groupNames.length} Auto Scaling groups: ${groupNames.join(', ')}`);
    this.groupNames = groupNames;
  }
}

/** The named Auto Scaling group does not exist (spec points at the wrong group). */
export class GroupNotFoundError extends Error {
  override readonly name = 'GroupNotFoundError';
  readonly group: string;
  constructor(group: string) {
    super(`Auto Scaling group ${group} not found`);
    this.group = group;
  }
}
