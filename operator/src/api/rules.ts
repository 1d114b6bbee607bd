import type { z } from 'zod';

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

/** The meta block the CRD generator copies into the schema node verbatim. */
export const kubeValidations = (
  ...rules: CrossFieldRule<never>[]
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
}
interface TableLike {
  name: string;
  columns: { name: string; type: string }[];
}

const validPercent = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 99;
const validCount = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 1;

const duplicates = (names: string[]): Set<string> => {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return dup;
};

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
} satisfies Record<string, CrossFieldRule<never>>;
