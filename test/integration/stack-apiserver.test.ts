// The local stack's control plane is the real thing: the apiserver
// authenticates static tokens and enforces RBAC, and the real
// controller-manager turns a StatefulSet into a pod. (Scheduling and running
// pods is the node simulator's part: see nodesim-*.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { stackToken } from '../lib/stack.ts';

const admin = adminKubeConfig();
const core = admin.makeApiClient(k8s.CoreV1Api);
const apps = admin.makeApiClient(k8s.AppsV1Api);
const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
const ns = `stack-api-${Date.now().toString(36)}`;

/** A kubeconfig for the same cluster as another user (bearer token). */
const asToken = (token: string): k8s.KubeConfig => {
  const kc = new k8s.KubeConfig();
  const cluster = admin.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'c', cluster: cluster.name, user: 'u' }],
    currentContext: 'c',
  });
  return kc;
};

const statusOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
};

const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('kube-apiserver on the local stack', () => {
  it('serves TLS on 127.0.0.1 and rejects an unknown token with 401', async () => {
    const version = await admin.makeApiClient(k8s.VersionApi).getCode();
    // (The source build carries no version stamp unless build-control-plane.sh sets one via -ldflags.)
    expect(version.goVersion).toMatch(/^go1\./);
    expect(await statusOf(asToken('not-a-token').makeApiClient(k8s.CoreV1Api).listNamespace())).toBe(401);
  });

  it('enforces RBAC: a token without roles is denied until a Role is bound to it', async () => {
    const nobody = asToken(stackToken('kdb-norights'));
    const nobodyCore = nobody.makeApiClient(k8s.CoreV1Api);
    const who = await nobody.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(who.status?.userInfo?.username).toBe('kdb-norights');
    expect(await statusOf(nobodyCore.listNamespacedPod({ namespace: ns }))).toBe(403);
    expect(await statusOf(nobodyCore.listNamespace())).toBe(403);

    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kdb-norights' }],
      },
    });
    // RBAC's authorizer reads from an informer: the binding takes effect shortly after.
    await until('the RoleBinding to take effect', async () =>
      (await statusOf(nobodyCore.listNamespacedPod({ namespace: ns }))) === 200 ? true : undefined,
    );
    // ... and only where and for what it was granted.
    expect(await statusOf(nobodyCore.listNamespacedSecret({ namespace: ns }))).toBe(403);
    expect(await statusOf(nobodyCore.listPodForAllNamespaces())).toBe(403);
  }, 60_000);

  it('the controller-manager gives a new namespace its default ServiceAccount', async () => {
    const sa = await until('ServiceAccount default', () => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }));
    expect(sa.metadata?.name).toBe('default');
  });

  it('the controller-manager creates the pod of a StatefulSet, owned by it', async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'web' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] } },
    });
    const sts = await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          serviceName: 'web',
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              // No node carries this label: the pod stays Pending, so the test
              // concerns the controller-manager only.
              nodeSelector: { 'kdb-operator.dev/stack-test': 'never' },
              containers: [{ name: 'web', image: 'ghcr.io/kdb-operator/sim:test', args: ['feed'] }],
            },
          },
        },
      },
    });
    const pod = await until('pod web-0', () => core.readNamespacedPod({ name: 'web-0', namespace: ns }));
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'web', uid: sts.metadata?.uid });
    expect(pod.metadata?.labels?.['statefulset.kubernetes.io/pod-name']).toBe('web-0');
    // The ServiceAccount admission plugin projected the API token volume.
    expect(pod.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))).toBe(true);
    const observed = await until('StatefulSet status', async () => {
      const s = await apps.readNamespacedStatefulSet({ name: 'web', namespace: ns });
      return (s.status?.replicas ?? 0) >= 1 ? s : undefined;
    });
    expect(observed.status?.replicas).toBe(1);
  }, 60_000);
});
