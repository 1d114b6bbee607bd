import { z } from 'zod';
import { RdbState } from './rdb-status.ts';
import { QUANTITY } from './quantity.ts';
import { CLUSTER_NAME_MAX, MIN_RDB_MEMORY, crossFieldRules, kubeValidations, transitionRules } from './rules.ts';

/**
 * The KdbCluster API (kdb-operator.dev/v1alpha1). This file is the single
 * source of truth: the TypeScript types, the operator's validation and the
 * CRD's OpenAPI schema (scripts/gen-crd.ts) all come from these schemas, so
 * a bound or a default changed here changes all three.
 *
 * Every message names the field and says how to fix it: the same text shows
 * up in `kubectl apply` errors (through the CRD) and in operator logs.
 */

export const API_GROUP = 'kdb-operator.dev';
export const API_VERSION = 'v1alpha1';
export const KIND = 'KdbCluster';
export const PLURAL = 'kdbclusters';
export const SINGULAR = 'kdbcluster';
export const SHORT_NAMES = ['kdb'] as const;
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** Schema annotation for lists keyed by a field (server-side apply merges entries by key). */
const listMap = (key: string) => ({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] });

// ---- shared patterns (also emitted into the CRD, so keep them RE2-compatible)

/** RFC 1123 label, as Kubernetes requires for names used in pod names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export { QUANTITY };
export const HH_MM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
/** IANA-ish zone name (UTC, Europe/London, America/Argentina/Buenos_Aires, Etc/GMT+5). */
export const IANA_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;
export const EFS_ID = /^fs-[0-9a-f]{8,40}$/;
/** q identifiers: tables and columns become q symbols and must not clash with q syntax. */
export const Q_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
export const ABS_PATH = /^\/.*$/;
/** A quantity without a sign: a memory limit cannot be negative. */
export const POSITIVE_QUANTITY = new RegExp(QUANTITY.source.replace('^(\\+|-)?', '^'));
/** Syms reach the RDB joined by commas (KDB_SYMS), and the RDB trims each one. */
export const SYM = /^[^,\s]+$/;

/** Bounds that keep CEL rule cost inside the API server's budget and names inside pod-name limits. */
export const LIMITS = {
  pools: 16,
  /** See CLUSTER_NAME_MAX: what the tickerplant StatefulSet's pod labels allow. */
  clusterName: CLUSTER_NAME_MAX,
  /** Pod names `<cluster>-<pool>-rdb-<ordinal>` stay far below 253 characters. */
  poolName: 30,
  tables: 64,
  columns: 128,
  /** The pools-overlap rule compares the syms of 16 x 16 pool pairs: with 160 the API server refuses the CRD as over its CEL cost budget (kube-apiserver 1.36). */
  syms: 128,
  symLength: 64,
  nameLength: 63,
  imageLength: 512,
  quantityLength: 32,
  pathLength: 1024,
  rdbsPerPool: 1000,
  conditions: 16,
} as const;

const dnsLabel = (field: string, max: number) =>
  z
    .string({ error: `${field} is required: a lower-case DNS label such as "equities"` })
    .min(1, `${field} must not be empty: use a lower-case DNS label such as "equities"`)
    .max(max, `${field} must be at most ${max} characters: it becomes part of pod names`)
    .regex(DNS_LABEL, `${field} must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit`);

const image = (field: string, dflt: string) =>
  z
    .string({ error: `${field} must be a container image reference such as "${dflt}"` })
    .min(1, `${field} must not be empty: set a container image such as "${dflt}" or leave it out for the default`)
    .max(LIMITS.imageLength, `${field} must be at most ${LIMITS.imageLength} characters`)
    .default(dflt);

const absPath = (field: string, dflt: string) =>
  z
    .string({ error: `${field} must be an absolute path such as "${dflt}"` })
    .max(LIMITS.pathLength, `${field} must be at most ${LIMITS.pathLength} characters`)
    .regex(ABS_PATH, `${field} must be an absolute path such as "${dflt}"`)
    .default(dflt);

const tcpPort = (field: string, dflt: number) =>
  z
    .number({ error: `${field} must be a TCP port from 1024 to 65535 (default ${dflt})` })
    .int(`${field} must be a whole number from 1024 to 65535 (default ${dflt})`)
    .min(1024, `${field} must be from 1024 to 65535: the pod runs unprivileged (default ${dflt})`)
    .max(65535, `${field} must be from 1024 to 65535 (default ${dflt})`);

const percent = (field: string, dflt: number) =>
  z
    .number({ error: `${field} must be a whole percent from 1 to 99 (default ${dflt})` })
    .int(`${field} must be a whole percent from 1 to 99 (default ${dflt})`)
    .min(1, `${field} must be a whole percent from 1 to 99 (default ${dflt})`)
    .max(99, `${field} must be a whole percent from 1 to 99 (default ${dflt})`)
    .default(dflt);

/**
 * A Kubernetes quantity: a string like "1Gi" or "500m", or a plain integer.
 * The meta flag tells the CRD generator to emit x-kubernetes-int-or-string.
 */
export const Quantity = (field: string, pattern: RegExp = QUANTITY) =>
  z
    .union(
      [
        // Bounded: CEL rules parse it as a quantity, and their cost is counted from its length.
        z
          .string()
          .max(LIMITS.quantityLength, `${field} must be at most ${LIMITS.quantityLength} characters`)
          .regex(pattern, `${field} must be a Kubernetes quantity such as "1Gi", "512Mi" or "500m"`),
        z.number().int().nonnegative(),
      ],
      { error: `${field} must be a Kubernetes quantity such as "1Gi", "512Mi" or "500m"` },
    )
    .meta({ 'x-kubernetes-int-or-string': true });
export type Quantity = string | number;

const ResourceList = (field: string) =>
  z.record(
    z.string().max(LIMITS.nameLength),
    Quantity(`${field} values`),
    { error: `${field} must map resource names to quantities, e.g. { cpu: "500m", memory: "1Gi" }` },
  );

export const Resources = z
  .object({
    requests: ResourceList('resources.requests').optional(),
    limits: ResourceList('resources.limits').optional(),
  })
  .describe('Compute resources of the tickerplant container, as in a pod spec.');
export type Resources = z.infer<typeof Resources>;

// ---- tables

export const ColumnType = z.enum(
  [
    'boolean', 'guid', 'byte', 'short', 'int', 'long', 'real', 'float', 'char', 'symbol',
    'timestamp', 'month', 'date', 'datetime', 'timespan', 'minute', 'second', 'time', 'string',
  ],
  { error: 'column type must be a q type name: boolean, guid, byte, short, int, long, real, float, char, symbol, timestamp, month, date, datetime, timespan, minute, second, time or string' },
);
export type ColumnType = z.infer<typeof ColumnType>;

export const Column = z.object({
  name: z
    .string({ error: 'column name is required: a q identifier such as "price"' })
    .max(LIMITS.nameLength, `column name must be at most ${LIMITS.nameLength} characters`)
    .regex(Q_NAME, 'column name must be a q identifier: a letter, then letters, digits or _'),
  type: ColumnType,
});
export type Column = z.infer<typeof Column>;

export const Table = z
  .object({
    name: z
      .string({ error: 'table name is required: a q identifier such as "trade"' })
      .max(LIMITS.nameLength, `table name must be at most ${LIMITS.nameLength} characters`)
      .regex(Q_NAME, 'table name must be a q identifier: a letter, then letters, digits or _'),
    columns: z
      .array(Column, { error: 'columns must be a list of {name, type}, starting with time and sym' })
      .min(2, 'columns must start with time (timespan or timestamp) and sym (symbol)')
      .max(LIMITS.columns, `columns must have at most ${LIMITS.columns} entries`),
  })
  .superRefine(crossFieldRules.tableStartsWithTimeSym.check)
  .meta(kubeValidations(crossFieldRules.tableStartsWithTimeSym));
export type Table = z.infer<typeof Table>;

/** The mock trade and quote tables of the paper's simulation (kdb+tick's sym.q shapes). */
export const DEFAULT_TABLES: Table[] = [
  {
    name: 'trade',
    columns: [
      { name: 'time', type: 'timespan' },
      { name: 'sym', type: 'symbol' },
      { name: 'price', type: 'float' },
      { name: 'size', type: 'long' },
    ],
  },
  {
    name: 'quote',
    columns: [
      { name: 'time', type: 'timespan' },
      { name: 'sym', type: 'symbol' },
      { name: 'bid', type: 'float' },
      { name: 'ask', type: 'float' },
      { name: 'bsize', type: 'long' },
      { name: 'asize', type: 'long' },
    ],
  },
];

const Tables = z
  .array(Table, { error: 'tables must be a list of {name, columns}' })
  .min(1, 'tables must list at least one table; leave tables out for the default trade and quote tables')
  .max(LIMITS.tables, `tables must have at most ${LIMITS.tables} entries`)
  .superRefine(crossFieldRules.uniqueTableNames.check)
  .meta(kubeValidations(crossFieldRules.uniqueTableNames, transitionRules.tickerplantTables));

// ---- spec

export const EndOfDay = z.object(
  {
  time: z
    .string({ error: 'endOfDay.time must be a 24-hour time HH:MM such as "17:00"' })
    .regex(HH_MM, 'endOfDay.time must be a 24-hour time HH:MM such as "17:00"')
    .default('17:00'),
  timeZone: z
    .string({ error: 'endOfDay.timeZone must be an IANA time zone such as "America/New_York"' })
    .max(LIMITS.nameLength, `endOfDay.timeZone must be at most ${LIMITS.nameLength} characters`)
    .regex(IANA_ZONE, 'endOfDay.timeZone must be an IANA time zone such as "America/New_York" or "UTC"')
    .superRefine(crossFieldRules.knownTimeZone.check)
    .meta(kubeValidations(crossFieldRules.knownTimeZone))
    .default('America/New_York'),
  },
  { error: 'tickerplant.endOfDay must be an object {time: "HH:MM", timeZone: "Area/City"}' },
).meta(kubeValidations(transitionRules.endOfDay));
export type EndOfDay = z.infer<typeof EndOfDay>;

export const TickerplantSpec = z
  .object(
    {
    image: image('tickerplant.image', 'ghcr.io/kdb-operator/sim:0.1.0'),
    port: z
      .number({ error: 'tickerplant.port must be a TCP port from 1024 to 65535 (default 5010)' })
      .int('tickerplant.port must be a whole number from 1024 to 65535 (default 5010)')
      .min(1024, 'tickerplant.port must be from 1024 to 65535: the tickerplant runs unprivileged (default 5010)')
      .max(65535, 'tickerplant.port must be from 1024 to 65535 (default 5010)')
      .default(5010)
      .meta(kubeValidations(transitionRules.tickerplantPort)),
    resources: Resources.optional(),
    nodeGroup: dnsLabel('tickerplant.nodeGroup', LIMITS.nameLength).default('tickerplant'),
    endOfDay: EndOfDay.prefault({}),
    tables: Tables.default(DEFAULT_TABLES),
    batchMs: z
      .number({ error: 'tickerplant.batchMs must be a whole number of milliseconds, 0 for zero-latency' })
      .int('tickerplant.batchMs must be a whole number of milliseconds, 0 for zero-latency')
      .min(0, 'tickerplant.batchMs must be 0 (zero-latency) or more')
      .max(60000, 'tickerplant.batchMs must be at most 60000 (one minute)')
      .default(0),
    ipcPort: tcpPort('tickerplant.ipcPort', 5020)
      .optional()
      .describe('A kdb+ IPC listener for q feedhandlers (async .u.upd[table; data]) on this port, also on the tickerplant Service; leave it out for none.'),
    },
    { error: 'tickerplant must be an object; leave it out for the defaults' },
  )
  .superRefine(crossFieldRules.ipcPortDiffers.check)
  .meta(kubeValidations(crossFieldRules.ipcPortDiffers))
  .describe('The tickerplant: one per cluster, a StatefulSet of one on its own node group.');
export type TickerplantSpec = z.infer<typeof TickerplantSpec>;

/**
 * When the live RDB asks for the next server. 'threshold' (the default, the
 * paper's rule): at scaleThreshold. 'predictive': as soon as the live RDB's
 * measured fill rate says it reaches its roll threshold within the pool's
 * measured lead time (pod created to RDB queued) times leadTimeMargin, and
 * never later than scaleThreshold; not for an RDB that would not roll
 * before end of day.
 */
export const ScaleOutSpec = z
  .object(
    {
      policy: z
        .enum(['threshold', 'predictive'], { error: 'rdbPools[].scaleOut.policy must be "threshold" or "predictive" (default "threshold")' })
        .default('threshold')
        .describe('threshold: ask for the next server at scaleThreshold. predictive: ask when the fill rate says the live RDB rolls within the lead time times leadTimeMargin; scaleThreshold stays the latest it asks.'),
      leadTimeMargin: z
        .number({ error: 'rdbPools[].scaleOut.leadTimeMargin must be a number above 1 and at most 10 (default 1.5)' })
        .gt(1, 'rdbPools[].scaleOut.leadTimeMargin must be above 1: at 1 or below the next RDB is queued no sooner than the live one rolls')
        .max(10, 'rdbPools[].scaleOut.leadTimeMargin must be at most 10: beyond that predictive asks for servers long before they are needed; use policy "threshold" with a lower scaleThreshold instead')
        .default(1.5)
        .describe('predictive only: how many measured lead times ahead of the roll the next server is asked for.'),
    },
    { error: 'rdbPools[].scaleOut must be an object {policy, leadTimeMargin}; leave it out for policy "threshold"' },
  )
  .describe('How the live RDB asks for the next server; leave it out for the paper\'s fixed scaleThreshold.');
export type ScaleOutSpec = z.infer<typeof ScaleOutSpec>;

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
const SCHEDULE_DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * When the pool's market is open, in the tickerplant's endOfDay.timeZone (one
 * zone per cluster, as its trading day). Outside those hours the pool may hold no
 * RDB at all: once its RDBs hold nothing (after end of day), even the last
 * server is handed back, and a lead time before the next open a fresh RDB is
 * queued to go live (what the tickerplant logged meanwhile is replayed).
 */
export const ScheduleSpec = z
  .object(
    {
      days: z
        .array(z.enum(WEEKDAYS, { error: `rdbPools[].schedule.days entries must be ${WEEKDAYS.join(', ')}` }))
        .min(1, 'rdbPools[].schedule.days must name at least one day (default Mon to Fri)')
        .max(7)
        .default(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])
        .describe("Days of the week the market opens, in the tickerplant's endOfDay.timeZone."),
      open: z
        .string({ error: 'rdbPools[].schedule.open is required: a 24-hour time HH:MM such as "09:30"' })
        .regex(HH_MM, 'rdbPools[].schedule.open must be a 24-hour time HH:MM such as "09:30"'),
      close: z
        .string({ error: 'rdbPools[].schedule.close is required: a 24-hour time HH:MM such as "16:00"' })
        .regex(HH_MM, 'rdbPools[].schedule.close must be a 24-hour time HH:MM such as "16:00"'),
      holidays: z
        .array(z.string().regex(SCHEDULE_DAY, 'rdbPools[].schedule.holidays entries must be dates YYYY-MM-DD such as "2026-12-25"'))
        .max(400, 'rdbPools[].schedule.holidays must list at most 400 dates')
        .default([])
        .describe("Dates (in the tickerplant's endOfDay.timeZone) the market stays closed."),
    },
    { error: 'rdbPools[].schedule must be an object {open: "HH:MM", close: "HH:MM", days, holidays}' },
  )
  .superRefine(crossFieldRules.openBeforeClose.check)
  .meta(kubeValidations(crossFieldRules.openBeforeClose))
  .describe('When the market is open; leave it out to keep minRdbs running around the clock.');
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

export const RdbPoolSpec = z
  .object(
    {
    name: dnsLabel('rdbPools[].name', LIMITS.poolName),
    image: image('rdbPools[].image', 'ghcr.io/kdb-operator/sim:0.1.0'),
    nodeGroup: dnsLabel('rdbPools[].nodeGroup', LIMITS.nameLength)
      .default('rdb')
      .meta(kubeValidations(transitionRules.poolNodeGroup)),
    autoScalingGroupName: z
      .string({ error: 'rdbPools[].autoScalingGroupName must be an ASG name; leave it out to find the ASG by its eks:nodegroup-name tag' })
      .min(1, 'rdbPools[].autoScalingGroupName must not be empty; leave it out to find the ASG by its eks:nodegroup-name tag')
      .max(255, 'rdbPools[].autoScalingGroupName must be at most 255 characters')
      .optional(),
    memory: Quantity('rdbPools[].memory', POSITIVE_QUANTITY)
      .superRefine(crossFieldRules.rdbMemoryFloor.check)
      .meta({ 'x-kubernetes-int-or-string': true, ...kubeValidations(crossFieldRules.rdbMemoryFloor, transitionRules.poolMemoryGrows) })
      .describe(
        `Memory limit of each RDB container (a Kubernetes quantity such as "1Gi", at least ${MIN_RDB_MEMORY.quantity}); thresholds are percent of it.`,
      ),
    scaleThreshold: percent('rdbPools[].scaleThreshold', 60).describe(
      'Percent of memory at which the live RDB asks for the next server (the paper uses 60).',
    ),
    rollThreshold: percent('rdbPools[].rollThreshold', 80).describe(
      'Percent of memory at which the live RDB rolls to the next queued one (the paper uses 80).',
    ),
    tables: z
      .array(z.string().max(LIMITS.nameLength).regex(Q_NAME, 'rdbPools[].tables entries must be table names'), {
        error: 'rdbPools[].tables must be a list of table names; leave it empty for all tables',
      })
      .max(LIMITS.tables, `rdbPools[].tables must have at most ${LIMITS.tables} entries`)
      .default([])
      .meta(kubeValidations(transitionRules.poolTables)),
    syms: z
      .array(
        z
          .string()
          .min(1, 'rdbPools[].syms entries must not be empty')
          .max(LIMITS.symLength, `rdbPools[].syms entries must be at most ${LIMITS.symLength} characters`)
          .regex(SYM, 'rdbPools[].syms entries must be single symbols without commas or whitespace: list each symbol as its own entry'),
        { error: 'rdbPools[].syms must be a list of symbols; leave it empty for all symbols' },
      )
      .max(LIMITS.syms, `rdbPools[].syms must have at most ${LIMITS.syms} entries`)
      .default([])
      .meta(kubeValidations(transitionRules.poolSyms)),
    minRdbs: z
      .number({ error: 'rdbPools[].minRdbs must be a whole number from 1 to 1000 (default 1)' })
      .int('rdbPools[].minRdbs must be a whole number (default 1)')
      .min(1, 'rdbPools[].minRdbs must be at least 1: a pool always keeps its live RDB')
      .max(LIMITS.rdbsPerPool, `rdbPools[].minRdbs must be at most ${LIMITS.rdbsPerPool}`)
      .default(1),
    maxRdbs: z
      .number({ error: 'rdbPools[].maxRdbs must be a whole number from 1 to 1000 (default 10)' })
      .int('rdbPools[].maxRdbs must be a whole number (default 10)')
      .min(1, 'rdbPools[].maxRdbs must be at least 1')
      .max(LIMITS.rdbsPerPool, `rdbPools[].maxRdbs must be at most ${LIMITS.rdbsPerPool}`)
      .default(10),
    idleInstanceGraceSeconds: z
      .number({ error: 'rdbPools[].idleInstanceGraceSeconds must be a whole number of seconds from 10 to 86400 (default 600)' })
      .int('rdbPools[].idleInstanceGraceSeconds must be a whole number of seconds (default 600)')
      .min(10, 'rdbPools[].idleInstanceGraceSeconds must be at least 10: a new server needs that long to become a node')
      .max(86_400, 'rdbPools[].idleInstanceGraceSeconds must be at most 86400 (a day)')
      .default(600)
      .describe(
        "How long an instance of the pool's group that the operator protected may host no RDB before it is scaled in (through the recorded chain, its node checked empty of every pod first).",
      ),
    maxParallelScaleIns: z
      .number({ error: 'rdbPools[].maxParallelScaleIns must be a whole number from 1 to 1000 (default 10)' })
      .int('rdbPools[].maxParallelScaleIns must be a whole number (default 10)')
      .min(1, 'rdbPools[].maxParallelScaleIns must be at least 1')
      .max(LIMITS.rdbsPerPool, `rdbPools[].maxParallelScaleIns must be at most ${LIMITS.rdbsPerPool}`)
      .optional()
      .describe(
        'How many servers of the pool may be on their way out at once (default 10): at end of day every flushed RDB is handed back in parallel, each through its own recorded chain.',
      ),
    scaleOut: ScaleOutSpec.optional(),
    schedule: ScheduleSpec.optional(),
    suspendAZRebalance: z
      .boolean({ error: 'rdbPools[].suspendAZRebalance must be true or false (default true)' })
      .default(true)
      .describe('Suspend the ASG AZRebalance process, which would otherwise let AWS pick an RDB server to terminate.'),
    },
    { error: 'rdbPools[] entries must be objects {name, memory, ...}' },
  )
  .superRefine((pool, ctx) => {
    crossFieldRules.scaleBelowRoll.check(pool, ctx);
    crossFieldRules.minNotAboveMax.check(pool, ctx);
  })
  .meta(kubeValidations(crossFieldRules.scaleBelowRoll, crossFieldRules.minNotAboveMax, transitionRules.poolAutoScalingGroupName))
  .describe('One RDB queue of the tickerplant (the paper\'s cluster), on its own node group.');
export type RdbPoolSpec = z.infer<typeof RdbPoolSpec>;

export const EfsSpec = z.object(
  {
  fileSystemId: z
    .string({ error: 'storage.efs.fileSystemId is required: the id of your EFS file system, e.g. "fs-0123456789abcdef0"' })
    .regex(EFS_ID, 'storage.efs.fileSystemId must be an EFS id: "fs-" and hex digits, e.g. "fs-0123456789abcdef0"')
    .meta(kubeValidations(transitionRules.fileSystemId)),
  accessPoint: z
    .object({
      create: z
        .boolean({ error: 'storage.efs.accessPoint.create must be true or false (default false)' })
        .default(false)
        .meta(kubeValidations(transitionRules.accessPointCreate)),
    })
    .prefault({}),
  logPath: absPath('storage.efs.logPath', '/tplog').meta(kubeValidations(transitionRules.logPath)),
  hdbPath: absPath('storage.efs.hdbPath', '/hdb').meta(kubeValidations(transitionRules.hdbPath)),
  reclaimPolicy: z
    .enum(['Retain', 'Delete'], { error: 'storage.efs.reclaimPolicy must be "Retain" or "Delete" (default "Retain")' })
    .default('Retain'),
  },
  { error: 'storage.efs is required: set storage.efs.fileSystemId to your EFS file system id (fs-...)' },
);
export type EfsSpec = z.infer<typeof EfsSpec>;

export const StorageSpec = z.object(
  { efs: EfsSpec },
  { error: 'storage is required: set storage.efs.fileSystemId to the EFS file system for the tickerplant log and the HDB' },
);
export type StorageSpec = z.infer<typeof StorageSpec>;

export const AgentSpec = z.object({
  image: image('agent.image', 'ghcr.io/kdb-operator/agent:0.1.0'),
});
export type AgentSpec = z.infer<typeof AgentSpec>;

/**
 * When a change to the tickerplant or to a pool's pods (image, resources,
 * env) reaches running pods. EndOfDay (the default): in the
 * AFTER_END_OF_DAY_MINUTES after the tickerplant's end of day, or inside
 * maintenanceWindow when the spec names one; never mid-day. Immediate: at
 * once (the tickerplant restarts mid-day). New RDBs always get the new spec.
 */
const hhMm = (field: string, example: string) =>
  z
    .string({ error: `${field} must be a 24-hour time HH:MM such as "${example}", in tickerplant.endOfDay.timeZone` })
    .regex(HH_MM, `${field} must be a 24-hour time HH:MM such as "${example}", in tickerplant.endOfDay.timeZone`);

export const MaintenanceWindow = z
  .object(
    {
      start: hhMm('updates.maintenanceWindow.start', '18:00'),
      end: hhMm('updates.maintenanceWindow.end', '20:00'),
    },
    { error: 'updates.maintenanceWindow must be an object {start: "HH:MM", end: "HH:MM"} in tickerplant.endOfDay.timeZone' },
  )
  .superRefine(crossFieldRules.windowNotEmpty.check)
  .meta(kubeValidations(crossFieldRules.windowNotEmpty))
  .describe('Daily window, wall-clock times in tickerplant.endOfDay.timeZone, when pending changes apply instead of after end of day; end before start crosses midnight.');
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const UpdatesSpec = z
  .object(
    {
      apply: z
        .enum(['EndOfDay', 'Immediate'], { error: 'updates.apply must be "EndOfDay" or "Immediate" (default "EndOfDay")' })
        .default('EndOfDay')
        .describe('EndOfDay: changes to running pods wait for the end of day (or maintenanceWindow); Immediate: they apply at once, mid-day too.'),
      maintenanceWindow: MaintenanceWindow.optional(),
    },
    { error: 'updates must be an object {apply, maintenanceWindow}; leave it out to apply changes after end of day' },
  )
  .superRefine(crossFieldRules.windowNeedsEndOfDay.check)
  .meta(kubeValidations(crossFieldRules.windowNeedsEndOfDay))
  .describe('When changes to the tickerplant and to pools reach running pods.');
export type UpdatesSpec = z.infer<typeof UpdatesSpec>;

/** A Secret's name (DNS subdomain) and a key in its data, as the API server checks them. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** The reference HDB the gateway asks for merged days: one pod reading the HDB folder on EFS. */
export const GatewayHdbSpec = z
  .object(
    {
    image: z
      .string({ error: 'gateway.hdb.image must be a container image reference; leave it out to use the gateway\'s image' })
      .min(1, 'gateway.hdb.image must not be empty; leave it out to use the gateway\'s image')
      .max(LIMITS.imageLength, `gateway.hdb.image must be at most ${LIMITS.imageLength} characters`)
      .optional()
      .describe('Image with the hdb entrypoint (args: hdb); default: the gateway\'s image.'),
    port: tcpPort('gateway.hdb.port', 5012).default(5012),
    resources: Resources.optional(),
    },
    { error: 'gateway.hdb must be an object {image, port, resources}; leave it out for the defaults' },
  )
  .describe('The HDB process serving the merged days over kdb+ IPC (read-only on the cluster\'s EFS HDB folder).');
export type GatewayHdbSpec = z.infer<typeof GatewayHdbSpec>;

/**
 * The gateway: one kdb+ IPC endpoint (getData, purview) over every RDB of
 * the cluster and its HDB (gateway/README.md). The operator runs it as a
 * Deployment and Service, with the HDB and a headless Service over the RDBs.
 */
export const GatewaySpec = z
  .object(
    {
    enabled: z
      .boolean({ error: 'gateway.enabled must be true or false (default false)' })
      .default(false)
      .describe('Run the gateway, the HDB and the RDBs\' headless Service; false removes them.'),
    replicas: z
      .number({ error: 'gateway.replicas must be a whole number from 1 to 16 (default 1)' })
      .int('gateway.replicas must be a whole number from 1 to 16 (default 1)')
      .min(1, 'gateway.replicas must be at least 1; set gateway.enabled false to run none')
      .max(16, 'gateway.replicas must be at most 16')
      .default(1),
    image: z
      .string({ error: 'gateway.image must be a container image reference; leave it out to use the tickerplant\'s image' })
      .min(1, 'gateway.image must not be empty; leave it out to use the tickerplant\'s image')
      .max(LIMITS.imageLength, `gateway.image must be at most ${LIMITS.imageLength} characters`)
      .optional()
      .describe('Image with the gateway entrypoint (args: gateway); default: the tickerplant\'s image.'),
    resources: Resources.optional(),
    port: tcpPort('gateway.port', 5000).default(5000).describe('The kdb+ IPC port clients hopen, on the pods and the Service.'),
    nodeGroup: dnsLabel('gateway.nodeGroup', LIMITS.nameLength)
      .optional()
      .describe('Node group of the gateway and HDB pods; default: the tickerplant\'s, which is always up (never an RDB server, which is scaled in).'),
    credentialsSecret: z
      .object(
        {
        name: z
          .string({ error: 'gateway.credentialsSecret.name is required: the Secret in the cluster\'s namespace with the user:password lines' })
          .max(253, 'gateway.credentialsSecret.name must be at most 253 characters')
          .regex(SECRET_NAME, 'gateway.credentialsSecret.name must be a Secret name: lower-case letters, digits, \'-\' and \'.\', e.g. "kdb-gateway-users"'),
        key: z
          .string({ error: 'gateway.credentialsSecret.key must be a key of the Secret (default "credentials")' })
          .max(253, 'gateway.credentialsSecret.key must be at most 253 characters')
          .regex(SECRET_KEY, 'gateway.credentialsSecret.key must be a Secret key: letters, digits, \'-\', \'_\' and \'.\' (default "credentials")')
          .default('credentials'),
        },
        { error: 'gateway.credentialsSecret must be an object {name, key}; leave it out to accept any user' },
      )
      .optional()
      .describe('Secret whose key holds the users allowed to connect, one user:password per line as q -u reads them (kubectl create secret generic kdb-gateway-users --from-file=credentials=users.txt). Mounted as a file; the operator never reads it. Leave it out to accept any user.'),
    rowLimit: z
      .number({ error: 'gateway.rowLimit must be a whole number of rows of at least 1' })
      .int('gateway.rowLimit must be a whole number of rows of at least 1')
      .min(1, 'gateway.rowLimit must be at least 1; leave it out for the default')
      .max(1_000_000_000, 'gateway.rowLimit must be at most 1000000000')
      .optional()
      .describe('Most rows one getData may answer (KDB_GATEWAY_ROW_LIMIT); a query over it is refused with a kdb+ error. Default: the data plane\'s.'),
    hdb: GatewayHdbSpec.prefault({}),
    },
    { error: 'gateway must be an object {enabled, replicas, image, resources, port, credentialsSecret, rowLimit, hdb}; leave it out for no gateway' },
  )
  .describe('A kdb+ IPC gateway across the RDBs and the HDB: clients hopen `:<cluster>-gateway.<namespace>:<port>` and call getData.');
export type GatewaySpec = z.infer<typeof GatewaySpec>;

/**
 * The end-of-day merge the paper left open: once every RDB has flushed a day,
 * the operator runs one Job that merges the day's slices into the HDB.
 */
export const MergeSpec = z
  .object(
    {
    enabled: z
      .boolean({ error: 'merge.enabled must be true or false (default true)' })
      .default(true)
      .describe('Run the merge Job at end of day; false leaves the slices in the staging area for your own process.'),
    image: z
      .string({ error: 'merge.image must be a container image reference; leave it out to use the first pool\'s RDB image' })
      .min(1, 'merge.image must not be empty; leave it out to use the first pool\'s RDB image')
      .max(LIMITS.imageLength, `merge.image must be at most ${LIMITS.imageLength} characters`)
      .optional()
      .describe('Image with the merge entrypoint (args: merge); default: the first pool\'s RDB image.'),
    nodeGroup: dnsLabel('merge.nodeGroup', LIMITS.nameLength)
      .optional()
      .describe('Node group the merge Job runs on; default: the tickerplant\'s, which is always up.'),
    resources: Resources.optional(),
    },
    { error: 'merge must be an object {enabled, image, nodeGroup, resources}; leave it out for the defaults' },
  )
  .describe('End-of-day merge of the RDBs\' slices into the HDB day partition.');
export type MergeSpec = z.infer<typeof MergeSpec>;


/**
 * Where the q images find the kdb+ licence: a Secret in the cluster's
 * namespace whose key holds the base64 of the licence file. Pods read it by
 * secretKeyRef; the operator itself never reads the Secret.
 */
export const KdbLicenseSecret = z
  .object(
    {
    name: z
      .string({ error: 'kdbLicenseSecret.name is required: the Secret in the cluster\'s namespace that holds the licence' })
      .max(253, 'kdbLicenseSecret.name must be at most 253 characters')
      .regex(SECRET_NAME, 'kdbLicenseSecret.name must be a Secret name: lower-case letters, digits, \'-\' and \'.\', e.g. "kdb-license"'),
    key: z
      .string({ error: 'kdbLicenseSecret.key must be a key of the Secret (default "KDB_LICENSE_B64")' })
      .max(253, 'kdbLicenseSecret.key must be at most 253 characters')
      .regex(SECRET_KEY, 'kdbLicenseSecret.key must be a Secret key: letters, digits, \'-\', \'_\' and \'.\' (default "KDB_LICENSE_B64")')
      .default('KDB_LICENSE_B64')
      .describe('Key whose value is the base64 of the licence file (kubectl create secret generic kdb-license --from-literal=KDB_LICENSE_B64="$(base64 -w0 kc.lic)").'),
    file: z
      .enum(['kc.lic', 'k4.lic'], { error: 'kdbLicenseSecret.file must be "kc.lic" or "k4.lic" (default "kc.lic")' })
      .default('kc.lic')
      .describe('Which licence file the value is: kc.lic (KDB_LICENSE_B64) or the classic k4.lic (KDB_K4LICENSE_B64).'),
    },
    { error: 'kdbLicenseSecret must be an object {name, key, file}; leave it out for images that need no licence' },
  )
  .describe('Secret with the kdb+ licence for the q images (tickerplant, RDBs, merge); leave it out for the reference image.');
export type KdbLicenseSecret = z.infer<typeof KdbLicenseSecret>;

export const KdbClusterSpec = z
  .object(
    {
    tickerplant: TickerplantSpec.prefault({}),
    rdbPools: z
      .array(RdbPoolSpec, { error: 'rdbPools is required: a list with at least one RDB pool {name, memory}' })
      .min(1, 'rdbPools must list at least one RDB pool {name, memory}')
      .max(LIMITS.pools, `rdbPools must have at most ${LIMITS.pools} pools`)
      .superRefine(crossFieldRules.uniquePoolNames.check)
      .superRefine(crossFieldRules.poolsDisjoint.check)
      // A map list lets server-side apply (kubectl, Helm) merge pools by name.
      .meta({ ...kubeValidations(crossFieldRules.uniquePoolNames, crossFieldRules.poolsDisjoint), ...listMap('name') }),
    storage: StorageSpec,
    agent: AgentSpec.prefault({}),
    merge: MergeSpec.prefault({}),
    kdbLicenseSecret: KdbLicenseSecret.optional(),
    gateway: GatewaySpec.prefault({}),
    updates: UpdatesSpec.prefault({}),
    },
    { error: 'spec must be an object with rdbPools and storage' },
  )
  .superRefine(crossFieldRules.poolTablesExist.check)
  .meta(kubeValidations(crossFieldRules.poolTablesExist));
export type KdbClusterSpec = z.infer<typeof KdbClusterSpec>;
export type KdbClusterSpecInput = z.input<typeof KdbClusterSpec>;

// ---- status

export const ConditionType = z.enum([
  'Ready',
  'ScalingOut',
  'ScalingIn',
  'Degraded',
  'CapacityLimited',
  'AwsUnavailable',
  'StorageReady',
  'NodeGroupUnresolved',
  'NodeGroupOwnedByAnother',
  'Hibernated',
  'ChangesPending',
]);
export type ConditionType = z.infer<typeof ConditionType>;

/** metav1.Condition. `type` is open so newer operators can add types without breaking older readers. */
export const Condition = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().nonnegative().optional(),
  lastTransitionTime: z.string().max(64),
  reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof Condition>;

export const Phase = z.enum(['Pending', 'Provisioning', 'Running', 'ScalingOut', 'ScalingIn', 'Degraded', 'Deleting', 'Hibernating', 'Hibernated']);
export type Phase = z.infer<typeof Phase>;

/** The RDB's state as the operator sees it: the data plane's states plus the ones only the operator knows. */
export const RdbPhase = z.enum(['waitingForNode', 'starting', ...RdbState.options, 'lost', 'deleting']);
export type RdbPhase = z.infer<typeof RdbPhase>;

export const ScaleInStep = z.enum(['DeletePod', 'ConfirmInstance', 'Unprotect', 'Terminate']);
export type ScaleInStep = z.infer<typeof ScaleInStep>;

/**
 * One in-flight scale-in of a pool (one server on its way out). Written
 * before each step begins, so a restarted operator continues at the recorded
 * step and never repeats an irreversible one.
 */
export const ScaleInRecord = z.object({
  /** The flushed RDB removed first; absent when the instance was idle (hosted no RDB pod for the grace period). */
  rdb: z.string().max(253).optional(),
  instanceId: z.string().max(64),
  node: z.string().max(253).optional(),
  step: ScaleInStep,
  startedAt: z.string().max(64),
  /** When the RDB reported its data flushed: the scale-in reaction time runs from here to the terminate. */
  flushedAt: z.string().max(64).optional(),
});
export type ScaleInRecord = z.infer<typeof ScaleInRecord>;

export const RolledRdb = z.object({
  name: z.string().max(253),
  firstI: z.number().int().nonnegative(),
  lastI: z.number().int().nonnegative(),
});
export type RolledRdb = z.infer<typeof RolledRdb>;

export const RdbStatusEntry = z.object({
  name: z.string().max(253),
  node: z.string().max(253).optional(),
  instanceId: z.string().max(64).optional(),
  state: RdbPhase,
  memoryPercent: z.number().int().nonnegative().optional(),
  /** Set on a replacement: the lost RDB whose window it replays. */
  replaces: z.string().max(253).optional(),
  firstI: z.number().int().nonnegative().optional(),
  lastI: z.number().int().nonnegative().optional(),
  /** The trading day its window is of (its last report): a replacement after end of day replays that day's log. */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
});
export type RdbStatusEntry = z.infer<typeof RdbStatusEntry>;

export const PoolStatus = z.object({
  name: z.string().max(LIMITS.poolName),
  autoScalingGroupName: z.string().max(255).optional(),
  desiredCapacity: z.number().int().nonnegative().optional(),
  live: z.string().max(253).optional(),
  queued: z.array(z.string().max(253)).max(LIMITS.rdbsPerPool).default([]),
  rolled: z.array(RolledRdb).max(LIMITS.rdbsPerPool).default([]),
  rdbs: z.array(RdbStatusEntry).max(LIMITS.rdbsPerPool).default([]),
  /** The pool's scale-ins in flight, one per instance (see planner/plan-scale-in.ts). */
  scaleIns: z.array(ScaleInRecord).max(LIMITS.rdbsPerPool).optional(),
  /**
   * The single scale-in an operator older than parallel scale-ins recorded:
   * still read (and continued) after an upgrade, moved into scaleIns by the
   * next record written, never written any more. Read both through scaleInsOf.
   */
  scaleIn: ScaleInRecord.optional(),
  /**
   * Instances of the pool's ASG seen hosting no RDB pod, with when that was
   * first seen: one still idle after the grace period is scaled in.
   */
  idleInstances: z
    .array(z.object({ instanceId: z.string().max(64), since: z.string().max(64) }))
    .max(LIMITS.rdbsPerPool)
    .optional(),
  /**
   * predictive pools: the live RDB's last memory sample (its report's time
   * and percent) and the fill rate measured between its successive reports
   * (percent per minute, smoothed), which the next plan continues from.
   */
  fill: z
    .object({
      rdb: z.string().max(253),
      at: z.string().max(64),
      percent: z.number().nonnegative(),
      percentPerMinute: z.number().optional(),
    })
    .optional(),
  /**
   * predictive pools: the lead time the operator measured, pod created to RDB
   * queued (or replaying, when nothing was live), for the last few RDBs, and
   * their median, which predictive scale-out plans with.
   */
  leadTime: z
    .object({
      seconds: z.number().nonnegative(),
      samples: z.array(z.object({ rdb: z.string().max(253), seconds: z.number().nonnegative() })).max(10),
    })
    .optional(),
  /** Next RDB pod ordinal: names are never reused within a pool's life, so the tickerplant never sees one name twice. */
  nextOrdinal: z.number().int().nonnegative().optional(),
  /**
   * Set while the pool is no longer in the spec but still has RDBs: they stay
   * until they flushed `day` (the last trading day the pool serves) and are
   * then scaled in; see planner/plan-drain.ts.
   */
  /** schedule: outside market hours, until when (the next open less the lead time) the pool may hold no RDB. */
  offHours: z.object({ until: z.string().max(64).optional() }).optional(),
  draining: z
    .object({
      since: z.string().max(64),
      day: z.string().max(10).optional(),
      /** Every RDB flushed `day`: what is left is removed. Once set it stays (nothing can add to that day again). */
      done: z.boolean().optional(),
    })
    .optional(),
  /**
   * The live RDB built from an older pool spec that the operator asked the
   * tickerplant to roll onto `next`, a queued RDB of the current spec, and
   * when (planner/plan-updates.ts). Kept until `rdb` is seen no longer live,
   * so the request is announced once and its end once.
   */
  rotation: z
    .object({
      rdb: z.string().max(253),
      next: z.string().max(253),
      requestedAt: z.string().max(64),
    })
    .optional(),
});
export type PoolStatus = z.infer<typeof PoolStatus>;

/**
 * Every scale-in a pool's status holds: scaleIns, and a legacy scaleIn left
 * by an older operator (upgraded mid-chain) unless scaleIns names its
 * instance already. One record per instance, in the order recorded.
 */
export const scaleInsOf = (ps: Pick<PoolStatus, 'scaleIn' | 'scaleIns'> | undefined): ScaleInRecord[] => {
  const out: ScaleInRecord[] = [];
  const seen = new Set<string>();
  for (const r of [...(ps?.scaleIns ?? []), ...(ps?.scaleIn ? [ps.scaleIn] : [])]) {
    if (seen.has(r.instanceId)) continue;
    seen.add(r.instanceId);
    out.push(r);
  }
  return out;
};

/** The pool's chains with the one of `instanceId` replaced, added (at the end) or, for null, removed. */
export const applyScaleInRecord = (chains: readonly ScaleInRecord[], instanceId: string, record: ScaleInRecord | null): ScaleInRecord[] => {
  const rest = chains.filter((r) => r.instanceId !== instanceId);
  if (record === null) return rest;
  const at = chains.findIndex((r) => r.instanceId === instanceId);
  return at < 0 ? [...rest, record] : [...rest.slice(0, at), record, ...rest.slice(at)];
};

export const MergePhase = z.enum(['Running', 'Succeeded', 'Failed']);
export type MergePhase = z.infer<typeof MergePhase>;

/** The end-of-day merge the operator started last. */
export const MergeRecord = z.object({
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  job: z.string().max(63),
  phase: MergePhase,
  startedAt: z.string().max(64),
  finishedAt: z.string().max(64).optional(),
});
export type MergeRecord = z.infer<typeof MergeRecord>;

/**
 * Annotations a user (or `kubectl kdb`) sets on a KdbCluster to ask for
 * something now. Their values are untrusted: one the operator cannot read is
 * refused with a Warning naming the annotation and what it takes.
 */
export const CLUSTER_ANNOTATION = {
  /** "on": write the day down, hand back every RDB server, stop the tickerplant. "off" (or absent): run. */
  hibernation: `${API_GROUP}/hibernation`,
  /** An RFC 3339 time: end the trading day now, once per distinct value. */
  endOfDay: `${API_GROUP}/end-of-day`,
  /** "skip": deleting the cluster drops what its RDBs hold instead of writing it down first. */
  writeDown: `${API_GROUP}/write-down`,
} as const;

export const WindDownReason = z.enum(['Deletion', 'Hibernation']);
export type WindDownReason = z.infer<typeof WindDownReason>;
export const WindDownStep = z.enum(['WritingDown', 'ScalingIn', 'StoppingTickerplant', 'Done']);
export type WindDownStep = z.infer<typeof WindDownStep>;

/**
 * A deletion or hibernation in progress (planner/plan-wind-down.ts): the day
 * is written down, every RDB server handed back through the scale-in chain,
 * then the resource goes (deletion) or the tickerplant stops (hibernation).
 */
export const WindDownRecord = z.object({
  reason: WindDownReason,
  step: WindDownStep,
  since: z.string().max(64),
  /** The trading day being written down: the tickerplant is asked to end it, and every RDB must flush it. */
  day: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  /** false: deletion with kdb-operator.dev/write-down=skip, what the RDBs hold is dropped. */
  writeDown: z.boolean(),
  /** What the current step waits for, in words (with the way out where there is one). */
  waitingFor: z.string().max(1024).optional(),
});
export type WindDownRecord = z.infer<typeof WindDownRecord>;
/** A change the spec asks for that running pods do not have yet (see UpdatesSpec). */
export const PendingChange = z.object({
  /** 'tickerplant' or 'pool/<name>'. */
  component: z.string().max(64),
  /** When it applies: the next safe moment (ISO time); absent when it waits on the data plane, not the clock. */
  appliesAt: z.string().max(64).optional(),
  reason: z.string().max(1024),
  /** Pools: the RDBs whose pods were built from an older spec. */
  rdbs: z.array(z.string().max(253)).max(LIMITS.rdbsPerPool).optional(),
});
export type PendingChange = z.infer<typeof PendingChange>;

export const KdbClusterStatus = z.object({
  phase: Phase.optional(),
  observedGeneration: z.number().int().nonnegative().optional(),
  conditions: z.array(Condition).max(LIMITS.conditions).default([]).meta(listMap('type')),
  pools: z.array(PoolStatus).max(LIMITS.pools).default([]).meta(listMap('name')),
  /** Summary fields for printer columns. */
  liveRdb: z.string().max(1024).optional(),
  rdbCount: z.number().int().nonnegative().optional(),
  desiredNodes: z.number().int().nonnegative().optional(),
  merge: MergeRecord.optional(),
  /** The newest day whose merge succeeded. */
  mergedDay: z.string().max(10).optional(),
  /** Why a flushed day is not being merged yet: the RDB it waits for. */
  mergePending: z.string().max(1024).optional(),
  windDown: WindDownRecord.optional(),
  /**
   * The last kdb-operator.dev/end-of-day request: recorded with the day it
   * ends before the tickerplant is asked (done), so each distinct value ends
   * one day, however often the request is retried.
   */
  endOfDayRequest: z
    .object({
      value: z.string().max(64),
      day: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/)
        .optional(),
      done: z.boolean(),
    })
    .optional(),
  /** Changes waiting for a safe moment (spec.updates). */
  pendingChanges: z.array(PendingChange).max(LIMITS.pools + 1).optional(),
});
export type KdbClusterStatus = z.infer<typeof KdbClusterStatus>;

// ---- the object

/** The metadata fields the operator reads; everything else is passed through untouched. */
export const ObjectMeta = z.looseObject({
  name: z.string().min(1).max(253),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  finalizers: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const KdbCluster = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION, { error: `apiVersion must be "${API_GROUP_VERSION}"` }),
    kind: z.literal(KIND, { error: `kind must be "${KIND}"` }),
    metadata: ObjectMeta,
    spec: KdbClusterSpec,
    status: KdbClusterStatus.optional(),
  })
  .superRefine(crossFieldRules.clusterNameFits.check);
/** The CRD root's rules (scripts/gen-crd.ts builds the root by hand: metadata is the API server's). */
export const ROOT_VALIDATIONS = kubeValidations(crossFieldRules.clusterNameFits);
export type KdbCluster = z.infer<typeof KdbCluster>;
export type KdbClusterInput = z.input<typeof KdbCluster>;
