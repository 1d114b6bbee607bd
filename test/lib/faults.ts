// Client of the fault injector's control API (test/stack/fault-injector.ts),
// which stands between the operator and moto on the local stack.
import { PORTS } from './stack.ts';

export interface FaultSpec {
  /** Share of matching calls answered with the protocol's throttling error (0..1). */
  throttleRate?: number;
  /** Share of matching calls answered with a server error (0..1). */
  errorRate?: number;
  /** HTTP status of injected server errors: 500, 502, 503 (default) or 504. */
  errorStatus?: 500 | 502 | 503 | 504;
  /** Delay added to every matching call, injected or not. */
  latencyMs?: number;
  /** Only these operations (e.g. 'SetDesiredCapacity'); all when absent. */
  operations?: string[];
  /** Only these services ('autoscaling', 'ec2', 'efs'); all when absent. */
  services?: string[];
  /** Inject at most this many faults, then let calls through. */
  maxInjections?: number;
}

export interface AwsCall {
  seq: number;
  /** When the call arrived (ISO 8601). */
  time: string;
  service: string;
  operation: string;
  /** A parsed subset: AutoScalingGroupName(s), InstanceId(s), DesiredCapacity, ShouldDecrementDesiredCapacity, ProtectedFromScaleIn, FileSystemId, ... */
  params: Record<string, string | number | boolean | string[]>;
  status: number;
  injected: 'throttle' | 'error' | null;
  durationMs: number;
  /** The SDK's attempt number for this request (1 = first try), when it says. */
  attempt: number | null;
}

const baseUrl = (): string => (process.env.KDB_FAULTS_URL ?? `http://127.0.0.1:${PORTS.faultsControl}`).replace(/\/$/, '');

const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
  const res = await fetch(baseUrl() + path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`fault injector ${method} ${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
};

/** Replaces the armed faults (not a merge). */
export const setFaults = (spec: FaultSpec): Promise<FaultSpec & { injectedSoFar: number }> => request('PUT', '/faults', spec);

export const clearFaults = (): Promise<unknown> => request('DELETE', '/faults');

/** Calls completed after `since` (a seq), oldest first. */
export const calls = (since = 0): Promise<AwsCall[]> => request('GET', `/calls?since=${since}`);

/** Forgets recorded calls; returns the last seq so far (numbering continues). */
export const resetCalls = async (): Promise<number> => (await request<{ lastSeq: number }>('DELETE', '/calls')).lastSeq;

/** The newest seq so far, to ask later for `calls(mark)` = what happened since. */
export const lastSeq = async (): Promise<number> => (await request<{ lastSeq: number }>('GET', '/healthz')).lastSeq;
