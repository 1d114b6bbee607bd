// Entry point of the AWS layer: one call builds the clients, the retry policy
// and the facades the controller uses.
import { AutoScaling } from './autoscaling.ts';
import { createSdkClients, describeAwsClientConfig, resolveAwsClientConfig, type AwsClientConfig } from './clients.ts';
import { Efs } from './efs.ts';
import { RetryPolicy, type CallObserver, type RetryOptions } from './retry.ts';

export interface AwsOptions {
  observer?: CallObserver;
  retry?: Partial<RetryOptions>;
  /** Describe cache lifetime for Auto Scaling groups (default 60 s). */
  groupCacheTtlMs?: number;
}

export interface Aws {
  autoScaling: AutoScaling;
  efs: Efs;
  /** For the start-up log line: region, endpoint, credential source. No secrets. */
  describe: Record<string, string | number>;
  destroy(): void;
}

export const createAws = (config: AwsClientConfig = {}, options: AwsOptions = {}): Aws => {
  const resolved = resolveAwsClientConfig(config);
  const clients = createSdkClients(resolved);
  // The attempt budget follows the HTTP handler's, plus a little slack so the
  // handler's own TimeoutError (clearer) normally fires first.
  const retry = new RetryPolicy({ attemptTimeoutMs: resolved.requestTimeoutMs + 1_000, ...options.retry }, options.observer);
  return {
    autoScaling: new AutoScaling(clients.autoScaling, retry, {
      ...(options.groupCacheTtlMs !== undefined ? { cacheTtlMs: options.groupCacheTtlMs } : {}),
    }),
    efs: new Efs(clients.efs, retry),
    describe: describeAwsClientConfig(resolved),
    destroy: clients.destroy,
  };
};

export type {
  AsgInstance,
  ChangeResult,
  ClaimResult,
  Group,
  GroupInstance,
  OwnerGuard,
  ProtectionResult,
  ReleaseResult,
  SetDesiredResult,
  TerminateResult,
} from './autoscaling.ts';
export { AutoScaling, hasTags, nodeGroupTags, OWNER_TAG } from './autoscaling.ts';
export type { AwsClientConfig, StaticCredentials } from './clients.ts';
export type { AccessPoint, EnsureAccessPointInput, EnsureAccessPointResult, FileSystemLookup, PosixUserSpec } from './efs.ts';
export { CLUSTER_TAG, Efs } from './efs.ts';
export { AmbiguousGroupError, AwsRequestError, AwsSafetyError, AwsUnavailableError, GroupNotFoundError } from './errors.ts';
export type { CallEvent, CallObserver, CallOutcome, RetryEvent, RetryOptions } from './retry.ts';
export { DEFAULT_RETRY_OPTIONS, RetryPolicy } from './retry.ts';
