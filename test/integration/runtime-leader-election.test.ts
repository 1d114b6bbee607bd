// Two electors in one process against the real API server and a real Lease.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient, V1Lease } from '../../operator/src/kube/index.ts';
import { LeaderElector } from '../../operator/src/runtime/leader-election.ts';
import { createNamespace, deleteNamespace, stackClient, testLogger, waitFor } from './runtime-env.ts';

let client: KubeClient;
let ns: string;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  client = stackClient();
  ns = await createNamespace(client, 'rt-leader');
}, 30_000);

afterAll(async () => {
  for (const e of electors) await e.stop().catch(() => undefined);
  await deleteNamespace(client, ns);
});

const make = (name: string, identity: string, log: string[]): LeaderElector => {
  const e = new LeaderElector({
    store: client.leaseStore(ns, name),
    identity,
    logger: testLogger(),
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
  electors.push(e);
  return e;
};

/** Make an elector go silent like a hung process: stop renewing without releasing. */
const freeze = async (e: LeaderElector): Promise<void> => {
  (e as unknown as { release(): Promise<void> }).release = async () => {};
  await e.stop();
};

const readLease = (name: string) => client.api.get<V1Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name, namespace: ns });

describe('leader election on a Lease', () => {
  it('one of two leads; the other takes over once the lease expires', async () => {
    const log: string[] = [];
    const a = make('crash', 'replica-a', log);
    const b = make('crash', 'replica-b', log);
    a.start();
    await waitFor('a leads', () => a.isLeader());
    b.start();
    await waitFor('b observes a', () => b.leader() === 'replica-a');
    // Over several renew periods, still exactly one leader.
    await new Promise((r) => setTimeout(r, 5000));
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    const lease = await readLease('crash');
    expect(lease?.spec).toMatchObject({ holderIdentity: 'replica-a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(lease?.spec?.renewTime).toMatch(/\.\d{6}Z$/);

    const lastRenew = Date.parse((await readLease('crash'))!.spec!.renewTime!);
    await freeze(a);
    const frozenAt = Date.now();
    await waitFor('b takes over', () => b.isLeader(), 30_000, 20);
    const takeover = Date.now() - frozenAt;
    const sinceRenew = Date.now() - lastRenew;
    console.log(`takeover after the leader stopped renewing: ${(takeover / 1000).toFixed(2)} s (${(sinceRenew / 1000).toFixed(2)} s after its last renewal)`);
    expect(sinceRenew).toBeGreaterThanOrEqual(15_000);
    expect(sinceRenew).toBeLessThan(15_000 + 2 * 2000 * 2.2 + 1000);
    expect(log).toEqual(['replica-a started', 'replica-b started']);
    const after = await readLease('crash');
    expect(after?.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
  }, 60_000);

  it('a graceful stop releases the lease and the standby takes over within a retry period', async () => {
    const log: string[] = [];
    const a = make('graceful', 'replica-a', log);
    const b = make('graceful', 'replica-b', log);
    a.start();
    await waitFor('a leads', () => a.isLeader());
    b.start();
    await waitFor('b observes a', () => b.leader() === 'replica-a');
    const t0 = Date.now();
    await a.stop();
    const released = await readLease('graceful');
    // b may already have taken it; otherwise it shows the release.
    if (released?.spec?.holderIdentity !== 'replica-b') expect(released?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await waitFor('b takes over', () => b.isLeader(), 15_000, 20);
    const takeover = Date.now() - t0;
    console.log(`takeover after a graceful release: ${(takeover / 1000).toFixed(2)} s`);
    expect(takeover).toBeLessThan(2000 * 2.2 + 3000);
    expect(log).toEqual(['replica-a started', 'replica-b started']);
  }, 60_000);
});
