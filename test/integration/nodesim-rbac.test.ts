// A simulated pod authenticates as its own ServiceAccount with the token the
// kubelet stand-in mounts (TokenRequest, bound to the pod), and RBAC applies.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { core, createNamespace, deleteNamespace, podLog, rbac, waitForPod } from './nodesim-env.ts';

let ns: string;

// Runs inside the pod: in-cluster credentials only, as any client library would use them.
const script = `
const fs = require('fs');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount/';
const token = fs.readFileSync(dir + 'token', 'utf8');
const ca = fs.readFileSync(dir + 'ca.crt');
const ns = fs.readFileSync(dir + 'namespace', 'utf8');
const base = 'https://' + process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT;
const call = (method, path, body) => new Promise((resolve, reject) => {
  const req = require('https').request(base + path, { method, ca, headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' } }, (res) => {
    let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve({ code: res.statusCode, body: b }));
  });
  req.on('error', reject); req.end(body);
});
(async () => {
  const who = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
  const get = await call('GET', '/api/v1/namespaces/' + ns + '/configmaps/allowed');
  const secrets = await call('GET', '/api/v1/namespaces/' + ns + '/secrets');
  console.log(JSON.stringify({ user: JSON.parse(who.body).status.userInfo.username, get: get.code, secrets: secrets.code }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

beforeAll(async () => {
  ns = await createNamespace('nodesim-rbac');
}, 60_000);

afterAll(async () => {
  await deleteNamespace(ns);
}, 90_000);

describe('service account tokens in simulated pods', () => {
  it('a pod calls the API as its own ServiceAccount: allowed where its Role grants, 403 elsewhere', async () => {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'allowed' }, data: { k: 'v' } } });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'caller' },
        spec: { serviceAccountName: 'reader', restartPolicy: 'Never', containers: [{ name: 'node', image: 'node', command: ['node', '-e', script] }] },
      },
    });
    const done = await waitForPod(ns, 'caller', 'finished', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
    const out = podLog(ns, 'caller', 'node');
    expect(done.status?.phase).toBe('Succeeded');
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ user: `system:serviceaccount:${ns}:reader`, get: 200, secrets: 403 });
  }, 60_000);
});
