import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../lib/stack.ts';
import { binDir } from '../e2e/trading-day.ts';
import { API_GROUP, ANNOTATION, CONDITION } from '../../operator/src/agent/report.ts';
import { AGENT_PERMISSIONS, OPERATOR_PERMISSIONS, grantKeys, type Permission } from '../../operator/src/kube/permissions.ts';

// helm lint and helm template of the chart, with the helm built from source
// into the stack's cache. The e2e test installs the same chart for real.
const run = promisify(execFile);
// helm template of the whole chart has taken over 5 s (Jest's default) on a loaded 2-core machine.
jest.setTimeout(60_000);
const chart = join(repoRoot, 'charts/kdb-operator');
const helm = async (...args: string[]) => (await run(join(await binDir(), 'helm'), args, { maxBuffer: 8 << 20 })).stdout;

type Doc = { kind: string; metadata: { name: string; namespace?: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[]; spec?: any };
const render = async (...set: string[]): Promise<Doc[]> =>
  parseAllDocuments(await helm('template', 'kdb-operator', chart, '-n', 'kdb-system', '--include-crds', ...set.flatMap((s) => ['--set', s])))
    .map((d) => d.toJSON() as Doc)
    .filter(Boolean);

test('helm lint passes', async () => {
  const out = await helm('lint', chart);
  expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
});

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
const keysOf = (rules: Rule[]): string[] =>
  [...new Set(rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))))].sort();
const tableKeys = (table: readonly Permission[], scope: Permission['scope']): string[] => [...grantKeys(table.filter((p) => p.scope === scope))].sort();

test('the ClusterRole grants exactly the cluster-wide calls of OPERATOR_PERMISSIONS, nothing more or less', async () => {
  const docs = await render();
  const roles = docs.filter((d) => d.kind === 'ClusterRole');
  expect(roles.map((r) => r.metadata.name)).toEqual(['kdb-operator']);
  const rules = roles[0]!.rules as Rule[];
  expect(rules.every((r) => r.resourceNames === undefined)).toBe(true);
  expect(keysOf(rules)).toEqual(tableKeys(OPERATOR_PERMISSIONS, 'cluster'));
});

test('the Lease is granted in the release namespace only: get/update on its one name, create', async () => {
  const docs = await render();
  const role = docs.find((d) => d.kind === 'Role' && d.metadata.name === 'kdb-operator-leader-election')!;
  expect(role.metadata.namespace).toBe('kdb-system');
  const rules = role.rules as Rule[];
  const dep = docs.find((d) => d.kind === 'Deployment')!;
  const lease = dep.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'KDB_LEADER_ELECTION_LEASE').value;
  expect(lease).toBe('kdb-operator-leader');
  expect(rules.filter((r) => r.resourceNames !== undefined).map((r) => r.resourceNames)).toEqual([[lease]]);
  expect(keysOf(rules.filter((r) => r.resourceNames !== undefined))).toEqual(tableKeys(OPERATOR_PERMISSIONS, 'leader-lease'));
  expect(keysOf(rules.filter((r) => r.resourceNames === undefined))).toEqual(tableKeys(OPERATOR_PERMISSIONS, 'namespace'));
  const binding = docs.find((d) => d.kind === 'RoleBinding' && d.metadata.name === 'kdb-operator-leader-election') as any;
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kdb-operator', namespace: 'kdb-system' }]);
  // Leader election off: no Lease rights at all.
  expect((await render('leaderElection.enabled=false')).some((d) => d.metadata.name === 'kdb-operator-leader-election')).toBe(false);
});

test('the agent may only read and patch pods in its namespaces, exactly AGENT_PERMISSIONS', async () => {
  const docs = await render('agent.namespaces={markets,fx}');
  const roles = docs.filter((d) => d.kind === 'Role' && d.metadata.name === 'kdb-rdb-agent');
  expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['fx', 'kdb-system', 'markets']);
  for (const r of roles) {
    expect(r.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
    ]);
    expect(keysOf(r.rules as Rule[])).toEqual(tableKeys(AGENT_PERMISSIONS, 'namespace'));
  }
});

test("the admission policy names the agent's own annotations and condition prefix, and binds to the agent namespaces", async () => {
  const docs = await render('agent.namespaces={markets,fx}');
  const vap = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy')!;
  const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding')!;
  expect(vap.metadata.name).toBe('kdb-operator-agent-reports');
  expect(binding.spec.policyName).toBe('kdb-operator-agent-reports');
  const text = JSON.stringify(vap.spec);
  for (const a of Object.values(ANNOTATION)) expect(text).toContain(`'${a}'`);
  const prefix = `${API_GROUP}/`;
  for (const c of Object.values(CONDITION)) expect(c.startsWith(prefix)).toBe(true);
  expect(text).toContain(`startsWith('${prefix}')`);
  expect(vap.spec.matchConditions[0].expression).toContain(':kdb-rdb-agent$');
  expect(vap.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods', 'pods/status'] }]);
  expect(binding.spec.matchResources.namespaceSelector.matchExpressions[0].values.sort()).toEqual(['fx', 'kdb-system', 'markets']);
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
