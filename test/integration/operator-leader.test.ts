import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { PORTS, repoRoot, stackDir } from '../lib/stack.ts';
import { kubectl, waitFor } from '../e2e/trading-day.ts';

// Two operator processes against the real API server: one leads and acts,
// the other stands by; killed, the leader's lease expires and the other takes over.

const ns = `leader-${Date.now().toString(36)}`;
const coordination = adminKubeConfig().makeApiClient(k8s.CoordinationV1Api);
const procs = new Map<string, { child: ChildProcess; log: string }>();

const startOperator = (name: string, port: number): void => {
  const child = spawn(process.execPath, [join(repoRoot, 'operator/src/main.ts'), 'operator'], {
    env: {
      ...process.env,
      KUBECONFIG: join(stackDir(), 'kubeconfig'),
      POD_NAME: name,
      POD_NAMESPACE: ns,
      POD_IP: '127.0.0.1',
      KDB_METRICS_PORT: String(port),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${PORTS.awsEndpoint}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rec = { child, log: '' };
  child.stdout?.on('data', (d) => (rec.log += d));
  child.stderr?.on('data', (d) => (rec.log += d));
  procs.set(name, rec);
};

const holder = async (): Promise<string | undefined> => {
  try {
    return (await coordination.readNamespacedLease({ name: 'kdb-operator-leader', namespace: ns })).spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
};

beforeAll(async () => {
  await kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds/kdbclusters.kdb-operator.dev.yaml'));
  await kubectl('create', 'namespace', ns);
  startOperator('operator-a', 18181);
  startOperator('operator-b', 18182);
}, 60_000);

afterAll(async () => {
  for (const { child } of procs.values()) child.kill('SIGKILL');
  await kubectl('delete', 'namespace', ns, '--wait=false');
});

test('exactly one of two operators leads; the other takes over when it dies', async () => {
  const first = await waitFor('a leader', holder, 60_000);
  const other = first === 'operator-a' ? 'operator-b' : 'operator-a';
  await waitFor('the leader to start its controllers', async () => procs.get(first)!.log.includes('leading: starting controllers'), 30_000);
  expect(procs.get(other)!.log).not.toContain('leading: starting controllers');
  // Both serve health; only the leader acts.
  // The standby may still be starting (its health server comes up after its informers' first sync): await it.
  const healthz = `http://127.0.0.1:${other === 'operator-a' ? 18181 : 18182}/healthz`;
  const ready = await waitFor('the standby to serve /healthz', async () => fetch(healthz).catch(() => undefined), 30_000);
  expect(ready.status).toBe(200);

  const killedAt = Date.now();
  procs.get(first)!.child.kill('SIGKILL');
  await waitFor('the standby to take the lease', async () => (await holder()) === other, 60_000);
  await waitFor('the new leader to start its controllers', async () => procs.get(other)!.log.includes('leading: starting controllers'), 10_000);
  process.stdout.write(`leader takeover after SIGKILL: ${Date.now() - killedAt} ms\n`);
}, 120_000);
