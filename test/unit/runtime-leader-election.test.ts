import { FakeClock } from '../../operator/src/runtime/clock.ts';
import {
  DEFAULT_LEASE_TIMINGS,
  LeaderElector,
  decideLease,
} from '../../operator/src/runtime/leader-election.ts';
import type { LeaseObservation, LeaseRecord, LeaseStore } from '../../operator/src/runtime/leader-election.ts';
import { MemoryLeaseStore } from '../fixtures/lease-store.ts';

const T = DEFAULT_LEASE_TIMINGS;
const NOW = 1_000_000;
const rec = (holder: string, o: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTimeMs: 500_000,
  renewTimeMs: 900_000,
  leaseTransitions: 3,
  ...o,
});
const seen = (r: LeaseRecord, atMs: number): LeaseObservation => ({ record: r, observedAtMs: atMs });

describe('decideLease', () => {
  const table: Array<{
    name: string;
    current: LeaseRecord | undefined;
    observed: LeaseObservation | undefined;
    expect: { action: string; reason?: string; holder?: string; transitions?: number; acquireTimeMs?: number; expiresAtMs?: number };
    observedAt?: number;
  }> = [
    { name: 'no lease: create it', current: undefined, observed: undefined, expect: { action: 'create', transitions: 0, acquireTimeMs: NOW } },
    {
      name: 'held by other, first sight: wait a full duration from now (not from its renewTime)',
      current: rec('b', { renewTimeMs: 0 }),
      observed: undefined,
      expect: { action: 'wait', holder: 'b', expiresAtMs: NOW + 15_000 },
      observedAt: NOW,
    },
    {
      name: 'held by other, unchanged since observed 14.9 s ago: still wait',
      current: rec('b'),
      observed: seen(rec('b'), NOW - 14_900),
      expect: { action: 'wait', holder: 'b', expiresAtMs: NOW + 100 },
      observedAt: NOW - 14_900,
    },
    {
      name: 'held by other, unchanged for 15 s: take over, transitions + 1',
      current: rec('b'),
      observed: seen(rec('b'), NOW - 15_000),
      expect: { action: 'update', reason: 'acquire', transitions: 4, acquireTimeMs: NOW },
      observedAt: NOW - 15_000,
    },
    {
      name: 'held by other, renewed since last observed: the clock restarts',
      current: rec('b', { renewTimeMs: 950_000 }),
      observed: seen(rec('b'), NOW - 60_000),
      expect: { action: 'wait', holder: 'b', expiresAtMs: NOW + 15_000 },
      observedAt: NOW,
    },
    {
      name: 'held by me: renew, keep acquireTime and transitions',
      current: rec('me'),
      observed: seen(rec('me'), NOW - 2000),
      expect: { action: 'update', reason: 'renew', transitions: 3, acquireTimeMs: 500_000 },
      observedAt: NOW - 2000,
    },
    {
      name: 'held by me but unseen for ages: still mine to renew',
      current: rec('me'),
      observed: seen(rec('me'), NOW - 600_000),
      expect: { action: 'update', reason: 'renew', transitions: 3 },
    },
    {
      name: 'released (empty holder): acquire at once',
      current: rec('', { leaseDurationSeconds: 1 }),
      observed: seen(rec('', { leaseDurationSeconds: 1 }), NOW),
      expect: { action: 'update', reason: 'acquire', transitions: 4 },
    },
    {
      name: 'short lease written by holder is honoured (its duration, not ours)',
      current: rec('b', { leaseDurationSeconds: 5 }),
      observed: seen(rec('b', { leaseDurationSeconds: 5 }), NOW - 5000),
      expect: { action: 'update', reason: 'acquire' },
    },
  ];

  test.each(table)('$name', (row) => {
    const { decision, observed } = decideLease({ current: row.current, observed: row.observed, nowMs: NOW, identity: 'me', timings: T });
    expect(decision.action).toBe(row.expect.action);
    if (decision.action === 'wait') {
      expect(decision.holder).toBe(row.expect.holder);
      expect(decision.expiresAtMs).toBe(row.expect.expiresAtMs);
    } else {
      expect(decision.record.holderIdentity).toBe('me');
      expect(decision.record.leaseDurationSeconds).toBe(15);
      expect(decision.record.renewTimeMs).toBe(NOW);
      if (row.expect.reason) expect(decision.action === 'update' && decision.reason).toBe(row.expect.reason);
      if (row.expect.transitions !== undefined) expect(decision.record.leaseTransitions).toBe(row.expect.transitions);
      if (row.expect.acquireTimeMs !== undefined) expect(decision.record.acquireTimeMs).toBe(row.expect.acquireTimeMs);
    }
    if (row.observedAt !== undefined) expect(observed?.observedAtMs).toBe(row.observedAt);
  });
});

const elector = (store: LeaseStore, clock: FakeClock, identity: string, log: string[]) =>
  new LeaderElector({
    store,
    clock,
    identity,
    random: () => 0.5,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });

/** Two electors on one lease: a starts first, b a millisecond later. */
const aThenB = async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const log: string[] = [];
  const a = elector(store, clock, 'a', log);
  const b = elector(store, clock, 'b', log);
  a.start();
  await clock.advanceAsync(1);
  b.start();
  return { clock, store, log, a, b };
};

describe('LeaderElector', () => {
  test('two electors: exactly one leads; when it stops renewing the other takes over after the lease duration', async () => {
    const { clock, store, log, a, b } = await aThenB();
    await clock.advanceAsync(30_000);
    expect(log).toEqual(['a started']);
    expect(a.isLeader()).toBe(true);
    expect(b.state()).toBe('standby');
    expect(b.leader()).toBe('a');

    // a freezes like a hung process: no renewals, no release.
    const lastRenew = store.lease!.record.renewTimeMs!;
    await stopWithoutRelease(a);
    let tookOverAt: number | undefined;
    for (let i = 0; i < 400 && tookOverAt === undefined; i++) {
      await clock.advanceAsync(100);
      if (b.isLeader()) tookOverAt = clock.now();
    }
    expect(log).toEqual(['a started', 'b started']);
    expect(store.lease?.record.holderIdentity).toBe('b');
    expect(store.lease?.record.leaseTransitions).toBe(1);
    // Not before the lease expired as b saw it, and within one (jittered) poll after.
    const takeover = tookOverAt! - lastRenew;
    expect(takeover).toBeGreaterThanOrEqual(T.leaseDurationMs);
    expect(takeover).toBeLessThanOrEqual(T.leaseDurationMs + 2 * T.retryPeriodMs * 1.6);
  });

  test('graceful stop releases the lease; the standby takes over on its next poll', async () => {
    const { clock, store, log, a, b } = await aThenB();
    await clock.advanceAsync(10_000);
    const t0 = clock.now();
    await a.stop();
    expect(store.lease?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    let tookOver: number | undefined;
    for (let i = 0; i < 100 && tookOver === undefined; i++) {
      await clock.advanceAsync(100);
      if (b.isLeader()) tookOver = clock.now() - t0;
    }
    expect(tookOver).toBeDefined();
    // One retry period with client-go's 1.2 jitter factor (random 0.5 here) at most.
    expect(tookOver!).toBeLessThanOrEqual(T.retryPeriodMs * 1.6 + 100);
    expect(log).toEqual(['a started', 'b started']); // no onStoppedLeading on a graceful stop
  });

  test('leader that cannot renew for renewDeadline gives up and calls onStoppedLeading', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, 'a', log);
    a.start();
    await clock.advanceAsync(5000);
    expect(a.isLeader()).toBe(true);
    store.down = true;
    const downAt = clock.now();
    await clock.advanceAsync(8000);
    expect(a.isLeader()).toBe(true); // still inside renewDeadline of the last renewal
    await clock.advanceAsync(4000);
    expect(log).toEqual(['a started', 'a stopped']);
    expect(a.state()).toBe('lost');
    // It gave up before the lease (15 s from the last renewal) could expire for others.
    expect(clock.now() - downAt).toBeLessThan(T.leaseDurationMs);
  });

  test('leader whose lease was taken by someone else stops at once', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, 'a', log);
    a.start();
    await clock.advanceAsync(3000);
    // Someone force-writes the lease (e.g. after a long GC pause of ours).
    store.lease = { record: { ...store.lease!.record, holderIdentity: 'x', renewTimeMs: clock.now() }, resourceVersion: String(++store.rv) };
    await clock.advanceAsync(2500);
    expect(log).toEqual(['a started', 'a stopped']);
  });
});

/** Make an elector go silent, like a frozen process: abort its loop, skip release. */
async function stopWithoutRelease(e: LeaderElector): Promise<void> {
  (e as unknown as { release(): Promise<void> }).release = async () => {};
  await e.stop();
}
