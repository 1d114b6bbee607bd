// Each way a kubeconfig can carry credentials, against the real API server:
// what node:https handles (a token, a token file, CA files, skipped
// verification) and what goes to client-node (an exec plugin, as
// `aws eks get-token` is). The TLS check is real: a wrong CA fails.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient, loadKubeConfig, Resources, type KubeClient, type V1ConfigMap, type WatchEvent } from '../../operator/src/kube/index.ts';
import { stackDir, stackToken } from '../lib/stack.ts';
import { createNamespace, deleteNamespace, stackClient, testLogger, uniqueName } from './runtime-env.ts';

let dir: string;
let server: string;
let admin: KubeClient;
let ns: string;

const kubeconfig = (name: string, cluster: string, user: string): string => {
  const path = join(dir, name);
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
${cluster}
users:
- name: u
  user:
${user}
contexts:
- name: x
  context: { cluster: c, user: u, namespace: ${ns} }
current-context: x
`,
  );
  return path;
};

const indent = (lines: string[]): string => lines.map((l) => `    ${l}`).join('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-creds-'));
  admin = stackClient();
  server = admin.server;
  ns = await createNamespace(admin, 'kube-creds');
}, 30_000);

afterAll(async () => {
  await deleteNamespace(admin, ns);
  rmSync(dir, { recursive: true, force: true });
});

const listConfigMaps = async (path: string): Promise<{ names: string[]; client: string; namespace: string }> => {
  const loaded = loadKubeConfig({ kubeconfigPath: path });
  const kube = createKubeClient({ transport: loaded.transport, logger: testLogger(), maxRetries: 0 });
  const { items } = await kube.api.list<V1ConfigMap>(Resources.ConfigMap, { namespace: loaded.namespace });
  return { names: items.map((c) => c.metadata?.name ?? ''), client: loaded.client, namespace: loaded.namespace };
};

describe('kubeconfig credentials on the real API server', () => {
  it("a token file and a CA file, relative to the kubeconfig: node:https, and the token file is re-read (a rotated token takes effect)", async () => {
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(readCaData(), 'base64'));
    writeFileSync(join(dir, 'token'), stackToken('admin'));
    const path = kubeconfig('token-file', indent([`server: ${server}`, 'certificate-authority: ca.crt']), indent(['tokenFile: token']));
    const first = await listConfigMaps(path);
    expect(first).toMatchObject({ client: 'node:https', namespace: ns });
    expect(first.names).toContain('kube-root-ca.crt');

    const loaded = loadKubeConfig({ kubeconfigPath: path });
    const kube = createKubeClient({ transport: loaded.transport, logger: testLogger(), maxRetries: 0 });
    writeFileSync(join(dir, 'token'), stackToken('kdb-norights'));
    const err = await kube.api.list(Resources.ConfigMap, { namespace: ns }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 403 });
  });

  it('a watch over node:https sees a ConfigMap created after it started', async () => {
    const path = kubeconfig('watch', indent([`server: ${server}`, `certificate-authority-data: ${readCaData()}`]), indent([`token: ${stackToken('admin')}`]));
    const kube = createKubeClient({ kubeconfigPath: path, logger: testLogger() });
    const { resourceVersion } = await kube.api.list<V1ConfigMap>(Resources.ConfigMap, { namespace: ns });
    const name = uniqueName('watched');
    const abort = new AbortController();
    const seen = new Promise<WatchEvent>((resolve, reject) => {
      kube.api
        .watch(Resources.ConfigMap, { namespace: ns, resourceVersion, timeoutSeconds: 60 }, (ev) => {
          if ((ev.object as V1ConfigMap).metadata?.name === name) resolve(ev);
        }, abort.signal)
        .then(() => reject(new Error('the watch ended before the ConfigMap was seen')), reject);
    });
    await admin.api.create<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { a: '1' } });
    const ev = await seen;
    abort.abort();
    expect(ev.type).toBe('ADDED');
    expect((ev.object as V1ConfigMap).data).toEqual({ a: '1' });
  });

  it('the wrong CA fails the TLS handshake: verification is on', async () => {
    // A certificate that did not sign the API server's: the API server's own leaf is not a CA.
    const path = kubeconfig('wrong-ca', indent([`server: ${server}`, `certificate-authority: ${join(stackDir(), 'pki', 'apiserver.crt')}`]), indent([`token: ${stackToken('admin')}`]));
    const err = await listConfigMaps(path).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 0 });
    expect(String((err as Error).message)).toMatch(/certificate|self.signed|issuer/i);
  });

  it('insecure-skip-tls-verify connects without a CA', async () => {
    const path = kubeconfig('insecure', indent([`server: ${server}`, 'insecure-skip-tls-verify: true']), indent([`token: ${stackToken('admin')}`]));
    expect((await listConfigMaps(path)).names).toContain('kube-root-ca.crt');
  });

  it('an exec credential plugin (as `aws eks get-token` is) goes through client-node', async () => {
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: stackToken('admin') } });
    writeFileSync(join(dir, 'credential.json'), credential);
    const path = kubeconfig(
      'exec',
      indent([`server: ${server}`, `certificate-authority-data: ${readCaData()}`]),
      indent(['exec:', '  apiVersion: client.authentication.k8s.io/v1beta1', '  command: cat', `  args: [${join(dir, 'credential.json')}]`, '  interactiveMode: Never']),
    );
    const r = await listConfigMaps(path);
    expect(r.client).toBe('client-node');
    expect(r.names).toContain('kube-root-ca.crt');
  });
});

function readCaData(): string {
  const text = readFileSync(join(stackDir(), 'kubeconfig'), 'utf8');
  const m = /certificate-authority-data: (\S+)/.exec(text);
  if (!m) throw new Error('the stack kubeconfig has no certificate-authority-data');
  return m[1]!;
}
