import type { z } from 'zod';
import { KdbCluster, KdbClusterSpec } from './kdbcluster.ts';
import type { KdbClusterSpec as Spec, KdbCluster as Cluster } from './kdbcluster.ts';

/**
 * Parse = validate + apply defaults. Failures come back as values, not
 * exceptions: the controller turns them into a Degraded condition and an
 * Event on the resource, and never crashes on a bad spec.
 */
export interface FieldError {
  /** Path in Kubernetes notation, as the API server prints it: spec.rdbPools[0].scaleThreshold */
  field: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** ['spec','rdbPools',0,'name'] -> spec.rdbPools[0].name */
export const fieldPath = (path: readonly PropertyKey[], prefix = ''): string => {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
};

const toFieldErrors = (error: z.ZodError, prefix: string): FieldError[] =>
  error.issues.map((i) => ({ field: fieldPath(i.path, prefix), message: i.message }));

/** One line per field, for Events, conditions and logs. */
export const formatFieldErrors = (errors: readonly FieldError[]): string =>
  errors.map((e) => `${e.field}: ${e.message}`).join('; ');

export const parseKdbClusterSpec = (input: unknown): ParseResult<Spec> => {
  const r = KdbClusterSpec.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: toFieldErrors(r.error, 'spec') };
};

export const parseKdbCluster = (input: unknown): ParseResult<Cluster> => {
  const r = KdbCluster.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: toFieldErrors(r.error, '') };
};
