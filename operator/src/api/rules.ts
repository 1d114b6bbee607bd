import type { z } from 'zod';
import { quantityOrUndefined } from './quantity.ts';
import { TIME_ZONES, isKnownTimeZone } from './time-zones.ts';

/**
 * Cross-field rules of the KdbCluster spec, each written twice on purpose:
 * once as a zod check (the operator, unit tests) and once as a CEL rule (the
 * API server, via the CRD). Keeping both in one record with one message
 * means `kubectl apply` and the operator reject a spec with the same words.
 *
 * CEL cost stays inside the API server's budget because every list and
 * string the rules walk has maxItems/maxLength in the schema.
 */
export interface CrossFieldRule<T> {
  /** CEL expression, evaluated with `self` bound to the node the rule sits on. */
  cel: string;
  /** Where the error points, relative to that node (a CEL fieldPath); absent = the node itself. */
  fieldPath?: string;
  message: string;
  check: (value: T, ctx: z.RefinementCtx) => void;
}

export interface KubeValidation {
  rule: string;
  message: string;
  fieldPath?: string;
}

/**
 * A rule only the API server can check: it compares an update with the
 * stored object (CEL `oldSelf`), which a zod parse of one object cannot see.
 * The API server evaluates it on updates only, and only where the old value
 * exists; test/integration/operator-crd.test.ts proves each on the real API
 * server.
 */
export interface TransitionRule {
  cel: string;
  fieldPath?: string;
  message: string;
}

/** The meta block the CRD generator copies into the schema node verbatim. */
export const kubeValidations = (
  ...rules: (CrossFieldRule<never> | TransitionRule)[]
): { 'x-kubernetes-validations': KubeValidation[] } => ({
  'x-kubernetes-validations': rules.map((r) => ({
    rule: r.cel,
    message: r.message,
    ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
  })),
});

const issue = (ctx: z.RefinementCtx, path: (string | number)[], message: string): void => {
  ctx.addIssue({ code: 'custom', path, message, input: undefined });
};

interface PoolLike {
  name: string;
  scaleThreshold: number;
  rollThreshold: number;
  minRdbs: number;
  maxRdbs: number;
  tables: string[];
  syms: string[];
}
interface TableLike {
  name: string;
  columns: { name: string; type: string }[];
}

const validPercent = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 99;
const validCount = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 1;

const overlaps = (a: readonly string[], b: readonly string[]): boolean => a.length === 0 || b.length === 0 || a.some((x) => b.includes(x));

/** Empty tables or syms mean all of them (as the RDB's subscription does). */
export const poolsOverlap = (p: Pick<PoolLike, 'tables' | 'syms'>, q: Pick<PoolLike, 'tables' | 'syms'>): boolean =>
  overlaps(p.tables ?? [], q.tables ?? []) && overlaps(p.syms ?? [], q.syms ?? []);

const duplicates = (names: string[]): Set<string> => {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return dup;
};

/**
 * The longest KdbCluster name whose derived names all stay valid
 * (operator/src/specs/names.ts; test/unit/api-names.test.ts recomputes it):
 * the tickerplant StatefulSet `<name>-tickerplant` may have at most 52
 * characters, because the StatefulSet controller labels its pods
 * `controller-revision-hash: <statefulset>-<hash of up to 10>` and a label
 * value holds 63; its Service of the same name must be a DNS-1035 label
 * (a letter first, no dots). Everything else (RDB pods
 * `<name>-<pool>-rdb-<ordinal>`, merge Jobs `<name>-merge-YYYY-MM-DD`, PVs
 * `kdb-<namespace>-<name>-efs`, the cluster label) fits with room to spare.
 */
export const CLUSTER_NAME_MAX = 40;
const CLUSTER_NAME_RE2 = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
const CLUSTER_NAME = new RegExp(CLUSTER_NAME_RE2);

/**
 * The smallest RDB memory limit: the reference RDB (Node.js) needs about
 * 64Mi idle and its baseline is at most half the limit
 * (images/sim/src/config.ts defaultBaseline), so below 128Mi it has no room
 * for data and is OOM-killed at start; a kdb+ RDB fares no better. "0" or
 * "1m" (a milli-byte) is a typo, not a size.
 */
export const MIN_RDB_MEMORY = { quantity: '128Mi', bytes: 128 * 2 ** 20 } as const;

const MSG = {
  scaleBelowRoll:
    'rdbPools[].scaleThreshold must be below rollThreshold: the next RDB needs time to start before the live one rolls (e.g. 60 and 80)',
  minNotAboveMax:
    'rdbPools[].minRdbs must not exceed maxRdbs: lower minRdbs or raise maxRdbs',
  uniquePoolNames:
    'rdbPools[].name must be unique: each pool is its own tickerplant queue, rename the duplicate',
  uniqueTableNames:
    'tickerplant.tables[].name must be unique: rename or merge the duplicate table',
  tableStartsWithTimeSym:
    'tickerplant.tables[].columns must start with time (timespan or timestamp) and sym (symbol), as kdb+tick requires',
  poolTablesExist:
    'rdbPools[].tables must only name tables defined in tickerplant.tables: fix the name or add the table',
  knownTimeZone:
    'tickerplant.endOfDay.timeZone must be an IANA time zone of the tz database, spelled exactly, such as "America/New_York", "Europe/London", "Asia/Tokyo" or "UTC"',
  rdbMemoryFloor: `rdbPools[].memory must be at least ${MIN_RDB_MEMORY.quantity}: an RDB needs about 64Mi idle plus room for the day's data (e.g. "1Gi")`,
  poolsDisjoint:
    'rdbPools[].tables must not overlap between two pools whose syms overlap too (empty tables = all tables, empty syms = all syms): a row both pools subscribe to would reach the HDB twice. Give the pools different tables or different syms, e.g. tables [trade] in one and [quote] in the other',
  ipcPortDiffers:
    'tickerplant.ipcPort must differ from tickerplant.port: both listen in the one tickerplant container. Pick another port for the kdb+ IPC listener (e.g. 5020), or leave ipcPort out',
  windowNotEmpty:
    'updates.maintenanceWindow.end must differ from start: the window would be empty. Give it a length, e.g. start "18:00" and end "20:00" (a window may cross midnight: "23:00" to "01:00")',
  openBeforeClose:
    'rdbPools[].schedule.close must be after open, on the same day (e.g. open "09:30" and close "16:00"); a market open across midnight is not supported: leave schedule out for it',
  windowNeedsEndOfDay:
    'updates.maintenanceWindow applies only with updates.apply EndOfDay: with Immediate every change applies at once. Remove maintenanceWindow, or set apply to EndOfDay',
  clusterName: `metadata.name of a KdbCluster must be at most ${CLUSTER_NAME_MAX} characters, lower-case letters, digits and '-', starting with a letter: it names the tickerplant StatefulSet and Service (<name>-tickerplant), whose pod labels hold 63 characters`,
} as const;

export const crossFieldRules = {
  scaleBelowRoll: {
    cel: 'self.scaleThreshold < self.rollThreshold',
    fieldPath: '.scaleThreshold',
    message: MSG.scaleBelowRoll,
    check: (p: PoolLike, ctx: z.RefinementCtx) => {
      // Only compare two valid percents: a bad one already has its own error.
      if (!validPercent(p.scaleThreshold) || !validPercent(p.rollThreshold)) return;
      if (p.scaleThreshold >= p.rollThreshold) issue(ctx, ['scaleThreshold'], MSG.scaleBelowRoll);
    },
  },
  minNotAboveMax: {
    cel: 'self.minRdbs <= self.maxRdbs',
    fieldPath: '.minRdbs',
    message: MSG.minNotAboveMax,
    check: (p: PoolLike, ctx: z.RefinementCtx) => {
      if (!validCount(p.minRdbs) || !validCount(p.maxRdbs)) return;
      if (p.minRdbs > p.maxRdbs) issue(ctx, ['minRdbs'], MSG.minNotAboveMax);
    },
  },
  uniquePoolNames: {
    cel: 'self.all(p, self.exists_one(q, q.name == p.name))',
    message: MSG.uniquePoolNames,
    check: (pools: PoolLike[], ctx: z.RefinementCtx) => {
      const dup = duplicates(pools.map((p) => p.name));
      pools.forEach((p, i) => {
        if (dup.has(p.name)) issue(ctx, [i, 'name'], MSG.uniquePoolNames);
      });
    },
  },
  // Each published row goes to exactly one pool, so the day's slices hold it
  // once. Quadratic in syms (CEL has no sets of cost below n*m): LIMITS.syms
  // keeps 16 x 16 pool pairs within the API server's per-rule budget.
  poolsDisjoint: {
    cel:
      'self.all(p, self.all(q, p.name == q.name || !((p.tables.size() == 0 || q.tables.size() == 0 || p.tables.exists(t, t in q.tables)) && (p.syms.size() == 0 || q.syms.size() == 0 || p.syms.exists(s, s in q.syms)))))',
    message: MSG.poolsDisjoint,
    check: (pools: PoolLike[], ctx: z.RefinementCtx) => {
      pools.forEach((q, j) => {
        const clash = pools.slice(0, j).find((p) => p.name !== q.name && poolsOverlap(p, q));
        if (clash) issue(ctx, [j, 'tables'], `${MSG.poolsDisjoint} (pools ${clash.name} and ${q.name})`);
      });
    },
  },
  uniqueTableNames: {
    cel: 'self.all(t, self.exists_one(u, u.name == t.name))',
    message: MSG.uniqueTableNames,
    check: (tables: TableLike[], ctx: z.RefinementCtx) => {
      const dup = duplicates(tables.map((t) => t.name));
      tables.forEach((t, i) => {
        if (dup.has(t.name)) issue(ctx, [i, 'name'], MSG.uniqueTableNames);
      });
    },
  },
  tableStartsWithTimeSym: {
    cel:
      "self.columns.size() >= 2 && self.columns[0].name == 'time' && self.columns[0].type in ['timespan', 'timestamp'] && self.columns[1].name == 'sym' && self.columns[1].type == 'symbol'",
    fieldPath: '.columns',
    message: MSG.tableStartsWithTimeSym,
    check: (t: TableLike, ctx: z.RefinementCtx) => {
      const [time, sym] = t.columns;
      const ok =
        time?.name === 'time' &&
        (time.type === 'timespan' || time.type === 'timestamp') &&
        sym?.name === 'sym' &&
        sym.type === 'symbol';
      if (!ok) issue(ctx, ['columns'], MSG.tableStartsWithTimeSym);
    },
  },
  poolTablesExist: {
    cel: 'self.rdbPools.all(p, p.tables.all(t, self.tickerplant.tables.exists(u, u.name == t)))',
    fieldPath: '.rdbPools',
    message: MSG.poolTablesExist,
    check: (
      spec: { tickerplant: { tables: TableLike[] }; rdbPools: PoolLike[] },
      ctx: z.RefinementCtx,
    ) => {
      const known = new Set(spec.tickerplant.tables.map((t) => t.name));
      spec.rdbPools.forEach((p, i) => {
        p.tables.forEach((t, j) => {
          if (!known.has(t)) issue(ctx, ['rdbPools', i, 'tables', j], MSG.poolTablesExist);
        });
      });
    },
  },
  knownTimeZone: {
    cel: `self in [${TIME_ZONES.map((z) => `'${z}'`).join(', ')}]`,
    message: MSG.knownTimeZone,
    check: (tz: string, ctx: z.RefinementCtx) => {
      if (!isKnownTimeZone(tz)) issue(ctx, [], MSG.knownTimeZone);
    },
  },
  rdbMemoryFloor: {
    // memory is int-or-string: string() makes both one quantity.
    cel: `!isQuantity(string(self)) || quantity(string(self)).compareTo(quantity('${MIN_RDB_MEMORY.quantity}')) >= 0`,
    message: MSG.rdbMemoryFloor,
    check: (memory: unknown, ctx: z.RefinementCtx) => {
      const bytes = quantityOrUndefined(memory);
      // Not a quantity (or negative): the field's own error says so.
      if (bytes === undefined || bytes < 0) return;
      if (bytes < MIN_RDB_MEMORY.bytes) issue(ctx, [], MSG.rdbMemoryFloor);
    },
  },
  ipcPortDiffers: {
    cel: '!has(self.ipcPort) || self.ipcPort != self.port',
    fieldPath: '.ipcPort',
    message: MSG.ipcPortDiffers,
    check: (tp: { port: number; ipcPort?: number | undefined }, ctx: z.RefinementCtx) => {
      if (tp.ipcPort !== undefined && tp.ipcPort === tp.port) issue(ctx, ['ipcPort'], MSG.ipcPortDiffers);
    },
  },
  windowNotEmpty: {
    cel: 'self.start != self.end',
    fieldPath: '.end',
    message: MSG.windowNotEmpty,
    check: (w: { start: string; end: string }, ctx: z.RefinementCtx) => {
      if (w.start === w.end) issue(ctx, ['end'], MSG.windowNotEmpty);
    },
  },
  openBeforeClose: {
    cel: 'self.open < self.close',
    fieldPath: '.close',
    message: MSG.openBeforeClose,
    check: (s: { open: string; close: string }, ctx: z.RefinementCtx) => {
      // Two valid times only: a bad one has its own error.
      const hhmm = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
      if (hhmm.test(String(s.open)) && hhmm.test(String(s.close)) && !(s.open < s.close)) issue(ctx, ['close'], MSG.openBeforeClose);
    },
  },
  windowNeedsEndOfDay: {
    cel: "!has(self.maintenanceWindow) || self.apply == 'EndOfDay'",
    fieldPath: '.maintenanceWindow',
    message: MSG.windowNeedsEndOfDay,
    check: (u: { apply: string; maintenanceWindow?: unknown }, ctx: z.RefinementCtx) => {
      if (u.maintenanceWindow !== undefined && u.apply !== 'EndOfDay') issue(ctx, ['maintenanceWindow'], MSG.windowNeedsEndOfDay);
    },
  },
  clusterNameFits: {
    cel: `self.metadata.name.size() <= ${CLUSTER_NAME_MAX} && self.metadata.name.matches('${CLUSTER_NAME_RE2}')`,
    message: MSG.clusterName,
    check: (c: { metadata: { name: string } }, ctx: z.RefinementCtx) => {
      const name = c.metadata.name;
      if (name.length > CLUSTER_NAME_MAX || !CLUSTER_NAME.test(name)) issue(ctx, ['metadata', 'name'], MSG.clusterName);
    },
  },
} satisfies Record<string, CrossFieldRule<never>>;

/** A field that keeps the value it was created with. */
const unchanged = (message: string): TransitionRule => ({ cel: 'self == oldSelf', message });

/**
 * Changes a running cluster cannot take, refused by the API server. Each
 * message names the field and says what to do instead. What is left mutable
 * is safe to change: images, resources, batchMs, thresholds (they apply to
 * new RDBs; see the README), minRdbs/maxRdbs, merge, reclaimPolicy, and the
 * set of pools (a removed pool drains; a renamed pool is a removed one plus
 * a new one, since pools are keyed by name).
 */
export const transitionRules = {
  // The tickerplant would open a new, empty log: message numbers restart at
  // 0, and the running RDBs' windows point into the old log.
  fileSystemId: unchanged(
    'storage.efs.fileSystemId cannot change on a running cluster: the tickerplant log and the HDB are on the old file system. Copy the data and create a new KdbCluster, or change it back',
  ),
  accessPointCreate: unchanged(
    'storage.efs.accessPoint.create cannot change on a running cluster: it moves the cluster\'s folder, so the tickerplant would start an empty log and renumber messages. Create a new KdbCluster instead, or change it back',
  ),
  logPath: unchanged(
    'storage.efs.logPath cannot change on a running cluster: the tickerplant would start an empty log and renumber messages from 0 under the running RDBs. Create a new KdbCluster with the new path instead, or change it back',
  ),
  hdbPath: unchanged(
    'storage.efs.hdbPath cannot change on a running cluster: RDBs flush and the merge writes to the path they were started with, so days would be split across two HDBs. Create a new KdbCluster with the new path instead, or change it back',
  ),
  // Running RDBs have the port in their environment and could never reconnect.
  tickerplantPort: unchanged(
    'tickerplant.port cannot change on a running cluster: the running RDBs connect to the port they were started with. Create a new KdbCluster instead, or change it back',
  ),
  // The log holds messages of the old schema that replacements replay, and
  // the HDB's partitions would differ in columns from one day to the next.
  tickerplantTables: unchanged(
    'tickerplant.tables cannot change on a running cluster: the tickerplant log and the HDB hold rows of the old schema that RDBs replay. Create a new KdbCluster (new logPath and hdbPath) for a new schema, or change it back',
  ),
  // A new zone or time moves the trading day under the running day: it can
  // go back to a day already flushed and merged (a second slice after the
  // merge is a hole in the HDB) or skip one.
  endOfDay: unchanged(
    'tickerplant.endOfDay cannot change on a running cluster: it would move the trading day under the RDBs, and a day already merged could get more rows. Create a new KdbCluster with the new end of day instead, or change it back',
  ),
  // The pool's RDB servers are in that group: scale-in would look for them
  // in the new one and never remove them.
  poolNodeGroup: unchanged(
    'rdbPools[].nodeGroup cannot change on a running pool: its RDB servers are in the old node group and could never be scaled in. Add a new pool on the other node group and remove this one: it drains at end of day',
  ),
  poolAutoScalingGroupName: {
    cel: 'has(self.autoScalingGroupName) == has(oldSelf.autoScalingGroupName) && (!has(self.autoScalingGroupName) || self.autoScalingGroupName == oldSelf.autoScalingGroupName)',
    fieldPath: '.autoScalingGroupName',
    message:
      'rdbPools[].autoScalingGroupName cannot be set, changed or removed on a running pool: its RDB servers are in the group it was created with. Add a new pool with the other group and remove this one: it drains at end of day',
  },
  // A replacement replays a lost RDB's window: with other tables or syms it
  // would hold another slice than the one lost, a hole in the HDB.
  poolTables: unchanged(
    'rdbPools[].tables cannot change on a running pool: a replacement RDB must replay exactly what a lost one subscribed to. Add a new pool with the new tables and remove this one: it drains at end of day',
  ),
  poolSyms: unchanged(
    'rdbPools[].syms cannot change on a running pool: a replacement RDB must replay exactly what a lost one subscribed to. Add a new pool with the new syms and remove this one: it drains at end of day',
  ),
  // A replacement replays a whole lost window, which filled the old limit up
  // to rollThreshold: with less memory it is killed before it holds it.
  poolMemoryGrows: {
    cel: '!isQuantity(string(self)) || !isQuantity(string(oldSelf)) || quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0',
    message:
      'rdbPools[].memory can only grow on a running pool: a replacement RDB replays a lost RDB\'s whole window and needs its memory. For smaller RDBs add a new pool and remove this one: it drains at end of day',
  },
} satisfies Record<string, TransitionRule>;
