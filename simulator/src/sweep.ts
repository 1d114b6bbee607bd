import { simulateDay, type SimConfig, type SimResult } from './simulate.ts';

/**
 * The paper's configurations (its cost section): servers of 2, 4, 8 and 16 GB
 * at scale 60 / roll 80 for a 16 GB day, and scale thresholds 20, 40, 60 and
 * 80 at roll 85 on 4 GB servers; every one against one 32 GB server for the day.
 */
export interface SweepRow {
  label: string;
  config: Partial<SimConfig>;
}

export const PAPER_SWEEP: readonly SweepRow[] = [
  ...[2, 4, 8, 16].map((gb) => ({ label: `${gb}GB s60/r80`, config: { dayGb: 16, rdbMemory: `${gb}Gi`, scale: 60, roll: 80, singleServerGb: 32 } })),
  ...[20, 40, 60, 80].map((s) => ({ label: `4GB s${s}/r85`, config: { dayGb: 16, rdbMemory: '4Gi', scale: s, roll: 85, singleServerGb: 32 } })),
];

export interface SweepResult {
  rows: { label: string; result: SimResult }[];
  runMs: number;
}

/** `common` (seed, lead time, profile...) applies to every row; the row's own settings win. */
export const runSweep = (rows: readonly SweepRow[], common: Partial<SimConfig> = {}): SweepResult => {
  const started = performance.now();
  const out = rows.map((r) => ({ label: r.label, result: simulateDay({ ...common, ...r.config }) }));
  return { rows: out, runMs: Math.round(performance.now() - started) };
};

export const TABLE_COLUMNS = [
  'config',
  'server GB',
  'scale',
  'roll',
  'max servers',
  'provisioned GB-h',
  'used GB-h',
  'prov/used',
  'savings vs 1 server',
  'min cushion s',
  'rolls, none queued',
] as const;

export const tableRow = (label: string, r: SimResult): string[] => [
  label,
  String(r.config.serverGb),
  String(r.config.scale),
  String(r.config.roll),
  String(r.maxServers),
  r.gbHours.provisioned.toFixed(1),
  r.gbHours.used.toFixed(1),
  r.gbHours.ratio.toFixed(2),
  `${(r.savings * 100).toFixed(1)}%`,
  r.cushion.minS === null ? '-' : r.cushion.minS.toFixed(0),
  String(r.cushion.rollsWithNothingQueued.length),
];

/** A Markdown table (it reads as plain text too, and goes into the README as is). */
export const formatTable = (rows: readonly { label: string; result: SimResult }[]): string => {
  const cells = [[...TABLE_COLUMNS], ...rows.map((r) => tableRow(r.label, r.result))];
  const widths = TABLE_COLUMNS.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]) => `| ${row.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
};
