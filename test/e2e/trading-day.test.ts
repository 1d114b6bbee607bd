import { join } from 'node:path';
import { repoRoot } from '../lib/stack.ts';
import { kubectl, runTradingDay, waitFor, type DaySummary } from './trading-day.ts';

// The demo's day, shorter: the chart installs the operator as a pod under its
// own RBAC, the pool scales out as the RDBs fill and back in at end of day.

let summary: DaySummary;
beforeAll(async () => {
  ({ summary } = await runTradingDay({
    namespace: 'e2e-day',
    cluster: 'e2e',
    rdbMemoryMi: 256,
    scaleThreshold: 60,
    rollThreshold: 80,
    maxRdbs: 6,
    rows: 1_500_000,
    dayMs: 60_000,
    syms: ['AAPL', 'MSFT', 'AMZN', 'GOOG', 'NVDA'],
    seed: 7,
    outDir: join(repoRoot, 'out/e2e'),
    progress: (l) => process.stdout.write(`${l}\n`),
    chaos: { awsThrottleRate: 0.5, killOperatorAtScaleInSteps: ['DeletePod', 'ConfirmInstance', 'Unprotect', 'Terminate'] },
  }));
}, 900_000);

// The next end-to-end file's clusters claim the same node groups (jest runs
// the files in any order): this one must be gone, its finalizer having
// handed the node group back, first.
afterAll(async () => {
  await kubectl('-n', 'e2e-day', 'delete', 'kdb', 'e2e', '--ignore-not-found', '--wait=false').catch(() => undefined);
  await waitFor('KdbCluster e2e-day/e2e to be deleted', async () => (await kubectl('-n', 'e2e-day', 'get', 'kdb', '-o', 'name', '--ignore-not-found')).trim() === '', 180_000);
  await kubectl('delete', 'namespace', 'e2e-day', '--wait=false').catch(() => undefined);
}, 240_000);

test('no row is lost or duplicated: the HDB day holds exactly what was published', () => {
  expect(summary.rowsLost).toBe(0);
  expect(summary.rowsDuplicated).toBe(0);
  expect(summary.checksumsMatch).toBe(true);
  expect(summary.rowsInHdb).toBe(summary.rowsPublished);
  expect(summary.rowsInRdbsBeforeEndOfDay).toBe(summary.rowsPublished);
});

test('the pool scaled out and ended with one RDB', () => {
  expect(summary.maxRdbs).toBeGreaterThanOrEqual(3);
  expect(summary.finalRdbs).toBe(1);
});

test('every terminated instance was terminated after its RDB flushed, by one targeted call with decrement', () => {
  expect(summary.terminatedInstances.length).toBe(summary.maxRdbs - 1);
  expect(summary.unsafeTerminations).toBe(0);
  for (const t of summary.terminatedInstances) {
    expect(t.decrement).toBe(true);
    expect(Date.parse(t.terminatedAt)).toBeGreaterThanOrEqual(Date.parse(t.flushedAt));
  }
  expect(summary.duplicateTerminations).toBe(0);
});

test('scaling completed with half of the Auto Scaling calls throttled and the operator killed mid scale-in', () => {
  expect(summary.throttledAwsCalls).toBeGreaterThan(0);
  expect(summary.operatorKills.length).toBeGreaterThanOrEqual(1);
});

test('desired capacity was never lowered by SetDesiredCapacity', () => {
  expect(summary.desiredLoweredBySetDesiredCapacity).toBe(0);
  expect(summary.awsMutations.TerminateInstances ?? 0).toBe(0);
});

test('kubectl get kdb prints the expected columns', () => {
  const header = summary.kubectlGetKdb.split('\n')[0]!.split(/\s+/).filter(Boolean);
  expect(header).toEqual(['NAME', 'PHASE', 'LIVE', 'RDBS', 'DESIRED', 'MERGED', 'AGE']);
  const row = summary.kubectlGetKdb.split('\n')[1]!.split(/\s+/).filter(Boolean);
  expect(row[0]).toBe('e2e');
  expect(row[5]).toBe(summary.day);
});

test('the operator merged the day by itself, only after every RDB had flushed it, from every slice', () => {
  const m = summary.mergeJob;
  expect(m.name).toBe(m.expectedName);
  expect(m.ownedBy).toEqual(['KdbCluster/e2e']);
  // creationTimestamp has whole seconds: compare at that grain.
  expect(Date.parse(m.createdAt)).toBeGreaterThanOrEqual(Math.floor(Date.parse(m.lastFlushAt) / 1000) * 1000);
  expect(m.slices).toBe(m.rdbsThatFlushed);
  expect(m.slices).toBeGreaterThanOrEqual(summary.maxRdbs);
});
