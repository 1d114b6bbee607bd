// kubectl kdb through kubectl's own plugin discovery: kubectl-kdb on PATH,
// run as `kubectl kdb ...` against a KdbCluster on the local stack. The
// operator need not run: status, RDB reports and node groups are written
// here by hand (the reports on pods, the group in moto), as the operator and
// the agents would.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goodSpec } from '../fixtures/bad-specs.ts';
import { applyYaml, binDir, kubectl, waitFor } from '../e2e/trading-day.ts';
import { autoscaling } from '../lib/aws.ts';
import { repoRoot, stackDir } from '../lib/stack.ts';
import { awsTestEnv, createTestGroup, deleteTestGroup, rawGroup, type AwsTestEnv } from './aws-env.ts';

const exec = promisify(execFile);
const ns = `kubectl-kdb-${Date.now().toString(36)}`;
const name = 'plugged';
let kubectlBin = '';

const kdb = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
  const childEnv = {
    ...process.env,
    PATH: `${join(repoRoot, 'kubectl-kdb', 'bin')}:${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    KUBECONFIG: join(stackDir(), 'kubeconfig'),
    // As .stack/env would set them: CI runs the suites without sourcing it.
    AWS_REGION: env?.region ?? process.env.AWS_REGION ?? 'us-east-1',
    AWS_ENDPOINT_URL: env?.endpoint ?? process.env.AWS_ENDPOINT_URL ?? '',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'testing',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  try {
    const r = await exec(kubectlBin, ['kdb', ...args], { env: childEnv });
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
  if (releaseNodes.length > 0) await kubectl('delete', 'node', ...releaseNodes, '--wait=false').catch(() => undefined);
  if (env !== undefined) {
    for (const g of groups) await deleteTestGroup(env, g);
    env.destroy();
  }
}, 60_000);

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

// ---- release and report: the parts that change things

let env: AwsTestEnv | undefined;
const groups: string[] = [];
const releaseNodes: string[] = [];
const SECRET_VALUE = `never-in-a-bundle-${Date.now().toString(36)}`;

const summary = (o: { state: string; rows: number; flushed: boolean }) =>
  JSON.stringify({ state: o.state, day: '2026-12-01', firstI: 0, lastI: o.rows > 0 ? o.rows - 1 : null, lastProcessed: o.rows, rows: o.rows, flushedDays: o.flushed ? ['2026-12-01'] : [] });

/** An RDB pod of `cluster` bound to `node`, with the report and conditions its agent would have written. */
const rdbPod = async (cluster: string, pod: string, node: string, o: { state: string; rows: number; flushed: boolean }, extra: object = {}) => {
  await applyYaml(JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: pod, namespace: ns,
      labels: { 'kdb-operator.dev/cluster': cluster, 'kdb-operator.dev/role': 'rdb' },
      annotations: { 'kdb-operator.dev/rdb-status': summary(o), 'kdb-operator.dev/memory-percent': '10' },
    },
    spec: { nodeName: node, containers: [{ name: 'rdb', image: 'kdb-sim:dev', ...extra }] },
  }));
  const conditions = [
    { type: 'kdb-operator.dev/Live', status: o.state === 'live' ? 'True' : 'False' },
    { type: 'kdb-operator.dev/DataFlushed', status: o.flushed ? 'True' : 'False' },
  ];
  await kubectl('patch', 'pod', pod, '-n', ns, '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status: { conditions } }));
};

describe('release hands back the servers of a deleted cluster, never one holding data', () => {
  const gone = 'gone';
  let group = '';
  let ids: string[] = [];

  beforeAll(async () => {
    env = await awsTestEnv();
    group = await createTestGroup(env, { desired: 3, max: 5, tags: { 'kdb-operator.dev/owner': `${ns}/${gone}` } });
    groups.push(group);
    ids = await waitFor('moto to launch the group\'s three instances', async () => {
      const g = await rawGroup(env!, group);
      const inService = (g.Instances ?? []).filter((i) => i.LifecycleState === 'InService').map((i) => i.InstanceId!).sort();
      return inService.length === 3 ? inService : undefined;
    }, 60_000);
    await env.asg.send(new autoscaling.SetInstanceProtectionCommand({ AutoScalingGroupName: group, InstanceIds: ids, ProtectedFromScaleIn: true }));
    // A node per instance, as the kubelet would have registered it; only its providerID matters here.
    for (const [n, id] of ids.entries()) {
      const node = `release-${ns}-${n}`;
      releaseNodes.push(node);
      await applyYaml(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node }, spec: { providerID: `aws:///us-east-1a/${id}` } }));
    }
    await rdbPod(gone, `${gone}-main-rdb-0`, releaseNodes[0]!, { state: 'rolled', rows: 0, flushed: true });
    await rdbPod(gone, `${gone}-main-rdb-1`, releaseNodes[1]!, { state: 'rolled', rows: 512, flushed: false });
    await rdbPod(gone, `${gone}-main-rdb-2`, releaseNodes[2]!, { state: 'live', rows: 0, flushed: true });
  }, 120_000);

  test('without --yes it is a dry run that names each server and changes nothing', async () => {
    const r = await kdb('release', gone, '-n', ns);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`KdbCluster ${ns}/${gone} is gone`);
    expect(r.stdout).toContain(`refused ${ids[1]} (${group}): pod ${gone}-main-rdb-1 holds 512 rows not written down`);
    expect(r.stdout).toContain(`would unprotect and terminate ${ids[0]} (${group}, node ${releaseNodes[0]}) with decrement`);
    expect(r.stdout).toContain(`would unprotect and terminate ${ids[2]} (${group}, node ${releaseNodes[2]}) with decrement`);
    expect(r.stdout).toContain('dry run: nothing was changed');
    const g = await rawGroup(env!, group);
    expect(g.DesiredCapacity).toBe(3);
    expect((g.Instances ?? []).filter((i) => i.ProtectedFromScaleIn).length).toBe(3);
  }, 60_000);

  test('--yes terminates the flushed ones with decrement, keeps the one holding rows protected, and fails naming it', async () => {
    const r = await kdb('release', gone, '-n', ns, '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('1 refused: their RDBs still hold data');
    const g = await rawGroup(env!, group);
    expect(g.DesiredCapacity).toBe(1);
    const left = (g.Instances ?? []).filter((i) => !/^Terminat/.test(i.LifecycleState ?? ''));
    expect(left.map((i) => [i.InstanceId, i.ProtectedFromScaleIn])).toEqual([[ids[1], true]]);
    // Something of the cluster is still on the group: its owner tag stays so the operator (or a later release) can finish.
    expect(g.Tags?.find((t) => t.Key === 'kdb-operator.dev/owner')?.Value).toBe(`${ns}/${gone}`);
    // Run again: nothing new to do, the refusal stands, desired does not drop twice.
    const again = await kdb('release', gone, '-n', ns, '--yes');
    expect(again.code).toBe(1);
    expect((await rawGroup(env!, group)).DesiredCapacity).toBe(1);
  }, 120_000);

  test('once the last RDB reports its data written down, release frees its server and the group', async () => {
    await rdbPod(gone, `${gone}-main-rdb-1`, releaseNodes[1]!, { state: 'rolled', rows: 0, flushed: true });
    const r = await kdb('release', gone, '-n', ns, '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${group}: owner tag removed`);
    const g = await rawGroup(env!, group);
    expect(g.DesiredCapacity).toBe(0);
    expect(g.Tags?.some((t) => t.Key === 'kdb-operator.dev/owner')).toBe(false);
  }, 120_000);
});

describe('report writes a support bundle and no secret', () => {
  test('cluster, events and pods land in the bundle; a Secret-backed variable is named, its value is not', async () => {
    await kubectl('create', 'secret', 'generic', 'kdb-credentials', '-n', ns, `--from-literal=password=${SECRET_VALUE}`);
    await rdbPod(name, `${name}-main-rdb-0`, releaseNodes[0] ?? 'nowhere', { state: 'live', rows: 3, flushed: false }, {
      env: [{ name: 'KDB_PASSWORD', valueFrom: { secretKeyRef: { name: 'kdb-credentials', key: 'password' } } }],
    });
    await applyYaml(JSON.stringify({
      apiVersion: 'v1', kind: 'Event',
      metadata: { name: `${name}.report-test`, namespace: ns },
      involvedObject: { apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', name, namespace: ns },
      reason: 'ScaledOut', message: 'raised desired capacity to 2', type: 'Normal',
    }));
    // An operator pod whose log the bundle must carry (the chart may not be installed here).
    const logLine = `operator log line ${Date.now().toString(36)}`;
    await applyYaml(JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'fake-operator', namespace: ns, labels: { 'app.kubernetes.io/name': 'kdb-operator' } },
      spec: { containers: [{ name: 'operator', image: 'busybox', command: ['sh', '-c', `echo '${logLine}'; exec sleep 3600`] }] },
    }));
    await waitFor('the fake operator pod to run and log its line', async () =>
      (await kubectl('logs', '-n', ns, 'fake-operator').catch(() => '')).includes(logLine), 90_000);
    const dir = join(mkdtempSync(join(tmpdir(), 'kdb-report-')), 'bundle');
    const r = await kdb('report', name, '-n', ns, '-o', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`wrote ${dir}: cluster.json, events.json \\(\\d+\\), pods.json \\(1\\), operator-logs \\((\\d+) of \\1 pods\\)`));
    expect(readFileSync(join(dir, 'operator-logs', 'fake-operator.log'), 'utf8')).toContain(logLine);
    const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
    expect(read('cluster.json').metadata.name).toBe(name);
    expect(read('cluster.json').status.pools[0].live).toBe('main-rdb-0');
    // An operator running on this stack may add its own Events about the cluster; ours must be there.
    expect(read('events.json').map((e: { reason: string }) => e.reason)).toContain('ScaledOut');
    const pods = read('pods.json');
    expect(pods.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([`${name}-main-rdb-0`]);
    expect(JSON.stringify(pods)).toContain('kdb-credentials');
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name), 'utf8')).not.toContain(SECRET_VALUE);
  }, 60_000);
});
