import { join } from 'node:path';
import { repoRoot } from '../lib/stack.ts';
import { CHAOS_DAY, chaosFailures, chaosPlan, chaosReport, chaosSeed, FAULT_KINDS } from './chaos.ts';
import { kubectl, runTradingDay, waitFor, type DaySummary } from './trading-day.ts';

// Two chaos days, each from its own seed (CHAOS_SEEDS=a,b or CHAOS_SEED=a to
// replay; fresh ones otherwise, printed first): the operator killed at least
// 10 times, the tickerplant's pod killed and its instance terminated out of
// band, a live and a rolled RDB pod killed, an RDB instance terminated out of
// band, a node silent until NotReady, half the Auto Scaling calls throttled.
// Nothing published may be lost or doubled, and nothing terminated unsafely or twice.

const seeds = (): [number, number] => {
  const listed = (process.env.CHAOS_SEEDS ?? '').split(',').filter(Boolean);
  const a = chaosSeed(listed[0] ?? process.env.CHAOS_SEED);
  let b = chaosSeed(listed[1]);
  if (b === a) b = a + 1;
  return [a, b];
};
const [seedA, seedB] = seeds();
process.stdout.write(`chaos seeds: ${seedA}, ${seedB} (replay: CHAOS_SEEDS=${seedA},${seedB})\n`);

describe.each([seedA, seedB])('a chaos day, seed %i', (seed) => {
  const namespace = `chaos-${seed}`;
  const plan = chaosPlan({ seed, dayMs: CHAOS_DAY.dayMs, tailMs: CHAOS_DAY.tailMs });
  let summary: DaySummary;

  beforeAll(async () => {
    ({ summary } = await runTradingDay({
      ...CHAOS_DAY,
      syms: [...CHAOS_DAY.syms],
      namespace,
      cluster: 'chaos',
      seed,
      outDir: join(repoRoot, `out/chaos-${seed}`),
      progress: (l) => process.stdout.write(`${l}\n`),
      chaos: { plan, killOperatorAtScaleInSteps: ['DeletePod', 'Terminate'] },
    }));
    process.stdout.write(`${chaosReport(plan, summary)}\n`);
  }, 1_500_000);

  // The next day's cluster claims the same node groups: this one must be gone first.
  afterAll(async () => {
    await kubectl('-n', namespace, 'delete', 'kdb', 'chaos', '--ignore-not-found', '--wait=false').catch(() => undefined);
    await waitFor(`KdbCluster ${namespace}/chaos to be deleted`, async () => (await kubectl('-n', namespace, 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 180_000).catch(() => undefined);
    await kubectl('delete', 'namespace', namespace, '--wait=false').catch(() => undefined);
  }, 240_000);

  test('every fault kind struck at least once, the operator at least 10 times, none missed', () => {
    expect(FAULT_KINDS.filter((k) => summary.faults.byKind[k] < 1)).toEqual([]);
    expect(summary.faults.byKind['operator-kill']).toBeGreaterThanOrEqual(10);
    expect(summary.faults.missed).toEqual([]);
    expect(summary.throttledAwsCalls).toBeGreaterThan(0);
  });

  test('the HDB holds exactly the rows published: none lost, none doubled', () => {
    expect(summary.rowsInHdb).toBe(summary.rowsPublished);
    expect(summary.rowsLost).toBe(0);
    expect(summary.rowsDuplicated).toBe(0);
    expect(summary.checksumsMatch).toBe(true);
  });

  test('no unsafe or double termination; the operator never used EC2 TerminateInstances nor lowered desired capacity', () => {
    expect(summary.unsafeTerminations).toBe(0);
    expect(summary.duplicateTerminations).toBe(0);
    expect(summary.awsMutations.TerminateInstances ?? 0).toBe(0);
    expect(summary.desiredLoweredBySetDesiredCapacity).toBe(0);
  });

  test('the day ends as a calm one does: one RDB, the day merged from every slice', () => {
    expect(summary.finalRdbs).toBe(1);
    expect(summary.mergeJob.slices).toBe(summary.mergeJob.rdbsThatFlushed);
    expect(chaosFailures(summary)).toEqual([]);
  });
});
