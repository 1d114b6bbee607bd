// `make demo`: a trading day on the local stack, with progress a person can follow.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/stack.ts';
import { renderCapacityPng } from './capacity-chart.ts';
import { runTradingDay, type DayOptions } from './trading-day.ts';

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
};

const { summary, samples } = await runTradingDay(options);
writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
await renderCapacityPng(samples, options.rdbMemoryMi * 2 ** 20, options.dayMs, join(outDir, 'capacity.png'));

const ok = summary.rowsLost === 0 && summary.rowsDuplicated === 0 && summary.unsafeTerminations === 0 && summary.checksumsMatch;
console.log(`
== summary (${join('out/demo', 'summary.json')}, chart out/demo/capacity.png)
rows published ${summary.rowsPublished}, in the HDB ${summary.rowsInHdb} (merged by the operator's Job ${summary.mergeJob.name} from ${summary.mergeJob.slices} slices), lost ${summary.rowsLost}, duplicated ${summary.rowsDuplicated}, checksums ${summary.checksumsMatch ? 'match' : 'DIFFER'}
RDBs at most ${summary.maxRdbs}, at the end ${summary.finalRdbs}; desired capacity ${summary.desiredCapacityTimeline.map((d) => d.desired).join(' -> ')}
terminated ${summary.terminatedInstances.length} instances, unsafe ${summary.unsafeTerminations}; desired lowered by SetDesiredCapacity ${summary.desiredLoweredBySetDesiredCapacity} times
scale-out reaction median ${summary.scaleOutReactionMs.median} ms (max ${summary.scaleOutReactionMs.max}); scale-in reaction median ${summary.scaleInReactionMs.median} ms (max ${summary.scaleInReactionMs.max})
  the operator's own kdb_operator_reaction_seconds: out ${summary.operatorReaction.out.count} calls, mean ${summary.operatorReaction.out.meanMs} ms; in ${summary.operatorReaction.in.count} calls, mean ${summary.operatorReaction.in.meanMs} ms
memory GB-hours provisioned ${summary.memoryGbHours.provisioned}, used ${summary.memoryGbHours.used}; savings vs one node for the day ${(summary.savingsVsSingleNode * 100).toFixed(1)}%
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
