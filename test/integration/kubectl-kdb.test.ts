// kubectl kdb through kubectl's own plugin discovery: kubectl-kdb on PATH,
// run as `kubectl kdb ...` against a KdbCluster on the local stack. The
// operator need not run: status is written here by hand, as the operator would.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goodSpec } from '../fixtures/bad-specs.ts';
import { applyYaml, binDir, kubectl, waitFor } from '../e2e/trading-day.ts';
import { repoRoot, stackDir } from '../lib/stack.ts';

const exec = promisify(execFile);
const ns = `kubectl-kdb-${Date.now().toString(36)}`;
const name = 'plugged';
let kubectlBin = '';

const kdb = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
  const env = {
    ...process.env,
    PATH: `${join(repoRoot, 'kubectl-kdb', 'bin')}:${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    KUBECONFIG: join(stackDir(), 'kubeconfig'),
  };
  try {
    const r = await exec(kubectlBin, ['kdb', ...args], { env });
    return { ...r, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
};

const annotations = async (): Promise<Record<string, string>> =>
  JSON.parse(await kubectl('get', 'kdb', name, '-n', ns, '-o', 'jsonpath={.metadata.annotations}') || '{}');

beforeAll(async () => {
  kubectlBin = join(await binDir(), 'kubectl');
  await kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds/kdbclusters.kdb-operator.dev.yaml'));
  await kubectl('wait', '--for=condition=Established', 'crd/kdbclusters.kdb-operator.dev', '--timeout=60s');
  await kubectl('create', 'namespace', ns);
  await waitFor('the KdbCluster resource to be served', async () => (await kubectl('get', 'kdb', '-n', ns)) !== undefined, 30_000);
  const obj = { apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name, namespace: ns }, spec: goodSpec() };
  await applyYaml(JSON.stringify(obj));
  const status = {
    phase: 'Running',
    conditions: [{ type: 'ScalingOut', status: 'True', reason: 'MemoryHigh', message: 'rdb at 81%', lastTransitionTime: '2026-12-02T10:00:00Z' }],
    pools: [{ name: 'main', live: 'main-rdb-0', queued: [], rolled: [], desiredCapacity: 1,
      rdbs: [{ name: 'main-rdb-0', state: 'live', node: 'node-a', instanceId: 'i-0aaa', memoryPercent: 81, firstI: 0, day: '2026-12-02' }] }],
  };
  await kubectl('patch', 'kdb', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
}, 120_000);

afterAll(async () => {
  await kubectl('delete', 'namespace', ns, '--wait=false');
});

test('kubectl finds the plugin and status prints the pool and RDB tables', async () => {
  const r = await kdb('status', name, '-n', ns);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`KdbCluster ${ns}/${name}  phase: Running`));
  expect(r.stdout).toMatch(/NAME\s+STATE\s+NODE\s+INSTANCE\s+MEM%\s+WINDOW\s+DAY/);
  expect(r.stdout).toMatch(/main-rdb-0\s+live\s+node-a\s+i-0aaa\s+81\s+0\.\.\s+2026-12-02/);
  expect(r.stdout).toContain('ScalingOut=True MemoryHigh: rdb at 81%');
  const j = JSON.parse((await kdb('status', name, '-n', ns, '-o', 'json')).stdout);
  expect(j.pools[0].live).toBe('main-rdb-0');
}, 60_000);

test('a missing cluster is named with its namespace', async () => {
  const r = await kdb('status', 'nope', '-n', ns);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`KdbCluster "nope" not found in namespace "${ns}"`);
}, 60_000);

test('hibernate on and eod set the annotations', async () => {
  expect((await kdb('hibernate', 'on', name, '-n', ns)).code).toBe(0);
  expect((await annotations())['kdb-operator.dev/hibernation']).toBe('on');
  expect((await kdb('hibernate', 'sideways', name, '-n', ns)).code).toBe(2);
  const before = Date.now() - 1_000;
  const r = await kdb('eod', name, '-n', ns);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("-o jsonpath='{.status.endOfDayRequest}'");
  const eod = (await annotations())['kdb-operator.dev/end-of-day'];
  expect(eod).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  expect(Date.parse(eod as string)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
}, 60_000);
