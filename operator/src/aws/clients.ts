// Construction of the SDK clients. Everything that differs between EKS and
// the local stack (region, endpoint, credentials) is resolved here once.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EFSClient } from '@aws-sdk/client-efs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientConfig {
  /** Defaults to AWS_REGION, then AWS_DEFAULT_REGION. */
  region?: string;
  /**
   * Endpoint override (moto / the fault injector). Defaults to
   * AWS_ENDPOINT_URL; unset on EKS, where the SDK resolves the real endpoint.
   */
  endpoint?: string;
  /**
   * Explicit credentials (tests: dummy ones, so the default chain never
   * probes the instance metadata address). Unset on EKS: the default chain
   * picks up IRSA's web identity token.
   */
  credentials?: StaticCredentials;
  /** TCP connect budget. */
  connectionTimeoutMs?: number;
  /** Whole request/response budget of one attempt. */
  requestTimeoutMs?: number;
}

export interface ResolvedAwsClientConfig {
  region: string;
  endpoint: string | undefined;
  credentials: StaticCredentials | undefined;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

const nonEmpty = (s: string | undefined): string | undefined => (s !== undefined && s.trim() !== '' ? s.trim() : undefined);

/** Pure: config + environment -> what the clients will use. */
export const resolveAwsClientConfig = (
  config: AwsClientConfig = {},
  env: Record<string, string | undefined> = process.env,
): ResolvedAwsClientConfig => {
  const region = nonEmpty(config.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (region === undefined) throw new Error('AWS region not configured: set AWS_REGION or pass region');
  const endpoint = nonEmpty(config.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  if (endpoint !== undefined) {
    // Fail at start-up, not on the first reconcile.
    const u = new URL(endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`AWS endpoint must be http(s): ${endpoint}`);
  }
  return {
    region,
    endpoint,
    credentials: config.credentials,
    connectionTimeoutMs: config.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    requestTimeoutMs: config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
};

/** Safe to log: never contains secrets. */
export const describeAwsClientConfig = (c: ResolvedAwsClientConfig): Record<string, string | number> => ({
  region: c.region,
  endpoint: c.endpoint ?? 'default',
  credentials: c.credentials === undefined ? 'default-chain' : 'explicit',
  connectionTimeoutMs: c.connectionTimeoutMs,
  requestTimeoutMs: c.requestTimeoutMs,
});

export interface SdkClients {
  autoScaling: AutoScalingClient;
  efs: EFSClient;
  /** Close the keep-alive sockets (tests, shutdown). */
  destroy(): void;
}

export const createSdkClients = (config: ResolvedAwsClientConfig): SdkClients => {
  // One handler per client: client.destroy() destroys its handler's agent.
  const common = () => ({
    region: config.region,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
    // Our RetryPolicy is the only retry layer (see retry.ts).
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Without this the handler only logs a warning when requestTimeout
      // passes and keeps waiting: a hung endpoint would block reconcile.
      throwOnRequestTimeout: true,
    }),
  });
  const autoScaling = new AutoScalingClient(common());
  const efs = new EFSClient(common());
  return {
    autoScaling,
    efs,
    destroy: () => {
      autoScaling.destroy();
      efs.destroy();
    },
  };
};
