import { FakeClock, flushMicrotasks } from '../../operator/src/runtime/clock.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import type { ReconcileOutcome } from '../../operator/src/runtime/controller.ts';
import { TerminalError } from '../../operator/src/runtime/errors.ts';
import { createMetrics } from '../../operator/src/runtime/metrics.ts';
import { enqueueOwner, ownerKey, splitKey } from '../../operator/src/runtime/owner.ts';

interface Deferred {
  resolve: (v: ReconcileOutcome | void) => void;
  reject: (e: unknown) => void;
}

/** A reconciler whose calls the test completes by hand. */
const manualReconciler = () => {
  const calls: Array<{ key: string } & Deferred> = [];
  const active = new Map<string, number>();
  let maxSameKey = 0;
  const reconcile = (key: string): Promise<ReconcileOutcome | void> => {
    const n = (active.get(key) ?? 0) + 1;
    active.set(key, n);
    maxSameKey = Math.max(maxSameKey, n);
    return new Promise<ReconcileOutcome | void>((resolve, reject) => {
      calls.push({ key, resolve, reject });
    }).finally(() => active.set(key, (active.get(key) ?? 1) - 1));
  };
  return { calls, reconcile, maxSameKey: () => maxSameKey };
};

const counter = async (m: ReturnType<typeof createMetrics>, result: string): Promise<number> =>
  (await m.reconcileTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

describe('Controller', () => {
  test('never reconciles one key in two workers at once; a change during reconcile runs it once more', async () => {
    const clock = new FakeClock();
    const r = manualReconciler();
    const c = new Controller({ name: 't', reconcile: r.reconcile, workers: 4, clock });
    c.start();
    c.enqueue('ns/a');
    await flushMicrotasks();
    expect(r.calls).toHaveLength(1);
    c.enqueue('ns/a');
    c.enqueue('ns/a');
    c.enqueue('ns/b');
    await flushMicrotasks();
    expect(r.calls.map((x) => x.key)).toEqual(['ns/a', 'ns/b']);
    r.calls[0]!.resolve();
    await flushMicrotasks();
    expect(r.calls.map((x) => x.key)).toEqual(['ns/a', 'ns/b', 'ns/a']);
    r.calls[1]!.resolve();
    r.calls[2]!.resolve();
    await flushMicrotasks();
    expect(r.calls).toHaveLength(3);
    expect(r.maxSameKey()).toBe(1);
    await c.stop(1000);
  });

  test('errors requeue with growing backoff; success forgets', async () => {
    const clock = new FakeClock();
    const metrics = createMetrics();
    let fail = 3;
    const seen: Array<{ at: number; retries: number }> = [];
    const c = new Controller({
      name: 't',
      clock,
      metrics,
      reconcile: async (_key, ctx) => {
        seen.push({ at: clock.now(), retries: ctx.retries });
        if (fail-- > 0) throw new Error('boom');
      },
    });
    const t0 = clock.now();
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(1000);
    expect(seen.map((s) => s.at - t0)).toEqual([0, 5, 15, 35]);
    expect(seen.map((s) => s.retries)).toEqual([0, 1, 2, 3]);
    expect(c.queue.numRequeues('k')).toBe(0);
    expect(await counter(metrics, 'error')).toBe(3);
    expect(await counter(metrics, 'success')).toBe(1);
    await c.stop(1000);
  });

  test('terminal errors are not retried', async () => {
    const clock = new FakeClock();
    const metrics = createMetrics();
    let calls = 0;
    const c = new Controller({
      name: 't',
      clock,
      metrics,
      reconcile: async () => {
        calls++;
        throw new TerminalError('no pools', { reason: 'InvalidSpec' });
      },
    });
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(60_000);
    expect(calls).toBe(1);
    expect(await counter(metrics, 'terminal')).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
    await c.stop(1000);
  });

  test('requeueAfter schedules the next run', async () => {
    const clock = new FakeClock();
    const at: number[] = [];
    const c = new Controller({
      name: 't',
      clock,
      reconcile: async () => {
        at.push(clock.now());
        return at.length < 3 ? { requeueAfterMs: 30_000 } : undefined;
      },
    });
    const t0 = clock.now();
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(200_000);
    expect(at.map((t) => t - t0)).toEqual([0, 30_000, 60_000]);
    await c.stop(1000);
  });

  test('stop() waits for in-flight reconciles, up to the deadline', async () => {
    const clock = new FakeClock();
    const r = manualReconciler();
    const c = new Controller({ name: 't', reconcile: r.reconcile, workers: 2, clock });
    c.start();
    c.enqueue('a');
    await flushMicrotasks();
    let stopped: boolean | undefined;
    void c.stop(5000).then((ok) => (stopped = ok));
    c.enqueue('b'); // ignored: shutting down
    await flushMicrotasks();
    expect(stopped).toBeUndefined();
    r.calls[0]!.resolve();
    await flushMicrotasks();
    expect(stopped).toBe(true);
    expect(r.calls).toHaveLength(1);

    const r2 = manualReconciler();
    const c2 = new Controller({ name: 't2', reconcile: r2.reconcile, clock });
    c2.start();
    c2.enqueue('a');
    await flushMicrotasks();
    let ok2: boolean | undefined;
    void c2.stop(5000).then((ok) => (ok2 = ok));
    await clock.advanceAsync(5000);
    expect(ok2).toBe(false);
  });
});

describe('many clusters, a few workers', () => {
  test('a slow cluster holds one worker only: the others keep the rest of the clusters moving', async () => {
    const clock = new FakeClock();
    const r = manualReconciler();
    const c = new Controller({ name: 't', reconcile: r.reconcile, workers: 4, clock });
    c.start();
    for (let i = 0; i < 10; i++) c.enqueue(`ns/c${i}`);
    await flushMicrotasks();
    expect(r.calls.map((x) => x.key)).toEqual(['ns/c0', 'ns/c1', 'ns/c2', 'ns/c3']);
    // c0 hangs on a slow call; the other three workers get through the rest.
    for (let done = 1; r.calls.length < 10 && done < 20; done++) {
      r.calls[done]!.resolve();
      await flushMicrotasks();
    }
    expect(r.calls.map((x) => x.key).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ns/c${i}`).sort());
    r.calls[0]!.resolve();
    for (const x of r.calls) x.resolve();
    await c.stop(1000);
  });

  test('the longest wait is a gauge read at scrape time, on the injected clock', async () => {
    const clock = new FakeClock();
    const metrics = createMetrics();
    const r = manualReconciler();
    const c = new Controller({ name: 'kdbcluster', reconcile: r.reconcile, workers: 1, clock, metrics });
    c.start();
    c.enqueue('ns/a');
    c.enqueue('ns/b');
    await flushMicrotasks();
    clock.advance(2_500);
    const wait = async () => (await metrics.workqueueLongestWait.get()).values.find((v) => v.labels.controller === 'kdbcluster')?.value;
    expect(await wait()).toBe(2.5);
    r.calls[0]!.resolve();
    await flushMicrotasks();
    expect(await wait()).toBe(0);
    for (const x of r.calls) x.resolve();
    await c.stop(1000);
  });
});

describe('owner mapping', () => {
  const pod = (meta: object) => ({ metadata: { name: 'p', namespace: 'ns', ...meta } });
  const match = { group: 'kdb-operator.dev', kind: 'KdbCluster', label: 'kdb-operator.dev/cluster' };

  test('controller owner reference wins', () => {
    expect(
      ownerKey(
        pod({
          ownerReferences: [
            { apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', name: 'other' },
            { apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', name: 'main', controller: true },
          ],
        }),
        match,
      ),
    ).toBe('ns/main');
  });
  test('ignores owners of other kinds or groups, falls back to the label', () => {
    const p = pod({
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'tp' },
        { apiVersion: 'other.dev/v1', kind: 'KdbCluster', name: 'x' },
      ],
      labels: { 'kdb-operator.dev/cluster': 'c1' },
    });
    expect(ownerKey(p, match)).toBe('ns/c1');
    expect(ownerKey({ metadata: { name: 'node-1', labels: { 'kdb-operator.dev/cluster': 'ns2/c2' } } }, match)).toBe('ns2/c2');
    expect(ownerKey(pod({}), match)).toBeUndefined();
  });
  test('enqueueOwner only enqueues owned objects', () => {
    const keys: string[] = [];
    const h = enqueueOwner(match, (k) => keys.push(k));
    h(pod({ labels: { 'kdb-operator.dev/cluster': 'c' } }));
    h(pod({}));
    expect(keys).toEqual(['ns/c']);
    expect(splitKey('ns/c')).toEqual({ namespace: 'ns', name: 'c' });
    expect(splitKey('node')).toEqual({ name: 'node' });
  });
});
