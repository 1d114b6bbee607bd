import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { PORTS, repoRoot, stackDir } from '../lib/stack.ts';
import { binDir, waitFor } from '../e2e/trading-day.ts';
import { API_GROUP, ANNOTATION, CONDITION } from '../../operator/src/agent/report.ts';
import { AGENT_PERMISSIONS, OPERATOR_PERMISSIONS, grantKeys, type Permission } from '../../operator/src/kube/permissions.ts';

// helm lint and helm template of the chart, with the helm built from source
// into the stack's cache; then the chart's defaults installed on the stack
// (two replicas, budget, helm test) in a namespace enforcing the restricted
// Pod Security profile. The e2e test installs the same chart for its days.
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

test('the defaults: two replicas spread over nodes, a budget of one, a metrics Service and a helm test hook', async () => {
  const docs = await render();
  const dep = docs.find((d) => d.kind === 'Deployment')!;
  expect(dep.spec.replicas).toBe(2);
  expect(dep.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
  const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget')!;
  expect(pdb.spec).toEqual({ minAvailable: 1, selector: dep.spec.selector });
  expect(docs.find((d) => d.kind === 'Service')!.metadata.name).toBe('kdb-operator-metrics');
  const hooks = docs.filter((d) => (d.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'] === 'test');
  expect(hooks.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Pod/kdb-operator-test-operator-answers']);
  expect((await render('replicas=1')).some((d) => d.kind === 'PodDisruptionBudget')).toBe(false);
});

describe('installed with its defaults on the stack', () => {
  // Its own release and namespace, so nothing else on the shared stack is
  // touched: cluster-wide names carry the release name (ClusterRole, admission
  // policy); PriorityClasses are left to the stack's own install; an EKS
  // cluster name that resolves no node group, so a stray KdbCluster cannot scale one.
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const release = `chart-${suffix}`;
  const ns = `chart-sys-${suffix}`;
  const onStack = (...args: string[]) => helm('--kubeconfig', join(stackDir(), 'kubeconfig'), ...args);
  // Made in beforeAll: the template tests above run without a stack.
  let core: k8s.CoreV1Api, apps: k8s.AppsV1Api, policy: k8s.PolicyV1Api, coordination: k8s.CoordinationV1Api;

  beforeAll(async () => {
    const kc = adminKubeConfig();
    [core, apps, policy, coordination] = [kc.makeApiClient(k8s.CoreV1Api), kc.makeApiClient(k8s.AppsV1Api), kc.makeApiClient(k8s.PolicyV1Api), kc.makeApiClient(k8s.CoordinationV1Api)];
    const kubectl = async (...args: string[]) =>
      run(join(await binDir(), 'kubectl'), ['--kubeconfig', join(stackDir(), 'kubeconfig'), ...args], { maxBuffer: 8 << 20 });
    // The operator's informers sync (and /readyz answers ok) only once the CRD is served.
    await kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds/kdbclusters.kdb-operator.dev.yaml'));
    await core.createNamespace({ body: { metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'aws-credentials' }, stringData: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } } });
    await onStack('install', release, chart, '-n', ns, '--skip-crds',
      '--set', `aws.endpoint=http://127.0.0.1:${PORTS.awsEndpoint}`, '--set', 'aws.credentialsSecret=aws-credentials',
      '--set', 'nodeSelector.eks\\.amazonaws\\.com/nodegroup=system', '--set', `eksClusterName=chart-test-${suffix}`,
      '--set', 'priorityClasses.create=false', '--wait', '--timeout', '180s');
  }, 240_000);

  afterAll(async () => {
    if (!core) return;
    await onStack('uninstall', release, '-n', ns, '--wait', '--timeout', '60s').catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }, 120_000);

  test('both replicas are Ready, one holds the Lease and the budget allows one disruption', async () => {
    const dep = await apps.readNamespacedDeployment({ name: release, namespace: ns });
    expect(dep.status?.readyReplicas).toBe(2);
    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/name=kdb-operator` })).items;
    const holder = await waitFor('an operator pod to take the lease', async () =>
      (await coordination.readNamespacedLease({ name: `${release}-leader`, namespace: ns })).spec?.holderIdentity || undefined);
    expect(pods.map((p) => p.metadata!.name)).toContain(holder);
    // The standby is Ready too: its /readyz asks for synced informers, not for the Lease; else the budget would block drains.
    for (const p of pods) expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const pdb = await waitFor('the disruption controller to count the budget', async () => {
      const b = await policy.readNamespacedPodDisruptionBudget({ name: release, namespace: ns });
      return b.status?.currentHealthy === 2 ? b : undefined;
    });
    expect(pdb.status).toMatchObject({ currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1 });
  }, 180_000);

  test('helm test: a restricted pod reaches the operator through its Service and finds it live, ready and serving metrics', async () => {
    const out = await onStack('test', release, '-n', ns, '--timeout', '120s');
    expect(out).toMatch(new RegExp(`TEST SUITE:\\s+${release}-test-operator-answers[\\s\\S]*Phase:\\s+Succeeded`));
  }, 180_000);
});
