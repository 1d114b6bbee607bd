// `kubectl kdb status`: a KdbCluster's status in, printable lines out. Pure,
// so the columns and the JSON shape are unit-tested without a cluster.
import { scaleInsOf } from '../../operator/src/api/kdbcluster.ts';
import type { Condition, KdbClusterStatus, PoolStatus, RdbStatusEntry } from '../../operator/src/api/kdbcluster.ts';

/** Status as read from the API server: the defaults zod would fill may be missing. */
export type WireStatus = Partial<Omit<KdbClusterStatus, 'pools' | 'conditions'>> & {
  conditions?: Condition[];
  pools?: Array<Partial<PoolStatus> & { name: string }>;
};

/**
 * The state each condition sits in when all is well; only the others are
 * printed. A type not listed here (a newer operator) is always printed.
 */
export const USUAL_CONDITION: Readonly<Record<string, 'True' | 'False'>> = {
  Ready: 'True',
  StorageReady: 'True',
  ScalingOut: 'False',
  ScalingIn: 'False',
  Degraded: 'False',
  CapacityLimited: 'False',
  AwsUnavailable: 'False',
  NodeGroupUnresolved: 'False',
  NodeGroupOwnedByAnother: 'False',
  Hibernated: 'False',
  ChangesPending: 'False',
};

export const unusualConditions = (conditions: readonly Condition[]): Condition[] =>
  conditions.filter((c) => USUAL_CONDITION[c.type] !== c.status);

/** Columns padded to the widest cell, two spaces apart; the last column is not padded. */
export const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
};

const dash = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));

/** The tickerplant message window an RDB holds: first..last, or first.. while open. */
export const windowOf = (r: Pick<RdbStatusEntry, 'firstI' | 'lastI'>): string =>
  r.firstI === undefined ? '-' : `${r.firstI}..${r.lastI ?? ''}`;

/** Every chain in flight (an older operator's single scaleIn too), comma-separated. */
export const scaleInColumn = (p: Pick<Partial<PoolStatus>, 'scaleIn' | 'scaleIns'>): string => {
  const chains = scaleInsOf(p);
  return chains.length === 0 ? '-' : chains.map((r) => `${r.step} ${r.instanceId}${r.rdb ? ` (${r.rdb})` : ''}`).join(', ');
};

const poolRows = (pools: NonNullable<WireStatus['pools']>): string[][] =>
  pools.map((p) => [
    p.name,
    dash(p.live),
    p.queued && p.queued.length > 0 ? p.queued.join(',') : '-',
    String(p.rolled?.length ?? 0),
    String(p.rdbs?.length ?? 0),
    dash(p.desiredCapacity),
    scaleInColumn(p),
    p.offHours ? `until ${p.offHours.until ?? '?'}` : '-',
    p.leadTime ? `${Math.round(p.leadTime.seconds)}s` : '-',
  ]);

const rdbRows = (pools: NonNullable<WireStatus['pools']>): string[][] =>
  pools.flatMap((p) =>
    (p.rdbs ?? []).map((r) => [
      r.name,
      r.state,
      dash(r.node),
      dash(r.instanceId),
      dash(r.memoryPercent),
      windowOf(r),
      dash(r.day),
    ]),
  );

export interface StatusView {
  name: string;
  namespace: string;
  status: WireStatus | undefined;
}

export const formatStatus = (v: StatusView): string[] => {
  const s = v.status;
  if (s === undefined) return [`KdbCluster ${v.namespace}/${v.name}: no status yet (is the operator running?)`];
  const out: string[] = [`KdbCluster ${v.namespace}/${v.name}  phase: ${s.phase ?? 'Unknown'}`];
  const pools = s.pools ?? [];
  out.push('', ...table(['POOL', 'LIVE', 'QUEUED', 'ROLLED', 'RDBS', 'DESIRED', 'SCALE-IN', 'OFF-HOURS', 'LEAD'], poolRows(pools)));
  const rdbs = rdbRows(pools);
  out.push('');
  if (rdbs.length === 0) out.push('No RDBs.');
  else out.push(...table(['NAME', 'STATE', 'NODE', 'INSTANCE', 'MEM%', 'WINDOW', 'DAY'], rdbs));
  const unusual = unusualConditions(s.conditions ?? []);
  if (unusual.length > 0) {
    out.push('', 'Conditions not in their usual state:');
    out.push(...unusual.map((c) => `  ${c.type}=${c.status} ${c.reason}: ${c.message}`));
  }
  if (s.windDown) {
    const w = s.windDown;
    out.push('', `Wind-down (${w.reason}${w.day ? `, day ${w.day}` : ''}${w.writeDown ? '' : ', write-down skipped'}): step ${w.step} since ${w.since}`);
    if (w.waitingFor) out.push(`  waiting for: ${w.waitingFor}`);
  }
  if (s.pendingChanges && s.pendingChanges.length > 0) {
    out.push('', 'Pending changes:');
    for (const c of s.pendingChanges) {
      out.push(`  ${c.component}: ${c.reason}${c.appliesAt ? ` (applies at ${c.appliesAt})` : ''}${c.rdbs?.length ? ` [${c.rdbs.join(', ')}]` : ''}`);
    }
  }
  if (s.mergedDay !== undefined || s.mergePending !== undefined || s.merge !== undefined) {
    out.push('');
    if (s.merge) out.push(`Merge: ${s.merge.day} ${s.merge.phase} (job ${s.merge.job})`);
    if (s.mergedDay !== undefined) out.push(`Merged day: ${s.mergedDay}`);
    if (s.mergePending !== undefined) out.push(`Merge pending: ${s.mergePending}`);
  }
  return out;
};

/** -o json: one object, the status as stored plus what the table derives. */
export const statusJson = (v: StatusView): Record<string, unknown> => ({
  name: v.name,
  namespace: v.namespace,
  phase: v.status?.phase ?? null,
  pools: v.status?.pools ?? [],
  unusualConditions: unusualConditions(v.status?.conditions ?? []),
  windDown: v.status?.windDown ?? null,
  pendingChanges: v.status?.pendingChanges ?? [],
  mergedDay: v.status?.mergedDay ?? null,
  mergePending: v.status?.mergePending ?? null,
  status: v.status ?? null,
});
