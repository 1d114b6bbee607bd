// The fault injector's state: which faults are armed, the decision for one
// call, and the numbered call log. No I/O, so it is testable on its own.
import { z } from 'zod';
import type { FaultKind, ParamValue } from './aws-protocol.ts';

export const FaultsSchema = z
  .object({
    throttleRate: z.number().min(0).max(1).optional(),
    errorRate: z.number().min(0).max(1).optional(),
    /** HTTP status of injected server errors (default 503). */
    errorStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
    latencyMs: z.number().int().min(0).max(120_000).optional(),
    /** Only calls of these operations (e.g. SetDesiredCapacity); all when absent. */
    operations: z.array(z.string()).optional(),
    /** Only calls to these services (autoscaling, ec2, efs); all when absent. */
    services: z.array(z.string()).optional(),
    /** Stop injecting after this many injected faults (then calls pass through). */
    maxInjections: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((f) => (f.throttleRate ?? 0) + (f.errorRate ?? 0) <= 1, 'throttleRate + errorRate must be <= 1');

export type Faults = z.infer<typeof FaultsSchema>;

export interface Decision {
  inject: FaultKind | null;
  latencyMs: number;
}

export interface CallRecord {
  seq: number;
  time: string;
  service: string;
  operation: string;
  params: Record<string, ParamValue>;
  status: number;
  injected: FaultKind | null;
  durationMs: number;
  attempt: number | null;
}

export interface FaultPlan {
  set(f: Faults): void;
  clear(): void;
  current(): Faults & { injectedSoFar: number };
  decide(service: string, operation: string, random?: number): Decision;
}

export const createFaultPlan = (): FaultPlan => {
  let faults: Faults = {};
  let injected = 0;
  const matches = (service: string, operation: string): boolean =>
    (!faults.services || faults.services.includes(service)) &&
    (!faults.operations || faults.operations.includes(operation));
  return {
    set(f) {
      faults = f;
      injected = 0;
    },
    clear() {
      faults = {};
      injected = 0;
    },
    current: () => ({ ...faults, injectedSoFar: injected }),
    decide(service, operation, random = Math.random()) {
      if (!matches(service, operation)) return { inject: null, latencyMs: 0 };
      const latencyMs = faults.latencyMs ?? 0;
      if (faults.maxInjections !== undefined && injected >= faults.maxInjections) return { inject: null, latencyMs };
      const throttle = faults.throttleRate ?? 0;
      const error = faults.errorRate ?? 0;
      const inject: FaultKind | null = random < throttle ? 'throttle' : random < throttle + error ? 'error' : null;
      if (inject) injected++;
      return { inject, latencyMs };
    },
  };
};

export interface CallLog {
  /** Numbers the record when the call completes, so `since` polling never misses one. */
  add(r: Omit<CallRecord, 'seq'>): CallRecord;
  since(seq: number): CallRecord[];
  reset(): void;
  lastSeq(): number;
}

/** Keeps the newest `capacity` records in memory (the JSONL file keeps all). */
export const createCallLog = (capacity = 50_000): CallLog => {
  let records: CallRecord[] = [];
  let seq = 0;
  return {
    add(r) {
      const rec = { seq: ++seq, ...r };
      records.push(rec);
      if (records.length > capacity) records = records.slice(records.length - capacity);
      return rec;
    },
    since: (after) => records.filter((r) => r.seq > after),
    // Sequence numbers keep counting across resets so an old `since` stays valid.
    reset() {
      records = [];
    },
    lastSeq: () => seq,
  };
};
