import { resolveKubeconfig, type KubeconfigFile } from '../../operator/src/kube/kubeconfig.ts';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n').toString('base64');

const file = (path: string, text: string): KubeconfigFile => ({ path, text });

const LOCAL = file(
  '/home/u/.kube/config',
  `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${CA}
users:
- name: admin
  user:
    token: tok-1
contexts:
- name: local
  context: { cluster: local, user: admin, namespace: trading }
current-context: local
`,
);

describe('kubeconfig resolution (kubectl semantics, no I/O)', () => {
  test("the stack's kubeconfig: server without trailing slash, inline CA, token, the context's namespace", () => {
    const r = resolveKubeconfig([LOCAL]);
    expect(r).toEqual({
      kind: 'lean',
      access: {
        server: 'https://127.0.0.1:6443',
        context: 'local',
        namespace: 'trading',
        insecure: false,
        ca: { data: Buffer.from(CA, 'base64') },
        token: { value: 'tok-1' },
      },
    });
  });

  test('relative file paths are relative to the file that names them; tokenFile is kept as a file', () => {
    const r = resolveKubeconfig([
      file(
        '/etc/kdb/kubeconfig',
        `clusters: [{ name: c, cluster: { server: 'https://k:443', certificate-authority: pki/ca.crt, tls-server-name: api.internal } }]
users: [{ name: u, user: { client-certificate: pki/u.crt, client-key: /abs/u.key, tokenFile: tok } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x`,
      ),
    ]);
    expect(r).toEqual({
      kind: 'lean',
      access: {
        server: 'https://k:443',
        context: 'x',
        namespace: 'default',
        insecure: false,
        ca: { file: '/etc/kdb/pki/ca.crt' },
        cert: { file: '/etc/kdb/pki/u.crt' },
        key: { file: '/abs/u.key' },
        servername: 'api.internal',
        token: { file: '/etc/kdb/tok' },
      },
    });
  });

  test('a merged list: the first file to name an entry wins, and the first current-context', () => {
    const second = file(
      '/b',
      `clusters: [{ name: local, cluster: { server: 'https://other:1' } }, { name: prod, cluster: { server: 'https://prod:443' } }]
users: [{ name: p, user: { token: tok-p } }]
contexts: [{ name: prod, context: { cluster: prod, user: p } }]
current-context: prod`,
    );
    const r = resolveKubeconfig([LOCAL, second]);
    expect(r).toMatchObject({ kind: 'lean', access: { server: 'https://127.0.0.1:6443', context: 'local' } });
    expect(resolveKubeconfig([LOCAL, second], 'prod')).toMatchObject({ kind: 'lean', access: { server: 'https://prod:443', token: { value: 'tok-p' }, namespace: 'default' } });
  });

  test('insecure-skip-tls-verify drops the CA (as client-go does)', () => {
    const r = resolveKubeconfig([
      file('/c', `clusters: [{ name: c, cluster: { server: 'https://k', insecure-skip-tls-verify: true, certificate-authority-data: ${CA} } }]
contexts: [{ name: x, context: { cluster: c } }]
current-context: x`),
    ]);
    expect(r).toEqual({ kind: 'lean', access: { server: 'https://k', context: 'x', namespace: 'default', insecure: true } });
  });

  test.each([
    ['user.exec', `exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token, --cluster-name, c] }`],
    ['user.auth-provider', `auth-provider: { name: oidc }`],
    ['user.username, user.password', `{ username: a, password: b }`],
    ['user.as', `{ token: t, as: someone }`],
  ])('a kubeconfig that needs %s goes to client-node', (needs, user) => {
    const body = user.startsWith('{') ? user : `{ ${user} }`;
    const r = resolveKubeconfig([
      file('/c', `clusters: [{ name: c, cluster: { server: 'https://eks.example' } }]
users: [{ name: u, user: ${body} }]
contexts: [{ name: x, context: { cluster: c, user: u, namespace: ops } }]
current-context: x`),
    ]);
    expect(r).toEqual({ kind: 'client-node', server: 'https://eks.example', namespace: 'ops', needs });
  });

  test('a proxy-url goes to client-node too', () => {
    const r = resolveKubeconfig([
      file('/c', `clusters: [{ name: c, cluster: { server: 'https://k', proxy-url: 'http://proxy:3128' } }]
contexts: [{ name: x, context: { cluster: c } }]
current-context: x`),
    ]);
    expect(r).toMatchObject({ kind: 'client-node', needs: 'cluster.proxy-url' });
  });

  test.each([
    ['no current-context', `clusters: []`, /has no current-context; pass a context/],
    ['an unknown context', `current-context: gone`, /has no context "gone"/],
    ['a context naming no cluster', `contexts: [{ name: x, context: { cluster: nope } }]\ncurrent-context: x`, /names cluster "nope", which kubeconfig \/c does not have/],
    ['a cluster without a server', `clusters: [{ name: c, cluster: {} }]\ncontexts: [{ name: x, context: { cluster: c } }]\ncurrent-context: x`, /cluster "c" in \/c has no server/],
    ['a list entry without a name', `clusters: [{ cluster: { server: 'https://k' } }]`, /clusters\[0\] needs a name/],
    ['clusters that are not a list', `clusters: { c: 1 }`, /clusters must be a list/],
    ['a document that is not a mapping', `- a\n- b`, /must be a mapping/],
    ['a file that is not YAML', `clusters: [`, /is not YAML/],
    [
      'a certificate without its key',
      `clusters: [{ name: c, cluster: { server: 'https://k' } }]\nusers: [{ name: u, user: { client-certificate-data: eA== } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x`,
      /a client certificate needs its key/,
    ],
    [
      'a token that is not a string',
      `clusters: [{ name: c, cluster: { server: 'https://k' } }]\nusers: [{ name: u, user: { token: [1] } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x`,
      /user "u" in \/c: token must be a string/,
    ],
  ])('%s is a clear error naming the file and the field', (_what, text, error) => {
    expect(() => resolveKubeconfig([file('/c', text)])).toThrow(error);
  });

  test('an error never quotes a token', () => {
    const text = `clusters: [{ name: c, cluster: {} }]\nusers: [{ name: u, user: { token: s3cr3t-token } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x`;
    expect(() => resolveKubeconfig([file('/c', text)])).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cr3t') }));
  });
});
