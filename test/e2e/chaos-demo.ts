// `make chaos`: one trading day under a seeded plan of faults (CHAOS_SEED to
// replay one), with the faults injected by kind and when, and the verdicts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/stack.ts';
import { CHAOS_DAY, chaosFailures, chaosPlan, chaosReport, chaosSeed } from './chaos.ts';
import { runTradingDay } from './trading-day.ts';

const seed = chaosSeed(process.env.CHAOS_SEED);
console.log(`chaos seed ${seed} (replay: CHAOS_SEED=${seed} make chaos)`);
const outDir = join(repoRoot, 'out/chaos');
mkdirSync(outDir, { recursive: true });
const plan = chaosPlan({ seed, dayMs: CHAOS_DAY.dayMs, tailMs: CHAOS_DAY.tailMs });

const { summary } = await runTradingDay({
  ...CHAOS_DAY,
  syms: [...CHAOS_DAY.syms],
  namespace: 'chaos',
  cluster: 'chaos',
  seed,
  outDir,
  progress: (line) => console.log(line),
  chaos: { plan, killOperatorAtScaleInSteps: ['DeletePod', 'Terminate'] },
});
writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify({ plan, summary }, null, 2)}\n`);
const failures = chaosFailures(summary);
console.log(`
${chaosReport(plan, summary)}
${failures.length === 0 ? 'OK: every fault struck; nothing lost, duplicated, or terminated unsafely or twice.' : `FAILED:\n  ${failures.join('\n  ')}`}
(the whole record: out/chaos/summary.json; the stack's logs: .stack/logs/)

${summary.kubectlGetKdb}
Look around (the stack stays up): source .stack/env; kubectl describe kdb -n chaos chaos
When done: make down`);
process.exit(failures.length === 0 ? 0 : 1);
