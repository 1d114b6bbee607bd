import type { z } from 'zod';
import { KdbClusterStatus, PoolStatus, RdbStatusEntry, RolledRdb } from '../../api/kdbcluster.ts';
import type { Condition, Phase } from '../../api/kdbcluster.ts';
import { fieldPath, formatFieldErrors, type FieldError } from '../../api/validate.ts';
import { mergeConditions } from '../../planner/conditions.ts';
import { stableJson } from '../../planner/plan-status.ts';
import type { Action } from '../../planner/types.ts';

/**
 * The status is the operator's memory (the scale-in step in flight, lost
 * RDBs, pod ordinals, the merged day), so one it cannot read is not thrown
 * away and not rewritten: the cluster goes Degraded naming the field, the
 * planner works from the parts that still parse, and only work that cannot
 * repeat an irreversible step runs until the status reads again.
 */
export interface StoredStatus {
  /** The whole status when it parses; otherwise the parts of it that do. */
  status: KdbClusterStatus | undefined;
  /** Empty when the stored status parses. */
  errors: FieldError[];
}

export const INVALID_STATUS = 'InvalidStatus';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keeps the fields of `raw` its schema accepts; `nested` salvages a refused field part by part. */
const validFields = (
  shape: Record<string, z.ZodType>,
  raw: Record<string, unknown>,
  nested: Record<string, (v: unknown) => unknown> = {},
): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, schema] of Object.entries(shape)) {
    if (raw[k] === undefined) continue;
    if (schema.safeParse(raw[k]).success) out[k] = raw[k];
    else {
      const part = nested[k]?.(raw[k]);
      if (part !== undefined) out[k] = part;
    }
  }
  return out;
};

const validEntries = (schema: z.ZodType, raw: unknown): unknown[] | undefined =>
  Array.isArray(raw) ? raw.filter((e) => schema.safeParse(e).success) : undefined;

const salvagePool = (raw: unknown): unknown => {
  if (PoolStatus.safeParse(raw).success) return raw;
  if (!isRecord(raw) || !PoolStatus.shape.name.safeParse(raw.name).success) return undefined;
  return validFields(PoolStatus.shape, raw, {
    rdbs: (v) => validEntries(RdbStatusEntry, v),
    rolled: (v) => validEntries(RolledRdb, v),
    queued: (v) => validEntries(PoolStatus.shape.queued.unwrap().element, v),
  });
};

export const readStoredStatus = (raw: unknown): StoredStatus => {
  if (raw === undefined || raw === null) return { status: undefined, errors: [] };
  const whole = KdbClusterStatus.safeParse(raw);
  if (whole.success) return { status: whole.data, errors: [] };
  const errors = whole.error.issues.map((i) => ({ field: fieldPath(i.path, 'status'), message: i.message }));
  if (!isRecord(raw)) return { status: undefined, errors };
  const parts = validFields(KdbClusterStatus.shape, raw, {
    pools: (v) => (Array.isArray(v) ? v.map(salvagePool).filter((p) => p !== undefined) : undefined),
    conditions: (v) => validEntries(KdbClusterStatus.shape.conditions.unwrap().element, v),
  });
  const salvaged = KdbClusterStatus.safeParse(parts);
  return { status: salvaged.success ? salvaged.data : undefined, errors };
};

/** Events of the work that still runs; the others would describe work that did not happen. */
const KEPT_EVENTS: ReadonlySet<string> = new Set(['RdbCreated', 'ScaleOut', 'RdbLost', 'DesiredCapacityRaised']);

/**
 * What may run while the stored status does not parse: everything that
 * creates or replaces pods and the capacity they need (desired only ever
 * goes up), and protection going on. Not the scale-in chain (its record may
 * be the unreadable part, and a chain restarted from nothing could repeat a
 * step), not a merge (its hole check reads the lost RDBs kept in status),
 * and not the planner's status write, which would overwrite the memory a
 * human can still repair. Kinds not listed here (new ones included) wait.
 */
export const mayRunWhileStatusUnreadable = (a: Action): boolean => {
  switch (a.kind) {
    case 'EnsureEfsAccessPoint':
    case 'EnsureStorageVolumes':
    case 'EnsureTickerplant':
    case 'EnsureGateway':
    case 'EnsureRdbPod':
    case 'AnnotateNode':
    case 'SuspendAZRebalance':
    case 'ProtectNewInstances':
    case 'SetDesiredCapacity':
    case 'RequeueAfter':
      return true;
    case 'DeleteRdbPod':
      return a.reason === 'Lost';
    case 'SetInstanceProtection':
      return a.protect;
    case 'EmitEvent':
      return KEPT_EVENTS.has(a.event.reason);
    default:
      return false;
  }
};

export const unreadableStatusMessage = (clusterName: string, errors: readonly FieldError[]): string => {
  const shown = errors.slice(0, 5);
  const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : '';
  return (
    `status cannot be read: ${formatFieldErrors(shown)}${more}. Scale-in and merges wait; pods are still created and replaced. ` +
    `Correct or remove the field: kubectl patch kdb ${clusterName} --subresource=status --type=json -p '[{"op":"remove","path":"/status/..."}]'`
  );
};

export interface UnreadableStatusWrite {
  /** The merge patch of status (phase and conditions only: every other field stays as stored). */
  status: { phase: Phase; conditions: Condition[] };
  /** False when the stored phase and conditions already say exactly this. */
  changed: boolean;
  /** True when Degraded was not already set for this reason and message: the moment for one Warning. */
  announce: boolean;
}

/**
 * Degraded with the field named, on top of the conditions the planner
 * computed (or the stored ones that parse).
 */
export const unreadableStatusWrite = (opts: {
  clusterName: string;
  errors: readonly FieldError[];
  rawStatus: unknown;
  base: readonly Condition[];
  now: Date;
  generation: number | undefined;
}): UnreadableStatusWrite => {
  const message = unreadableStatusMessage(opts.clusterName, opts.errors);
  const conditions = mergeConditions(opts.base, [{ type: 'Degraded', status: 'True', reason: INVALID_STATUS, message }], opts.now, opts.generation);
  const status = { phase: 'Degraded' as const, conditions };
  const raw = isRecord(opts.rawStatus) ? opts.rawStatus : {};
  const changed = stableJson({ phase: raw.phase, conditions: raw.conditions }) !== stableJson(status);
  const stored = Array.isArray(raw.conditions) ? (raw.conditions as unknown[]).find((c) => isRecord(c) && c.type === 'Degraded') : undefined;
  const announce = !(isRecord(stored) && stored.status === 'True' && stored.reason === INVALID_STATUS && stored.message === message);
  return { status, changed, announce };
};
