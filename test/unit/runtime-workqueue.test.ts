import { FakeClock, flushMicrotasks } from '../../operator/src/runtime/clock.ts';
import { ItemExponentialBackoff } from '../../operator/src/runtime/backoff.ts';
import { ControllerRateLimiter, TokenBucket } from '../../operator/src/runtime/rate-limiter.ts';
import { WorkQueue } from '../../operator/src/runtime/workqueue.ts';

const take = async (q: WorkQueue): Promise<string | undefined> => q.get();

describe('WorkQueue', () => {
  test('deduplicates keys that are waiting', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.len()).toBe(2);
    expect(await take(q)).toBe('ns/a');
    expect(await take(q)).toBe('ns/b');
    expect(q.len()).toBe(0);
  });

  test('a key being processed is not handed out again; adds coalesce and re-run after done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('k');
    const k = await take(q);
    expect(k).toBe('k');
    q.add('k');
    q.add('k');
    expect(q.len()).toBe(0); // held back while processing
    let second: string | undefined = 'none';
    void q.get().then((v) => (second = v));
    await flushMicrotasks();
    expect(second).toBe('none');
    q.done('k');
    await flushMicrotasks();
    expect(second).toBe('k'); // exactly one more run
    q.done('k');
    expect(q.len()).toBe(0);
  });

  test('done without a new add does not requeue', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('k');
    q.done((await take(q))!);
    expect(q.len()).toBe(0);
  });

  test('a waiting get() receives the next add', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
    expect(q.processingCount()).toBe(1);
  });

  test('addAfter fires at the deadline and keeps the earliest deadline per key', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('k', 1000);
    q.addAfter('k', 5000); // later: ignored
    q.addAfter('k', 300); // earlier: wins
    expect(q.waitingCount()).toBe(1);
    clock.advance(299);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    clock.advance(10_000);
    expect(q.len()).toBe(1); // the superseded timers did not add it twice
    expect(clock.pendingTimers()).toBe(0);
  });

  test('addAfter with zero delay adds immediately', () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.addAfter('k', 0);
    expect(q.len()).toBe(1);
  });

  test('addRateLimited backs off exponentially per key from 5 ms, capped at 1000 s; forget resets', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ControllerRateLimiter({ clock, burst: 1_000_000, qps: 1_000_000 }) });
    for (let i = 0; i < 30; i++) {
      const expected = Math.min(5 * 2 ** i, 1_000_000);
      q.addRateLimited('k');
      clock.advance(expected - 1);
      expect(q.len()).toBe(0);
      clock.advance(1);
      expect(q.len()).toBe(1);
      q.done((await q.get())!);
    }
    expect(q.numRequeues('k')).toBe(30);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    q.addRateLimited('k');
    clock.advance(5);
    expect(q.len()).toBe(1);
  });

  test('per-key backoff is independent between keys', () => {
    const b = new ItemExponentialBackoff({ baseMs: 5, maxMs: 1_000_000 });
    expect([b.when('a'), b.when('a'), b.when('a')]).toEqual([5, 10, 20]);
    expect(b.when('b')).toBe(5);
    for (let i = 0; i < 100; i++) b.when('a');
    expect(b.when('a')).toBe(1_000_000);
    b.forget('a');
    expect(b.when('a')).toBe(5);
  });

  test('the overall bucket allows a burst of 100 then 10 per second', () => {
    const clock = new FakeClock();
    const limiter = new ControllerRateLimiter({ clock });
    const delays = Array.from({ length: 120 }, (_, i) => limiter.when(`key-${i}`));
    expect(delays.slice(0, 100).every((d) => d === 5)).toBe(true); // only the per-key 5 ms
    expect(delays[100]).toBeCloseTo(100, 5); // 1 token short at 10 qps
    expect(delays[119]).toBeCloseTo(2000, 5);
    clock.advance(10_000); // 100 tokens back
    expect(limiter.when('fresh')).toBe(5);
  });

  test('token bucket reserve and tryTake', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(20, 2, clock);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
    expect(b.reserve()).toBeCloseTo(50, 5);
    expect(b.reserve()).toBeCloseTo(100, 5);
    clock.advance(100);
    expect(b.tryTake()).toBe(false);
    clock.advance(50);
    expect(b.tryTake()).toBe(true);
  });

  test('depth callback tracks keys ready to process', async () => {
    const depths: number[] = [];
    const q = new WorkQueue({ clock: new FakeClock(), onDepth: (d) => depths.push(d) });
    q.add('a');
    q.add('b');
    await q.get();
    expect(depths).toEqual([1, 2, 1]);
  });

  test('shutDown releases waiting getters, stops handing out keys and ignores adds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    q.addAfter('b', 10);
    clock.advance(100);
    expect(await q.get()).toBeUndefined();
    expect(q.len()).toBe(0);
  });

  test('whenIdle resolves once in-flight keys are done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    const k = (await q.get())!;
    let idle = false;
    void q.whenIdle().then(() => (idle = true));
    await flushMicrotasks();
    expect(idle).toBe(false);
    q.done(k);
    await flushMicrotasks();
    expect(idle).toBe(true);
  });
});

describe('fair by cluster, with the wait measured', () => {
  test('a busy cluster that is added again while it runs goes behind every cluster already waiting', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/busy');
    const first = await q.get();
    expect(first).toBe('ns/busy');
    for (const k of ['ns/a', 'ns/b', 'ns/c']) q.add(k);
    // The busy one changes again and again while it runs: one more run, at the back.
    for (let i = 0; i < 50; i++) q.add('ns/busy');
    q.done('ns/busy');
    const order: string[] = [];
    while (q.len() > 0) {
      const k = (await q.get())!;
      order.push(k);
      q.add('ns/busy');
      q.done(k);
      if (order.length > 10) break;
    }
    // Each of the others runs before busy runs a second time, and busy never runs twice in a row while others wait.
    expect(order.slice(0, 4)).toEqual(['ns/a', 'ns/b', 'ns/c', 'ns/busy']);
  });

  test('a rate-limited requeue joins the back when due, never ahead of keys waiting', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ControllerRateLimiter({ clock, burst: 1_000_000, qps: 1_000_000 }) });
    q.addRateLimited('ns/failing');
    q.add('ns/a');
    clock.advance(1_000);
    q.add('ns/b');
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['ns/a', 'ns/failing', 'ns/b']);
  });

  test('longestWaitMs: the head of the queue, from when it joined, on the injected clock', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    expect(q.longestWaitMs()).toBe(0);
    q.add('ns/a');
    clock.advance(300);
    q.add('ns/b');
    clock.advance(200);
    expect(q.longestWaitMs()).toBe(500);
    // Adding a waiting key again does not reset its wait.
    q.add('ns/a');
    expect(q.longestWaitMs()).toBe(500);
    expect(await q.get()).toBe('ns/a');
    expect(q.longestWaitMs()).toBe(200);
    expect(await q.get()).toBe('ns/b');
    expect(q.longestWaitMs()).toBe(0);
  });

  test('a key re-added while processing waits from when done() put it back', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.add('ns/a');
    await q.get();
    q.add('ns/a');
    clock.advance(1_000);
    expect(q.longestWaitMs()).toBe(0);
    q.done('ns/a');
    clock.advance(40);
    expect(q.longestWaitMs()).toBe(40);
  });
});
