import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { Effector, isIrreversible } from '../../operator/src/controllers/kdbcluster/effect.ts';
import type { EventRecorder, KubeApi } from '../../operator/src/kube/index.ts';
import type { Action } from '../../operator/src/planner/types.ts';
import { FakeClock } from '../../operator/src/runtime/clock.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import type { Reconciler } from '../../operator/src/runtime/controller.ts';
import { DEFAULT_LEASE_TIMINGS, LeaderElector } from '../../operator/src/runtime/leader-election.ts';
import { drainThenRelease, exitOnLostLeadership } from '../../operator/src/runtime/leadership.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';
import { Shutdown } from '../../operator/src/runtime/shutdown.ts';
import { MemoryLeaseStore, ProcessLeaseStore } from '../fixtures/lease-store.ts';

const T = DEFAULT_LEASE_TIMINGS;
const log = silentLogger();

/**
 * One operator process as operator.ts wires it (controller behind a lease,
 * drainThenRelease, exitOnLostLeadership), beside a standby, on one clock.
 * exit() stands for the process dying: its lease requests stop reaching the server.
 */
const operatorWithStandby = async (reconcile: Reconciler, opts: { shutdownDeadlineMs?: number } = {}) => {
  const clock = new FakeClock();
  const server = new MemoryLeaseStore();
  const aStore = new ProcessLeaseStore(server);
  const exits: number[] = [];
  const exit = (code: number): void => {
    exits.push(code);
    aStore.dead = true;
  };
  const controller = new Controller({ name: 'kdbcluster', reconcile, workers: 1, clock });
  const a = new LeaderElector({
    store: aStore,
    clock,
    identity: 'a',
    random: () => 0.5,
    onStartedLeading: () => controller.start(),
    onStoppedLeading: exitOnLostLeadership(controller, log, exit),
  });
  const b = new LeaderElector({ store: server, clock, identity: 'b', random: () => 0.5, onStartedLeading: () => {}, onStoppedLeading: () => {} });
  const shutdown = new Shutdown({ signals: [], clock, exit, ...(opts.shutdownDeadlineMs ? { deadlineMs: opts.shutdownDeadlineMs } : {}) });
  drainThenRelease(shutdown, controller, a);
  a.start();
  await clock.advanceAsync(1);
  b.start();
  await clock.advanceAsync(100);
  expect(a.isLeader()).toBe(true);
  return { clock, server, aStore, exits, controller, a, b, shutdown };
};

/** A reconcile that takes `ms` of clock time (one slow AWS call) and notes what its stop signal said. */
const slowReconcile = (clock: FakeClock, ms: number) => {
  const seen = { started: 0, finished: 0, abortedAtEnd: false };
  const reconcile: Reconciler = async (_key, ctx) => {
    seen.started++;
    await clock.sleep(ms);
    seen.finished++;
    seen.abortedAtEnd = ctx.signal.aborted;
  };
  return { seen, reconcile };
};

const releases = (s: ProcessLeaseStore) => s.attempted.filter((r) => r.holderIdentity === '').length;

describe('leadership across shutdown', () => {
  test('a reconcile that outlasts the old 20 s stop timeout keeps the lease renewed until it finished, then the lease is released', async () => {
    let slow!: ReturnType<typeof slowReconcile>;
    const env = await operatorWithStandby((k, ctx) => slow.reconcile(k, ctx));
    slow = slowReconcile(env.clock, 22_000);
    const { clock, server, aStore, exits, controller, b, shutdown } = env;
    controller.enqueue('ns/markets');
    await clock.advanceAsync(1000);
    expect(slow.seen.started).toBe(1);

    const triggered = shutdown.trigger(0);
    const t0 = clock.now();
    // The reconcile runs for another 21 s: all that time the lease is a's and fresh.
    while (clock.now() - t0 < 20_500) {
      await clock.advanceAsync(500);
      expect(server.lease?.record.holderIdentity).toBe('a');
      expect(clock.now() - server.lease!.record.renewTimeMs!).toBeLessThanOrEqual(T.retryPeriodMs);
      expect(b.isLeader()).toBe(false);
      expect(releases(aStore)).toBe(0);
    }
    expect(slow.seen.finished).toBe(0);
    await clock.advanceAsync(1000);
    await triggered;
    expect(slow.seen.finished).toBe(1);
    expect(slow.seen.abortedAtEnd).toBe(true); // it knew, for its last steps, that shutdown had begun
    expect(releases(aStore)).toBe(1);
    expect(exits).toEqual([0]);
    // Released: the standby takes over on its next poll, not after a whole lease duration.
    const released = clock.now();
    while (!b.isLeader() && clock.now() - released < T.leaseDurationMs) await clock.advanceAsync(100);
    expect(clock.now() - released).toBeLessThanOrEqual(T.retryPeriodMs * 1.6 + 100);
  });

  test('a reconcile that outlasts the shutdown deadline: the process exits holding the lease, which then expires', async () => {
    let slow!: ReturnType<typeof slowReconcile>;
    const env = await operatorWithStandby((k, ctx) => slow.reconcile(k, ctx), { shutdownDeadlineMs: 25_000 });
    // 30 s: it ends 6 s after the exit, while the elector of a still-running test process would still lead.
    slow = slowReconcile(env.clock, 30_000);
    const { clock, server, aStore, exits, controller, b, shutdown } = env;
    controller.enqueue('ns/markets');
    await clock.advanceAsync(1000);
    void shutdown.trigger(0);
    const t0 = clock.now();
    while (exits.length === 0 && clock.now() - t0 < 30_000) {
      await clock.advanceAsync(500);
      if (exits.length === 0) expect(server.lease?.record.holderIdentity).toBe('a');
    }
    expect(exits).toEqual([1]);
    expect(clock.now() - t0).toBe(25_000);
    const lastRenew = server.lease!.record.renewTimeMs!;
    expect(server.lease?.record.holderIdentity).toBe('a');
    // The standby waits out the lease: nothing acts for leaseDuration after the last renewal.
    while (!b.isLeader() && clock.now() - t0 < 120_000) await clock.advanceAsync(100);
    expect(b.isLeader()).toBe(true);
    expect(clock.now() - lastRenew).toBeGreaterThanOrEqual(T.leaseDurationMs);
    // The lease step never ran, not even after the drain finished in this still-running test process.
    await clock.advanceAsync(10_000);
    expect(slow.seen.finished).toBe(1);
    expect(releases(aStore)).toBe(0);
    shutdown.dispose();
  });
});

// ---- the effector's stop checks

const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1', resourceVersion: '7' },
  spec: {
    rdbPools: [{ name: 'main', memory: '512Mi' }],
    storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
  },
});

/** The calls the effector makes, recorded; `statusWrite` runs inside each status write (to stall it). */
const fakeWorld = (statusWrite: () => Promise<void> = async () => {}) => {
  const calls: string[] = [];
  const api = {
    mergePatch: async () => {
      calls.push('patch status');
      await statusWrite();
      return { metadata: { resourceVersion: '8' } };
    },
    delete: async (ref: { name: string }) => {
      calls.push(`delete pod ${ref.name}`);
      return true;
    },
  } as unknown as KubeApi;
  const aws = {
    autoScaling: {
      terminateInstanceInGroup: async (id: string) => {
        calls.push(`terminate ${id}`);
        return { outcome: 'terminated' };
      },
      setInstanceProtection: async (_g: string, ids: string[], protect: boolean) => {
        calls.push(`protect ${ids.join(',')} ${protect}`);
        return {};
      },
      setDesiredCapacity: async (_g: string, v: number) => {
        calls.push(`desired ${v}`);
        return { wrote: true, previous: v - 1, desired: v };
      },
    },
  } as unknown as Aws;
  const events = { record: async () => {}, warning: async () => {} } as unknown as EventRecorder;
  return { calls, api, aws, events };
};

const record = (step: 'DeletePod' | 'Unprotect' | 'Terminate') => ({
  kind: 'RecordScaleInStep' as const,
  pool: 'main',
  instanceId: 'i-1',
  record: { rdb: 'markets-main-rdb-1', instanceId: 'i-1', step, startedAt: '2026-12-01T16:00:00Z' },
});
const scaleInChain: Action[] = [
  record('DeletePod'),
  { kind: 'DeleteRdbPod', pool: 'main', pod: 'markets-main-rdb-1', reason: 'ScaleIn', precondition: { uid: 'pod-uid-1', resourceVersion: '41' } },
  record('Unprotect'),
  { kind: 'SetInstanceProtection', group: 'rdb', instanceIds: ['i-1'], protect: false },
  record('Terminate'),
  { kind: 'TerminateInstanceInGroup', group: 'rdb', instanceId: 'i-1', decrement: true },
];

describe('effector stop signal', () => {
  test('the irreversible steps are exactly Terminate, Unprotect, pod delete and SetDesiredCapacity', () => {
    const kinds = (as: Action[]) => as.filter(isIrreversible).map((a) => a.kind);
    expect(kinds(scaleInChain)).toEqual(['DeleteRdbPod', 'SetInstanceProtection', 'TerminateInstanceInGroup']);
    expect(isIrreversible({ kind: 'SetDesiredCapacity', group: 'rdb', value: 2, observed: 1, reason: 'x' })).toBe(true);
    expect(isIrreversible({ kind: 'SetInstanceProtection', group: 'rdb', instanceIds: ['i-1'], protect: true })).toBe(false);
    expect(isIrreversible(record('Terminate'))).toBe(false);
  });

  test('with the signal up from the start, nothing irreversible runs; without it the whole chain does', async () => {
    const stopped = fakeWorld();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    const desired: Action = { kind: 'SetDesiredCapacity', group: 'rdb', value: 2, observed: 1, reason: 'queued RDB needs a node' };
    await new Effector({ ...stopped, log, agentServiceAccount: 'a', signal: ac.signal }, cluster).run([record('DeletePod'), ...scaleInChain.slice(1)]);
    await new Effector({ ...stopped, log, agentServiceAccount: 'a', signal: ac.signal }, cluster).run([desired]);
    expect(stopped.calls).toEqual(['patch status']);

    const running = fakeWorld();
    await new Effector({ ...running, log, agentServiceAccount: 'a', signal: new AbortController().signal }, cluster).run([...scaleInChain, desired]);
    expect(running.calls).toEqual([
      'patch status',
      'delete pod markets-main-rdb-1',
      'patch status',
      'protect i-1 false',
      'patch status',
      'terminate i-1',
      'desired 2',
    ]);
  });

  test('leadership lost mid-effect (renewals fail while the Terminate record is written): the Terminate is skipped and the process exits', async () => {
    const run = async (partition: boolean) => {
      let env!: Awaited<ReturnType<typeof operatorWithStandby>>;
      // The status write before Terminate hangs 12 s; in the partitioned run the lease
      // server is unreachable meanwhile, so renewals fail past renewDeadline (10 s).
      const world = fakeWorld(async () => {
        if (!world.calls.includes('delete pod markets-main-rdb-1') || world.calls.filter((c) => c === 'patch status').length < 3) return;
        if (partition) env.server.down = true;
        await env.clock.sleep(12_000);
        env.server.down = false;
      });
      env = await operatorWithStandby(async (_k, ctx) => {
        await new Effector({ ...world, log, agentServiceAccount: 'a', signal: ctx.signal }, cluster).run(scaleInChain);
      });
      env.controller.enqueue('trading/markets');
      await env.clock.advanceAsync(20_000);
      env.shutdown.dispose();
      return { world, env };
    };

    const lost = await run(true);
    expect(lost.env.a.state()).toBe('lost');
    expect(lost.env.exits).toEqual([1]);
    expect(lost.world.calls).toEqual(['patch status', 'delete pod markets-main-rdb-1', 'patch status', 'protect i-1 false', 'patch status']);

    // Control: the same stall without losing the lease terminates as planned.
    const kept = await run(false);
    expect(kept.env.a.isLeader()).toBe(true);
    expect(kept.env.exits).toEqual([]);
    expect(kept.world.calls.at(-1)).toBe('terminate i-1');
  });
});
