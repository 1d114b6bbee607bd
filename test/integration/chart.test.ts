import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../lib/stack.ts';
import { binDir } from '../e2e/trading-day.ts';

// helm lint and helm template of the chart, with the helm built from source
// into the stack's cache. The e2e test installs the same chart for real.
const run = promisify(execFile);
const chart = join(repoRoot, 'charts/kdb-operator');
const helm = async (...args: string[]) => (await run(join(await binDir(), 'helm'), args, { maxBuffer: 8 << 20 })).stdout;

type Doc = { kind: string; metadata: { name: string; namespace?: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[]; spec?: any };
const render = async (...set: string[]): Promise<Doc[]> =>
  parseAllDocuments(await helm('template', 'kdb-operator', chart, '-n', 'kdb-system', '--include-crds', ...set.flatMap((s) => ['--set', s])))
    .map((d) => d.toJSON() as Doc)
    .filter(Boolean);

test('helm lint passes', async () => {
  const out = await helm('lint', chart);
  expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('the operator ClusterRole grants exactly what the operator uses', async () => {
  const docs = await render();
  const role = docs.find((d) => d.kind === 'ClusterRole')!;
  const grants = new Set(role.rules!.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))));
  // Never anything cluster-wide like secrets or wildcard verbs.
  expect([...grants].some((g) => g.includes('*'))).toBe(false);
  expect([...grants].some((g) => g.includes('secrets'))).toBe(false);
  for (const g of ['kdb-operator.dev/kdbclusters/status:patch', '/pods:create', '/pods:delete', '/nodes:patch', 'coordination.k8s.io/leases:update', '/events:create'])
    expect(grants).toContain(g);
  expect(grants).not.toContain('/nodes:delete');
  expect(grants).not.toContain('/pods:update');
});

test('the agent may only read and patch pods in its namespaces', async () => {
  const docs = await render('agent.namespaces={markets,fx}');
  const roles = docs.filter((d) => d.kind === 'Role');
  expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['fx', 'kdb-system', 'markets']);
  for (const r of roles) expect(r.rules).toEqual([
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
    { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
  ]);
});

test('values reach the operator Deployment: region, endpoint, IRSA, replicas, node selector', async () => {
  const docs = await render('aws.region=eu-west-1', 'aws.endpoint=http://127.0.0.1:14566', 'replicas=2',
    'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/kdb', 'nodeSelector.eks\\.amazonaws\\.com/nodegroup=system');
  const dep = docs.find((d) => d.kind === 'Deployment')!;
  const env = Object.fromEntries(dep.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  expect(env).toMatchObject({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:14566', KDB_LEADER_ELECTION: 'true' });
  expect(dep.spec.replicas).toBe(2);
  expect(dep.spec.template.spec.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'system' });
  const sa = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name === 'kdb-operator') as any;
  expect(sa.metadata.annotations['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::1:role/kdb');
  expect(docs.some((d) => d.kind === 'CustomResourceDefinition')).toBe(true);
});
