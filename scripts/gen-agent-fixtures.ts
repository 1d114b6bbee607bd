/**
 * Generates agent/testdata/conformance.json: the TypeScript agent's answers
 * (parseStatusFile, reportFor, reportChanged, podConditionsPatch) over many
 * status files, which the Go agent's tests (agent/*_test.go) must reproduce.
 * The TypeScript rules stay the specification; the Go agent is held to them
 * by these fixtures, not by a hand copy trusted on faith.
 *   node scripts/gen-agent-fixtures.ts
 * test/unit/agent-fixtures.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reportChanged, reportFor, type AgentReport } from '../operator/src/agent/report.ts';
import { parseStatusFile } from '../operator/src/agent/status-file.ts';
import { RdbSummary } from '../operator/src/api/rdb-status.ts';
import { podConditionsPatch } from '../operator/src/kube/patch.ts';
import type { V1PodCondition } from '../operator/src/kube/types.ts';

export const FIXTURES_PATH = fileURLToPath(new URL('../agent/testdata/conformance.json', import.meta.url));

/** Fixed so the file is deterministic: 2026-03-02T14:30:00Z. */
export const NOW_MS = Date.UTC(2026, 2, 2, 14, 30, 0);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const base = (): { [k: string]: Json } => ({
  version: 1,
  name: 'rdb-a-0',
  pool: 'main',
  state: 'live',
  memory: { usedBytes: 500, limitBytes: 1000 },
  window: { firstI: 0, lastI: null, lastProcessed: 42 },
  rows: { trade: 10, quote: 20 },
  day: '2026-03-02',
  flushed: [],
  updatedAt: '2026-03-02T14:30:00.000Z',
});

const withField = (path: string, value: Json | undefined): { [k: string]: Json } => {
  const s = base();
  const keys = path.split('.');
  let o = s as { [k: string]: Json };
  for (const k of keys.slice(0, -1)) o = o[k] as { [k: string]: Json };
  const last = keys.at(-1)!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return s;
};

const flushes = (n: number, from = 1): Json[] =>
  Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(2025, 0, from + i));
    return { day: d.toISOString().slice(0, 10), rows: 1000 + i, path: `/hdb/staging/${d.toISOString().slice(0, 10)}/rdb-a-0` };
  });

/**
 * Legacy forms V8's Date.parse accepts beside ISO 8601. The Go agent reads
 * ISO 8601 as V8 does (the forms JavaScript and q write) and refuses these;
 * the Go tests skip only the cases named here, and check that Go refuses them.
 */
const GO_REFUSES_LEGACY_TIME = 'legacy (non-ISO) form Date.parse accepts; the Go agent accepts ISO 8601 only';

interface FileCase {
  name: string;
  text: string;
  goDiffers?: string;
}

const cases: FileCase[] = [];
const add = (name: string, value: Json | { [k: string]: Json }, goDiffers?: string): void => {
  cases.push({ name, text: JSON.stringify(value), ...(goDiffers ? { goDiffers } : {}) });
};
const addText = (name: string, text: string): void => {
  cases.push({ name, text });
};

// Valid files: every state, window open and closed.
for (const state of ['queued', 'replaying', 'live', 'rolled', 'flushing', 'flushed']) {
  add(`${state}, window open`, { ...base(), state });
  add(`${state}, window closed`, { ...base(), state, window: { firstI: 10, lastI: 500, lastProcessed: 500 } });
  add(`${state}, window closed, no rows`, { ...base(), state, rows: {}, window: { firstI: 10, lastI: 10, lastProcessed: 10 } });
  add(`${state}, window open, no rows`, { ...base(), state, rows: { trade: 0 } });
}
add('flushed with one flush', { ...base(), state: 'flushed', rows: {}, window: { firstI: 0, lastI: 900, lastProcessed: 900 }, flushed: flushes(1) });
add('flushed with 40 flushes (summary keeps 32)', { ...base(), state: 'flushed', rows: {}, window: { firstI: 0, lastI: 900, lastProcessed: 900 }, flushed: flushes(40) });
add('live with 32 flushes', { ...base(), flushed: flushes(32) });
add('live with 33 flushes', { ...base(), flushed: flushes(33) });
add('rolled with 100 flushes', { ...base(), state: 'rolled', window: { firstI: 5, lastI: 50, lastProcessed: 50 }, flushed: flushes(100) });
add('flushed still holding rows', { ...base(), state: 'flushed', window: { firstI: 0, lastI: 9, lastProcessed: 9 }, flushed: flushes(2) });
add('flushed history missing (defaults to [])', withField('flushed', undefined));
add('error present', { ...base(), error: { reason: 'WindowPastLog', message: 'the tickerplant log starts at 1200', since: '2026-03-02T14:29:00Z' } });
add('error Renumbered', { ...base(), error: { reason: 'Renumbered', message: 'message 7 came twice', since: '2026-03-02T14:29:00.5+01:00' } });
add('error message 4096 (truncated to 512)', { ...base(), error: { reason: 'WindowPastLog', message: 'm'.repeat(4096), since: '2026-03-02T14:29:00Z' } });
add('error message 513 (truncated to 512)', { ...base(), error: { reason: 'WindowPastLog', message: 'ab'.repeat(256) + 'c', since: '2026-03-02T14:29:00Z' } });
add('error message with a surrogate pair split at 512', { ...base(), error: { reason: 'WindowPastLog', message: 'x'.repeat(511) + '😀 after', since: '2026-03-02T14:29:00Z' } });
add('error message with escapes and non-ASCII', { ...base(), error: { reason: 'Renumbered', message: 'tab\there "quoted" \\ back <b>&amp;</b> \u2028 é 日本 \u0001\u001f\u007f', since: '2026-03-02T14:29:00Z' } });
add('empty error message', { ...base(), error: { reason: 'Renumbered', message: '', since: '2026-03-02T14:29:00Z' } });
add('memory 0%', withField('memory', { usedBytes: 0, limitBytes: 1000 }));
add('memory 99.9% (floors to 99)', withField('memory', { usedBytes: 999, limitBytes: 1000 }));
add('memory exactly 1000%', withField('memory', { usedBytes: 10_000, limitBytes: 1000 }));
add('memory over 1000% (capped)', withField('memory', { usedBytes: 50_000, limitBytes: 1000 }));
add('memory huge counts', withField('memory', { usedBytes: Number.MAX_SAFE_INTEGER, limitBytes: Number.MAX_SAFE_INTEGER - 1 }));
add('memory real sizes', withField('memory', { usedBytes: 3_221_225_472, limitBytes: 8_589_934_592 }));
add('memory 1/3', withField('memory', { usedBytes: 1, limitBytes: 3 }));
add('memory rounding edge', withField('memory', { usedBytes: 7, limitBytes: 100 }));
add('256 tables', { ...base(), rows: Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`t${i}`, i])) });
add('rows summing past MAX_SAFE_INTEGER (summary refused)', { ...base(), rows: { a: Number.MAX_SAFE_INTEGER, b: 1 } });
add('rows summing to MAX_SAFE_INTEGER', { ...base(), rows: { a: Number.MAX_SAFE_INTEGER - 1, b: 1 } });
add('integer-like table names', { ...base(), rows: { '10': 1, '2': 2, b: 3, a: 4 } });
add('counts written as 1.0 and 1e3', JSON.parse('{}') as Json);
cases.pop();
addText(
  'counts written as 1.0 and 1e3',
  JSON.stringify(base()).replace('"usedBytes":500', '"usedBytes":5.0e2').replace('"lastProcessed":42', '"lastProcessed":42.0').replace('"trade":10', '"trade":1e1'),
);
add('unknown keys are stripped', { ...base(), extra: 'x', memory: { usedBytes: 1, limitBytes: 2, rssBytes: 9 }, window: { firstI: 0, lastI: null, lastProcessed: 0, foo: 1 } });
add('unknown keys in a flush', { ...base(), flushed: [{ day: '2026-03-01', rows: 1, path: '/p', extra: true }] });
add('unknown keys in error', { ...base(), error: { reason: 'Renumbered', message: 'm', since: '2026-03-02T14:29:00Z', hint: 'x' } });
addText('duplicate keys (last wins)', JSON.stringify(base()).replace('"state":"live"', '"state":"queued","state":"live"'));
addText('whitespace around the document', `\n  ${JSON.stringify(base(), null, 2)}\n\n`);
add('names at the bound', { ...base(), name: 'n'.repeat(253), pool: 'p'.repeat(253) });
add('day on a leap day', withField('day', '2028-02-29'));
add('flush path at 4096', { ...base(), flushed: [{ day: '2026-03-01', rows: 0, path: 'p'.repeat(4096) }] });

// Times: what Date.parse accepts and refuses.
const times: [string, string?][] = [
  ['2026-03-02T14:30:00Z'],
  ['2026-03-02T14:30Z'],
  ['2026-03-02T14:30:00.123456789Z'],
  ['2026-03-02T14:30:00.1Z'],
  ['2026-03-02T14:30:00+01:00'],
  ['2026-03-02T14:30:00-05:30'],
  ['2026-03-02T14:30:00+0100'],
  ['2026-03-02T14:30:00'],
  ['2026-03-02'],
  ['2026-03'],
  ['2026'],
  ['+002026-03-02T00:00:00Z'],
  ['-000001-01-01T00:00:00Z'],
  ['2026-02-30T00:00:00Z'],
  ['2026-02-31'],
  ['2026-03-02T24:00:00Z'],
  ['2026-03-02 14:30:00'],
  ['2026-03-02t14:30:00z'],
  ['2026-13-01'],
  ['2026-00-01'],
  ['2026-01-00'],
  ['2026-01-32'],
  ['2026-03-02T24:00:01Z'],
  ['2026-03-02T25:00:00Z'],
  ['2026-03-02T14:60:00Z'],
  ['2026-03-02T14:30:60Z'],
  ['2026-03-02T14:30:00.Z'],
  ['2026-03-02T14:30:00.000+01'],
  ['2026.03.02D14:30:00.000000000'],
  [' 2026-03-02T14:30:00Z'],
  ['2026-03-02T14:30:00Z '],
  ['275760-09-13T00:00:00Z'],
  ['+275760-09-13T00:00:00.000Z'],
  ['+275760-09-13T00:00:00.001Z'],
  ['-271821-04-20T00:00:00.000Z'],
  ['-271821-04-19T23:59:59.999Z'],
  ['-000000-01-01T00:00:00Z'],
  [''],
  ['now'],
  ['2026-03-02T14:30:00.000Z'.padEnd(65, '0')],
  ['March 2, 2026', GO_REFUSES_LEGACY_TIME],
  ['2026/03/02', GO_REFUSES_LEGACY_TIME],
  ['Tue Mar 02 2026', GO_REFUSES_LEGACY_TIME],
  ['1', GO_REFUSES_LEGACY_TIME],
  ['2026-3-2', GO_REFUSES_LEGACY_TIME],
];
for (const [t, differs] of times) {
  // The legacy forms are only a difference where TypeScript accepts them.
  const tsAccepts = Number.isFinite(Date.parse(t)) && t.length <= 64;
  add(`updatedAt ${JSON.stringify(t)}`, withField('updatedAt', t), tsAccepts ? differs : undefined);
}
add('error.since bad', { ...base(), error: { reason: 'Renumbered', message: 'm', since: 'yesterday' } });
add('updatedAt a number', withField('updatedAt', 1772461800000));

// Invalid files: every refusal.
add('version 2', withField('version', 2));
add('version "1"', withField('version', '1'));
add('version missing', withField('version', undefined));
add('name empty', withField('name', ''));
add('name too long', withField('name', 'n'.repeat(254)));
add('name a number', withField('name', 7));
add('pool missing', withField('pool', undefined));
add('state unknown', withField('state', 'running'));
add('state upper case', withField('state', 'Live'));
add('memory missing', withField('memory', undefined));
add('memory null', withField('memory', null));
add('memory.limitBytes 0', withField('memory', { usedBytes: 0, limitBytes: 0 }));
add('memory.usedBytes negative', withField('memory', { usedBytes: -1, limitBytes: 10 }));
add('memory.usedBytes non-integer', withField('memory', { usedBytes: 1.5, limitBytes: 10 }));
add('memory.usedBytes unsafe', withField('memory', { usedBytes: Number.MAX_SAFE_INTEGER + 1, limitBytes: 10 }));
add('memory.usedBytes a string', withField('memory', { usedBytes: '5', limitBytes: 10 }));
addText('memory.usedBytes 1e400', JSON.stringify(base()).replace('"usedBytes":500', '"usedBytes":1e400'));
add('window.lastI below firstI', withField('window', { firstI: 10, lastI: 9, lastProcessed: 9 }));
add('window.firstI negative', withField('window', { firstI: -1, lastI: null, lastProcessed: 0 }));
add('window.lastI non-integer', withField('window', { firstI: 0, lastI: 2.5, lastProcessed: 0 }));
add('window.lastProcessed missing', withField('window', { firstI: 0, lastI: null }));
add('window.lastI missing (must be null, not absent)', withField('window', { firstI: 0, lastProcessed: 0 }));
add('window an array', withField('window', [0, null, 0]));
add('rows.trade negative', withField('rows', { trade: -1 }));
add('rows.trade non-integer', withField('rows', { quote: 1, trade: 0.5 }));
add('rows.trade unsafe', withField('rows', { trade: 2 ** 53 }));
add('rows.trade null', withField('rows', { trade: null }));
add('rows with an empty table name', withField('rows', { '': 1 }));
add('rows with a table name of 256', withField('rows', { ['t'.repeat(256)]: 1 }));
add('rows an array', withField('rows', [1, 2]));
add('too many tables (257)', { ...base(), rows: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`t${i}`, i])) });
add('day in q form', withField('day', '2026.03.02'));
add('day 2026-02-30', withField('day', '2026-02-30'));
add('day 2026-13-01', withField('day', '2026-13-01'));
add('day 2027-02-29 (not a leap year)', withField('day', '2027-02-29'));
add('day with time', withField('day', '2026-03-02T00:00:00Z'));
add('day long garbage (shown cut)', withField('day', 'x'.repeat(40)));
add('day empty', withField('day', ''));
add('day a number', withField('day', 20260302));
add('flushed not an array', withField('flushed', {}));
add('flushed null', withField('flushed', null));
add('flushed day in q form', { ...base(), flushed: [{ day: '2026-03-01', rows: 1, path: '/p' }, { day: '2026.03.02', rows: 1, path: '/p' }] });
add('flushed rows negative', { ...base(), flushed: [{ day: '2026-03-01', rows: -5, path: '/p' }] });
add('flushed path too long', { ...base(), flushed: [{ day: '2026-03-01', rows: 5, path: 'p'.repeat(4097) }] });
add('flushed path missing', { ...base(), flushed: [{ day: '2026-03-01', rows: 5 }] });
add('flushed 10001 entries', { ...base(), flushed: Array.from({ length: 10_001 }, () => ({ day: '2026-03-01', rows: 1, path: '/p' })) });
add('error reason unknown', { ...base(), error: { reason: 'Other', message: 'm', since: '2026-03-02T14:29:00Z' } });
add('error message too long', { ...base(), error: { reason: 'Renumbered', message: 'm'.repeat(4097), since: '2026-03-02T14:29:00Z' } });
add('error null', withField('error', null));
add('updatedAt missing', withField('updatedAt', undefined));
add('several fields wrong (first reported)', { ...base(), version: 3, state: 'x', day: 'y' });
add('window wrong and state wrong', { ...base(), state: 'x', window: { firstI: 5, lastI: 1, lastProcessed: 0 } });
add('document an array', [base()]);
add('document null', null);
add('document a string', 'status');
addText('not JSON', '{"version": 1,');
addText('empty file', '');
addText('trailing garbage', `${JSON.stringify(base())}x`);

const fileResults = cases.map((c) => {
  let json: unknown;
  try {
    json = JSON.parse(c.text);
  } catch (e) {
    return { ...c, ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  const r = parseStatusFile(json);
  if (!r.ok) return { ...c, ok: false, error: r.error };
  const report = reportFor(r.status);
  const checked = RdbSummary.safeParse(report.summary);
  return {
    ...c,
    ok: true,
    report: { memoryPercent: String(report.memoryPercent), rdbStatus: JSON.stringify(report.summary), conditions: report.conditions },
    ...(checked.success ? {} : { summaryError: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }),
  };
});

const reports = new Map<string, AgentReport>();
for (const c of cases) {
  try {
    const r = parseStatusFile(JSON.parse(c.text));
    if (r.ok && !c.goDiffers) reports.set(c.name, reportFor(r.status));
  } catch {
    // not JSON
  }
}
const names = [...reports.keys()];

// Every ordered pair of a spread of valid reports, and each report with itself.
const changes: { prev: string | null; next: string; changed: boolean }[] = [];
for (const n of names) changes.push({ prev: null, next: n, changed: reportChanged(undefined, reports.get(n)!) });
for (let i = 0; i < names.length; i++) {
  for (let j = 0; j < names.length; j++) {
    if (i !== j && (i + j) % 7 !== 0 && Math.abs(i - j) > 3) continue;
    changes.push({ prev: names[i]!, next: names[j]!, changed: reportChanged(reports.get(names[i]!)!, reports.get(names[j]!)!) });
  }
}

const earlier = '2026-03-01T09:00:00Z';
const currents: { name: string; conditions: V1PodCondition[] | null }[] = [
  { name: 'no conditions', conditions: null },
  { name: 'empty list', conditions: [] },
  {
    name: 'kubelet conditions only',
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: earlier },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null as unknown as undefined, lastTransitionTime: earlier },
    ],
  },
];
const conditionPatches: { name: string; current: V1PodCondition[] | null; desired: AgentReport['conditions']; patch: V1PodCondition[] | null }[] = [];
const push = (name: string, current: V1PodCondition[] | null, desired: AgentReport['conditions']): void => {
  conditionPatches.push({ name, current, desired, patch: podConditionsPatch(current ?? undefined, desired, NOW_MS) ?? null });
};
for (const n of ['live, window open', 'rolled, window closed', 'flushed, window closed, no rows', 'flushed, window open', 'queued, window open']) {
  const desired = reports.get(n)!.conditions;
  for (const cur of currents) push(`${n} over ${cur.name}`, cur.conditions, desired);
  // Already there: nothing to write.
  const same = desired.map((d) => ({ ...d, lastTransitionTime: earlier }));
  push(`${n} over the same`, same, desired);
  // Same status, new message: the transition time is kept.
  push(`${n} over a new message`, desired.map((d) => ({ ...d, message: 'old', lastTransitionTime: earlier })), desired);
  // Same status, new reason, no transition time recorded: now.
  push(`${n} over a new reason without a time`, desired.map((d) => ({ type: d.type, status: d.status, reason: 'Old', message: d.message })), desired);
  // Flipped status: now.
  push(`${n} over flipped`, desired.map((d) => ({ ...d, status: d.status === 'True' ? 'False' : 'True', lastTransitionTime: earlier })), desired);
  // One of three differs.
  push(`${n} over one differing`, desired.map((d, i) => ({ ...d, ...(i === 1 ? { message: 'stale' } : {}), lastTransitionTime: earlier, lastProbeTime: earlier })), desired);
  // Unknown status, missing reason/message.
  push(`${n} over Unknown`, desired.map((d) => ({ type: d.type, status: 'Unknown' })), desired);
}
push('reason and message empty match absent', [{ type: 'kdb-operator.dev/Live', status: 'True', lastTransitionTime: earlier }], [
  { type: 'kdb-operator.dev/Live', status: 'True', reason: '', message: '' },
]);

const HEADER = 'GENERATED by scripts/gen-agent-fixtures.ts from the TypeScript agent (operator/src/agent, operator/src/kube/patch.ts). Do not edit: run `node scripts/gen-agent-fixtures.ts` (test/unit/agent-fixtures.test.ts checks it is current; agent/*_test.go hold the Go agent to it).';

export const renderFixtures = (): string =>
  `${JSON.stringify({ generated: HEADER, nowMs: NOW_MS, files: fileResults, changes, conditionPatches }, null, 1)}\n`;

if (import.meta.main) {
  writeFileSync(FIXTURES_PATH, renderFixtures());
  console.log(`wrote ${FIXTURES_PATH}`);
}
