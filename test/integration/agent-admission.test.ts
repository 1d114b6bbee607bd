// The chart's admission policy on the real API server: an RDB agent's token,
// bound to its pod, may write its reports on that pod and nothing else. Also
// the operator's RBAC as the chart installs it. The chart is installed as a
// release of its own (unique name and namespaces, no CRD, no operator pod) and
// uninstalled after, beside whatever the e2e installed.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ANNOTATION, CONDITION, reportFor } from '../../operator/src/agent/report.ts';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { RdbStatusFile } from '../../operator/src/api/rdb-status.ts';
import { STATUS_DIR, STATUS_FILE, rdbPod } from '../../operator/src/specs/rdb.ts';
import { KubeApiError, RestClient, RestKubeApi, Resources, httpsTransport, loadKubeConfig, type KubeApi, type KubeObject, type V1Pod } from '../../operator/src/kube/index.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { repoRoot, stackDir } from '../lib/stack.ts';
import { binDir, waitFor } from '../e2e/trading-day.ts';
import { podLog } from './nodesim-env.ts';

const run = promisify(execFile);
const kubeconfig = join(stackDir(), 'kubeconfig');
const tool = async (name: 'helm' | 'kubectl', ...args: string[]): Promise<string> =>
  (await run(join(await binDir(), name), ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 })).stdout;

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const release = `adm-${suffix}`;
const releaseNs = `adm-sys-${suffix}`;
const ns = `adm-rdb-${suffix}`;
const AGENT = 'kdb-rdb-agent';
const policy = `${release}-agent-reports`;

const kc = adminKubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const admin: KubeApi = new RestKubeApi(new RestClient({ transport: loadKubeConfig({ kubeconfigPath: kubeconfig }).transport, maxRetries: 0 }));
const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);

/** The project's own client (the agent's), authenticating with a bearer token. */
const apiWithToken = (token: string): KubeApi => {
  const cluster = kc.getCurrentCluster()!;
  const transport = httpsTransport({ server: cluster.server, ca: Buffer.from(cluster.caData ?? '', 'base64'), token: () => Promise.resolve(token) });
  return new RestKubeApi(new RestClient({ transport, maxRetries: 0 }));
};

const tokenFor = async (pod?: V1Pod): Promise<string> => {
  const out = await core.createNamespacedServiceAccountToken({
    name: AGENT,
    namespace: ns,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: [],
        expirationSeconds: 600,
        ...(pod ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! } } : {}),
      },
    },
  });
  if (!out.status?.token) throw new Error('TokenRequest returned no token');
  return out.status.token;
};

// Pods that never run (no node matches): the policy is about writes to the objects.
const podBody = (name: string, serviceAccountName: string, role: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { 'kdb-operator.dev/cluster': 'markets', 'kdb-operator.dev/role': role }, annotations: { 'example.com/owner': 'team' } },
  spec: {
    serviceAccountName,
    automountServiceAccountToken: false,
    nodeSelector: { 'kdb-operator.dev/test': 'no-such-node' },
    containers: [{ name: 'rdb', image: 'kdb-rdb:1' }],
  },
});

let podA: V1Pod;
let podB: V1Pod;
let tickerplant: V1Pod;
let asA: KubeApi;
const refusals: Record<string, string> = {};

const podRef = (name: string) => ({ ...Resources.Pod, namespace: ns, name });
const read = async (name: string): Promise<V1Pod> => {
  const p = await admin.get<V1Pod>(podRef(name));
  if (!p) throw new Error(`pod ${ns}/${name} is gone`);
  return p;
};

/** The call must fail with the API server's refusal; returns and records its message. */
const refused = async (what: string, call: Promise<unknown>, by: RegExp): Promise<string> => {
  const err = await call.then(() => undefined, (e: unknown) => e);
  if (err === undefined) throw new Error(`${what}: the API server accepted it`);
  expect(err).toBeInstanceOf(KubeApiError);
  const e = err as KubeApiError;
  expect(e.statusCode).toBe(403);
  expect(e.message).toMatch(by);
  refusals[what] = e.message;
  return e.message;
};

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await tool('helm', 'install', release, join(repoRoot, 'charts/kdb-operator'), '-n', releaseNs, '--create-namespace', '--skip-crds',
    '--set', 'replicas=0', '--set', `agent.namespaces={${ns}}`, '--wait', '--timeout', '60s');
  podA = await admin.create(podBody('markets-main-rdb-1', AGENT, 'rdb'));
  podB = await admin.create(podBody('markets-main-rdb-2', AGENT, 'rdb'));
  tickerplant = await admin.create(podBody('markets-tickerplant-0', 'default', 'tickerplant'));
  asA = apiWithToken(await tokenFor(podA));
  // The policy reaches the API server's admission through an informer: wait until it refuses.
  // Each probe writes a new value: once one got through before the policy was
  // in force, the same value again would be no change, which the policy allows.
  let probe = 0;
  await waitFor('the admission policy to be in force', async () =>
    (await asA.mergePatch(podRef(podA.metadata!.name!), { metadata: { annotations: { 'example.com/probe': `${suffix}-${++probe}` } } }).then(() => false, (e: KubeApiError) => e.statusCode === 403)) || undefined,
  // Seen to take over 30 s on a loaded 2-core machine just after the stack came up.
  90_000);
}, 180_000);

afterAll(async () => {
  const out = join(repoRoot, 'out', 'agent-admission');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'refusals.json'), `${JSON.stringify(refusals, null, 2)}\n`);
  console.log(`refused on the real API server (${Object.keys(refusals).length}):\n${Object.entries(refusals).map(([k, v]) => `- ${k}: ${v}`).join('\n')}`);
  await tool('helm', 'uninstall', release, '-n', releaseNs, '--wait', '--timeout', '60s').catch(() => undefined);
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await core.deleteNamespace({ name: releaseNs }).catch(() => undefined);
}, 120_000);

describe('the RDB agent with a token bound to its pod', () => {
  test('the chart installed a type-checked policy and its binding (admissionregistration.k8s.io/v1)', async () => {
    const vap = await waitFor('the policy type-checked', async () => {
      const p = await admission.readValidatingAdmissionPolicy({ name: policy });
      return p.status?.observedGeneration === p.metadata?.generation ? p : undefined;
    }, 30_000);
    expect(vap.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
    const binding = await admission.readValidatingAdmissionPolicyBinding({ name: policy });
    expect(binding.spec?.validationActions).toEqual(['Deny']);
  });

  test('writes its reports on its own pod: the three annotations, then its conditions', async () => {
    const name = podA.metadata!.name!;
    const reported = new Date().toISOString();
    const patched = await asA.mergePatch<V1Pod>(podRef(name), {
      metadata: { annotations: { [ANNOTATION.memoryPercent]: '42', [ANNOTATION.rdbStatus]: '{"state":"live"}', [ANNOTATION.reportedAt]: reported } },
    });
    const conds = [
      { type: CONDITION.live, status: 'True' as const, reason: 'Live', message: 'live' },
      { type: CONDITION.dataFlushed, status: 'False' as const, reason: 'Live', message: 'not flushed' },
    ];
    const res = await asA.setPodConditions(patched, conds);
    expect(res.changed).toBe(true);
    // And a second report: a change of its own condition is a write too.
    await asA.setPodConditions(res.pod, [{ ...conds[0]!, status: 'False', reason: 'Rolled' }]);
    const now = await read(name);
    expect(now.metadata?.annotations?.[ANNOTATION.memoryPercent]).toBe('42');
    expect(now.metadata?.annotations?.[ANNOTATION.reportedAt]).toBe(reported);
    expect(now.status?.conditions?.find((c) => c.type === CONDITION.live)?.status).toBe('False');
    expect(now.status?.conditions?.find((c) => c.type === CONDITION.dataFlushed)?.status).toBe('False');
  });

  test("cannot write another RDB pod's reports, or the tickerplant's", async () => {
    const b = podB.metadata!.name!;
    await refused('pod B annotations', asA.mergePatch(podRef(b), { metadata: { annotations: { [ANNOTATION.memoryPercent]: '99' } } }), /may patch only its own pod, not .*markets-main-rdb-2/);
    await refused('pod B DataFlushed=True', asA.setPodConditions(await read(b), [{ type: CONDITION.dataFlushed, status: 'True', reason: 'Flushed' }]), /may patch only its own pod/);
    const tp = tickerplant.metadata!.name!;
    await refused('tickerplant annotations', asA.mergePatch(podRef(tp), { metadata: { annotations: { [ANNOTATION.rdbStatus]: '{}' } } }), /may patch only its own pod, not .*markets-tickerplant-0/);
    await refused('tickerplant image', asA.strategicMergePatch(podRef(tp), { spec: { containers: [{ name: 'rdb', image: 'evil:1' }] } }), /may patch only its own pod/);
    expect((await read(b)).metadata?.annotations?.[ANNOTATION.memoryPercent]).toBeUndefined();
    expect((await read(b)).status?.conditions?.find((c) => c.type === CONDITION.dataFlushed)).toBeUndefined();
    expect((await read(tp)).spec?.containers[0]?.image).toBe('kdb-rdb:1');
  });

  test('cannot change its own labels, image, other annotations, other conditions or status fields', async () => {
    const a = podA.metadata!.name!;
    await refused('own label change', asA.mergePatch(podRef(a), { metadata: { labels: { 'kdb-operator.dev/role': 'tickerplant' } } }), /may not change its pod's labels/);
    await refused('own label removal', asA.mergePatch(podRef(a), { metadata: { labels: { 'kdb-operator.dev/cluster': null } } }), /may not change its pod's labels/);
    await refused('own label removal through pods/status', asA.mergePatch(podRef(a), { metadata: { labels: { 'kdb-operator.dev/cluster': null } } }, { subresource: 'status' }), /labels/);
    await refused('own image', asA.strategicMergePatch(podRef(a), { spec: { containers: [{ name: 'rdb', image: 'evil:1' }] } }), /may not change its pod's spec/);
    await refused('another annotation', asA.mergePatch(podRef(a), { metadata: { annotations: { 'example.com/owner': 'mallory' } } }), /may change only the annotations .*refused: example.com\/owner/);
    await refused('removing another annotation', asA.mergePatch(podRef(a), { metadata: { annotations: { 'example.com/owner': null } } }), /refused: example.com\/owner/);
    await refused('a finalizer', asA.mergePatch(podRef(a), { metadata: { finalizers: ['example.com/hold'] } }), /finalizers or owner references/);
    const pod = await read(a);
    await refused('Ready condition', asA.setPodConditions(pod, [{ type: 'Ready', status: 'True', reason: 'Forged' }]), /only pod conditions of type kdb-operator.dev\/\*/);
    await refused('own condition plus phase', asA.strategicMergePatch(podRef(a), { status: { phase: 'Failed', conditions: [{ type: CONDITION.live, status: 'True' }] } }, { subresource: 'status' }), /only its conditions/);
    const after = await read(a);
    expect(after.metadata?.labels).toEqual(podA.metadata?.labels);
    expect(after.spec?.containers[0]?.image).toBe('kdb-rdb:1');
    expect(after.metadata?.annotations?.['example.com/owner']).toBe('team');
    expect(after.status?.conditions?.find((c) => c.type === 'Ready')).toBeUndefined();
    expect(after.status?.phase).toBe('Pending');
  });

  test('a token not bound to a pod writes nothing', async () => {
    const unbound = apiWithToken(await tokenFor());
    await refused('unbound token, own annotations', unbound.mergePatch(podRef(podA.metadata!.name!), { metadata: { annotations: { [ANNOTATION.memoryPercent]: '1' } } }), /not bound to a pod/);
  });

  test("inside a pod the node simulator runs, the agent's mounted token writes its own report and is refused on another pod", async () => {
    // The same token the agent container gets: TokenRequest bound to the pod, minted by the kubelet stand-in.
    const script = `
const fs = require('fs');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount/';
const token = fs.readFileSync(dir + 'token', 'utf8');
const ca = fs.readFileSync(dir + 'ca.crt');
const ns = fs.readFileSync(dir + 'namespace', 'utf8');
const base = 'https://' + process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT;
const patch = (pod, body) => new Promise((resolve, reject) => {
  const req = require('https').request(base + '/api/v1/namespaces/' + ns + '/pods/' + pod, { method: 'PATCH', ca,
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/merge-patch+json' } }, (res) => {
    let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', reject); req.end(JSON.stringify(body));
});
(async () => {
  const own = await patch(process.env.POD_NAME, { metadata: { annotations: { '${ANNOTATION.memoryPercent}': '7' } } });
  const other = await patch('${podB.metadata!.name!}', { metadata: { annotations: { '${ANNOTATION.memoryPercent}': '7' } } });
  const label = await patch(process.env.POD_NAME, { metadata: { labels: { 'kdb-operator.dev/role': 'tickerplant' } } });
  console.log(JSON.stringify({ own, other, label }));
})().catch((e) => { console.error(e); process.exit(1); });
`;
    const name = 'agent-in-pod';
    await admin.create<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels: { 'kdb-operator.dev/role': 'rdb' } },
      spec: {
        serviceAccountName: AGENT,
        restartPolicy: 'Never',
        containers: [{ name: 'agent', image: 'node', command: ['node', '-e', script], env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
      },
    });
    const done = await waitFor('the in-pod agent to finish', async () => {
      const p = await read(name);
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
    }, 90_000);
    const log = podLog(ns, name, 'agent');
    expect(done.status?.phase).toBe('Succeeded');
    expect(JSON.parse(log.trim().split('\n').pop()!)).toEqual({ own: 200, other: 403, label: 403 });
    expect((await read(name)).metadata?.annotations?.[ANNOTATION.memoryPercent]).toBe('7');
  }, 120_000);

  test('the Go agent, as RDB pods run it (ghcr.io/kdb-operator/agent, /kdb-agent), publishes a status file through the policy', async () => {
    // The agent container and its volumes exactly as the operator builds them; beside it a
    // shell in the RDB's place writes a flushed RDB's status file, as the RDB would.
    const cluster = KdbCluster.parse({
      apiVersion: 'kdb-operator.dev/v1alpha1',
      kind: 'KdbCluster',
      metadata: { name: 'markets', namespace: ns, uid: '00000000-0000-0000-0000-0000000000a2' },
      spec: { rdbPools: [{ name: 'main', memory: '256Mi' }], storage: { efs: { fileSystemId: 'fs-00000000' } } },
    });
    const built = rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 7, agentServiceAccount: AGENT }).spec!;
    const agent = built.containers.find((c) => c.name === 'agent')!;
    expect(agent.image).toBe('ghcr.io/kdb-operator/agent:0.1.0');
    const name = 'markets-main-rdb-7';
    const status = {
      version: 1,
      name,
      pool: 'main',
      state: 'flushed',
      memory: { usedBytes: 64 << 20, limitBytes: 256 << 20 },
      window: { firstI: 100, lastI: 250, lastProcessed: 250 },
      rows: {},
      day: '2026-12-01',
      flushed: [{ day: '2026-12-01', rows: 150, path: '/staging/2026-12-01/markets-main-rdb-7.slice.jsonl' }],
    };
    const write = `f=${STATUS_FILE}; printf '%s' '${JSON.stringify(status).slice(0, -1)},"updatedAt":"'"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"'"}' > $f.tmp && mv $f.tmp $f; exec sleep 600`;
    await admin.create<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels: { 'kdb-operator.dev/role': 'rdb' } },
      spec: {
        serviceAccountName: AGENT,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'rdb', image: 'shell', command: ['sh', '-c', write], volumeMounts: [{ name: 'status', mountPath: STATUS_DIR }] }, agent],
        volumes: built.volumes!.filter((v) => v.name === 'status' || v.name === 'kube-api-access'),
      },
    });
    const expected = reportFor(RdbStatusFile.parse({ ...status, updatedAt: new Date().toISOString() }));
    const reported = await waitFor('the Go agent to publish its report', async () => {
      const p = await read(name);
      const flushed = p.status?.conditions?.find((c) => c.type === CONDITION.dataFlushed);
      return flushed?.status === 'True' ? p : undefined;
    }, 90_000);
    const log = podLog(ns, name, 'agent');
    // The same report the TypeScript rules make of that file: conditions, memory, summary.
    for (const c of expected.conditions) {
      expect(reported.status?.conditions?.find((x) => x.type === c.type)).toMatchObject({ status: c.status, reason: c.reason });
    }
    const a = reported.metadata?.annotations ?? {};
    expect(a[ANNOTATION.memoryPercent]).toBe(String(expected.memoryPercent));
    expect(JSON.parse(a[ANNOTATION.rdbStatus]!)).toEqual(expected.summary);
    expect(log).not.toMatch(/403|forbidden/i);
    await admin.delete(podRef(name)).catch(() => undefined);
  }, 120_000);

  test('other users are not subject to the policy: an admin still edits labels', async () => {
    const p = await admin.mergePatch<V1Pod>(podRef(podB.metadata!.name!), { metadata: { labels: { 'example.com/checked': 'yes' } } });
    expect(p.metadata?.labels?.['example.com/checked']).toBe('yes');
  });
});

describe("the operator's RBAC as the chart installs it", () => {
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const operator = `system:serviceaccount:${releaseNs}:${release}`;
  /** A SubjectAccessReview for the operator's ServiceAccount: what RBAC decides, no discovery involved. */
  const can = async (verb: string, resource: string, o: { group?: string; subresource?: string; namespace?: string; name?: string } = {}): Promise<boolean> => {
    const r = await authz.createSubjectAccessReview({
      body: {
        spec: {
          user: operator,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${releaseNs}`, 'system:authenticated'],
          resourceAttributes: { verb, resource, group: o.group ?? '', subresource: o.subresource ?? '', namespace: o.namespace ?? '', name: o.name ?? '' },
        },
      },
    });
    return r.status?.allowed === true;
  };
  const coordination = 'coordination.k8s.io';

  test('its own Lease in its namespace only: get/update by name, create; no other Lease anywhere', async () => {
    expect(await can('get', 'leases', { group: coordination, namespace: releaseNs, name: `${release}-leader` })).toBe(true);
    expect(await can('update', 'leases', { group: coordination, namespace: releaseNs, name: `${release}-leader` })).toBe(true);
    expect(await can('create', 'leases', { group: coordination, namespace: releaseNs })).toBe(true);
    expect(await can('update', 'leases', { group: coordination, namespace: releaseNs, name: 'another-lease' })).toBe(false);
    expect(await can('update', 'leases', { group: coordination, namespace: 'kube-node-lease', name: 'some-node' })).toBe(false);
    expect(await can('update', 'leases', { group: coordination, namespace: 'kube-system', name: `${release}-leader` })).toBe(false);
    expect(await can('create', 'leases', { group: coordination, namespace: 'kube-system' })).toBe(false);
    expect(await can('list', 'leases', { group: coordination })).toBe(false);
  });

  test('no whole-KdbCluster update, no volume delete, no secrets; what the code calls is there', async () => {
    const kdb = 'kdb-operator.dev';
    expect(await can('update', 'kdbclusters', { group: kdb, namespace: ns, name: 'markets' })).toBe(false);
    expect(await can('update', 'kdbclusters', { group: kdb, subresource: 'status', namespace: ns, name: 'markets' })).toBe(false);
    expect(await can('patch', 'kdbclusters', { group: kdb, subresource: 'status', namespace: ns, name: 'markets' })).toBe(true);
    expect(await can('patch', 'kdbclusters', { group: kdb, namespace: ns, name: 'markets' })).toBe(true);
    expect(await can('delete', 'persistentvolumes', { name: 'pv-1' })).toBe(false);
    expect(await can('patch', 'persistentvolumes', { name: 'pv-1' })).toBe(true);
    expect(await can('get', 'secrets', { namespace: ns })).toBe(false);
    expect(await can('list', 'poddisruptionbudgets', { group: 'policy' })).toBe(false);
    expect(await can('create', 'events', { group: 'events.k8s.io', namespace: ns })).toBe(false);
    expect(await can('delete', 'pods', { namespace: ns, name: 'markets-main-rdb-1' })).toBe(true);
  });

  test("server-side apply of a missing object is a patch the API server also checks create for: the operator's token applies the Service and the PDB", async () => {
    const token = (await core.createNamespacedServiceAccountToken({ name: release, namespace: releaseNs, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status?.token;
    const asOperator = apiWithToken(token ?? '');
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'applied-tp', namespace: ns }, spec: { ports: [{ port: 5010 }] } };
    const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'applied-pdb', namespace: ns }, spec: { maxUnavailable: 0, selector: { matchLabels: { a: 'b' } } } };
    expect((await asOperator.apply<KubeObject>(svc)).metadata?.uid).toBeTruthy();
    expect((await asOperator.apply<KubeObject>(pdb)).metadata?.uid).toBeTruthy();
    // Without create, the same apply is refused (measured with a Role of patch alone).
    const sa = `patch-only-${suffix}`;
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: sa }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['patch'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] } });
    const patchOnly = apiWithToken((await core.createNamespacedServiceAccountToken({ name: sa, namespace: ns, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status?.token ?? '');
    await waitFor('the patch-only Role in force', async () => (await patchOnly.apply<KubeObject>(svc).then(() => true, () => false)) || undefined, 15_000);
    await refused('server-side apply of a missing Service with patch alone', patchOnly.apply<KubeObject>({ ...svc, metadata: { name: 'applied-tp-2', namespace: ns } }), /cannot create resource "services"/);
  });
});
