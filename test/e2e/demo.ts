// `make demo`: a trading day on the local stack, with progress a person can follow.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../lib/stack.ts';
import { renderCapacityPng } from './capacity-chart.ts';
import { kubectl, runTradingDay, waitFor, type DayOptions } from './trading-day.ts';

const outDir = join(repoRoot, 'out/demo');
mkdirSync(outDir, { recursive: true });
const options: DayOptions = {
  namespace: 'markets',
  cluster: 'markets',
  rdbMemoryMi: 256,
  scaleThreshold: 60,
  rollThreshold: 80,
  maxRdbs: 8,
  rows: Number(process.env.DEMO_ROWS ?? 2_500_000),
  dayMs: Number(process.env.DEMO_DAY_MS ?? 180_000),
  syms: ['AAPL', 'MSFT', 'AMZN', 'GOOG', 'META', 'NVDA', 'TSLA', 'JPM', 'V', 'XOM'],
  seed: 20261127,
  outDir,
  progress: (line) => console.log(line),
  gateway: true,
};

// First the same day under predictive scale-out (rdbPools[].scaleOut), with
// a scaleThreshold high enough that the prediction decides: then that cluster
// is deleted, which writes nothing more down (its day is merged) and hands
// every server back, and the paper's fixed threshold plays the day again.
// DEMO_POLICIES=threshold skips the predictive day.
const predictive: DayOptions = {
  ...options,
  namespace: 'markets-predictive',
  cluster: 'predictive',
  scaleThreshold: 75,
  scaleOut: { policy: 'predictive', leadTimeMargin: 3 },
  gateway: false,
  outDir: join(outDir, 'predictive'),
  progress: (line) => console.log(`[predictive] ${line}`),
};
const policies = (process.env.DEMO_POLICIES ?? 'predictive,threshold').split(',');
let predictiveSummary: Awaited<ReturnType<typeof runTradingDay>>['summary'] | undefined;
if (policies.includes('predictive')) {
  mkdirSync(predictive.outDir, { recursive: true });
  predictiveSummary = (await runTradingDay(predictive)).summary;
  writeFileSync(join(predictive.outDir, 'summary.json'), `${JSON.stringify(predictiveSummary, null, 2)}\n`);
  console.log(`[predictive] deleting KdbCluster ${predictive.namespace}/${predictive.cluster}: its servers are handed back through the scale-in chain`);
  await kubectl('-n', predictive.namespace, 'delete', 'kdb', predictive.cluster, '--wait=false');
  await waitFor('the predictive cluster to be gone', async () => (await kubectl('-n', predictive.namespace, 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 300_000);
}

const { summary, samples } = await runTradingDay(options);
writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
await renderCapacityPng(samples, options.rdbMemoryMi * 2 ** 20, options.dayMs, join(outDir, 'capacity.png'));

// The day asked as a q user would, through the operator's gateway, by PyKX (KX's client from PyPI).
const gatewayIp = await waitFor('the gateway pod to be Ready', async () => {
  const list = JSON.parse(await kubectl('-n', options.namespace, 'get', 'pods', '-l', 'kdb-operator.dev/role=gateway', '-o', 'json')) as {
    items: { status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
  };
  return list.items.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))?.status?.podIP;
});
const at = (hhmm: string) => Date.parse(`${summary.day}T${hhmm}:00Z`);
const asks = [
  { name: `getData trade AAPL ${summary.day} 10:00-10:05`, table: 'trade', fromMs: at('10:00'), toMs: at('10:05'), syms: ['AAPL'] },
  { name: `getData quote MSFT,NVDA ${summary.day} 14:00-14:01`, table: 'quote', fromMs: at('14:00'), toMs: at('14:01'), syms: ['MSFT', 'NVDA'] },
  { name: `getData trade JPM ${summary.day}, the whole day (the HDB)`, table: 'trade', fromMs: at('00:00'), toMs: at('00:00') + 86_400_000, syms: ['JPM'] },
];
const { stdout } = await promisify(execFile)(join(repoRoot, '.venv/bin/python'), [join(repoRoot, 'test/e2e/gateway_client.py'), 'ask', gatewayIp, '5000', JSON.stringify(asks)], { timeout: 120_000, maxBuffer: 16 << 20 });
const answers = JSON.parse(stdout.trim().split('\n').at(-1)!) as { name: string; rows?: number; syms?: string[]; head?: Record<string, string>[]; error?: string }[];
const gatewayOk = answers.every((a) => a.error === undefined && (a.rows ?? 0) > 0);

const clean = (d: typeof summary) => d.rowsLost === 0 && d.rowsDuplicated === 0 && d.unsafeTerminations === 0 && d.checksumsMatch;
const ok = gatewayOk && clean(summary) && (predictiveSummary === undefined || clean(predictiveSummary));
const ratio = (d: typeof summary) => (d.memoryGbHours.used > 0 ? (d.memoryGbHours.provisioned / d.memoryGbHours.used).toFixed(2) : '-');
const cushion = (d: typeof summary) =>
  `queue cushion min ${d.cushion.minS ?? '-'} s over ${d.cushion.rdbs.length} RDBs, live without a queued RDB: ${d.cushion.liveWithoutQueue.length > 0 ? d.cushion.liveWithoutQueue.join(', ') : 'none'}`;
const policyLine = (name: string, d: typeof summary, how: string) =>
  `${name.padEnd(11)} ${how}: provisioned ${d.memoryGbHours.provisioned} GB-h / used ${d.memoryGbHours.used} GB-h = ${ratio(d)}; RDBs at most ${d.maxRdbs}; ${cushion(d)}; lost ${d.rowsLost}, duplicated ${d.rowsDuplicated}`;
console.log(`
== summary (${join('out/demo', 'summary.json')}, chart out/demo/capacity.png)
rows published ${summary.rowsPublished}, in the HDB ${summary.rowsInHdb} (merged by the operator's Job ${summary.mergeJob.name} from ${summary.mergeJob.slices} slices), lost ${summary.rowsLost}, duplicated ${summary.rowsDuplicated}, checksums ${summary.checksumsMatch ? 'match' : 'DIFFER'}
RDBs at most ${summary.maxRdbs}, at the end ${summary.finalRdbs}; desired capacity ${summary.desiredCapacityTimeline.map((d) => d.desired).join(' -> ')}
terminated ${summary.terminatedInstances.length} instances, unsafe ${summary.unsafeTerminations}; desired lowered by SetDesiredCapacity ${summary.desiredLoweredBySetDesiredCapacity} times
scale-out reaction median ${summary.scaleOutReactionMs.median} ms (max ${summary.scaleOutReactionMs.max}); scale-in reaction median ${summary.scaleInReactionMs.median} ms (max ${summary.scaleInReactionMs.max})
  the operator's own kdb_operator_reaction_seconds: out ${summary.operatorReaction.out.count} calls, mean ${summary.operatorReaction.out.meanMs} ms; in ${summary.operatorReaction.in.count} calls, mean ${summary.operatorReaction.in.meanMs} ms
memory GB-hours provisioned ${summary.memoryGbHours.provisioned}, used ${summary.memoryGbHours.used}; savings vs one node for the day ${(summary.savingsVsSingleNode * 100).toFixed(1)}%

== the two scale-out policies on the same day
${policyLine('threshold', summary, `scale ${options.scaleThreshold} / roll ${options.rollThreshold}`)}
${predictiveSummary ? policyLine('predictive', predictiveSummary, `scale ${predictive.scaleThreshold} (bound) / roll ${predictive.rollThreshold}, margin ${predictive.scaleOut?.leadTimeMargin}`) : 'predictive  skipped (DEMO_POLICIES)'}

== the day through the gateway (${options.cluster}-gateway.${options.namespace}:5000, asked by PyKX)
${answers.map((a) => `${a.name}\n  ${a.error ? `ERROR ${a.error}` : `${a.rows} rows of ${a.syms!.join(',')}; first: ${a.head!.map((r) => Object.values(r).join(' ')).join(' | ')}`}`).join('\n')}

${ok ? 'OK: nothing lost, duplicated or unsafely terminated.' : 'FAILED: see the summary.'}

${summary.kubectlGetKdb}
Look around (the stack stays up):
  export KUBECONFIG=$PWD/.stack/kubeconfig   # or: source .stack/env
  $(bash test/stack/build-control-plane.sh --print-dir)/kubectl get kdb -A
  kubectl describe kdb -n markets markets
  kubectl get pods -o wide -n markets
  the HDB: .stack/efs/*/kdb/markets/markets/hdb/${summary.day}/
When done: make down`);
process.exit(ok ? 0 : 1);
