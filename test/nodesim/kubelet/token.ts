// Service account tokens through the TokenRequest API, bound to the pod, so
// the apiserver invalidates them with the pod and RBAC sees the pod's own
// service account.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

export interface IssuedToken {
  token: string;
  /** When to ask for a new one: 80% of the lifetime, as the kubelet does. */
  refreshAt: number;
}

export const requestToken = async (
  core: CoreV1Api,
  pod: V1Pod,
  audience: string | undefined,
  expirationSeconds: number,
): Promise<IssuedToken> => {
  const md = pod.metadata!;
  const issuedAt = Date.now();
  const out = await core.createNamespacedServiceAccountToken({
    name: pod.spec?.serviceAccountName || 'default',
    namespace: md.namespace!,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: audience ? [audience] : [],
        expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: md.name!, uid: md.uid! },
      },
    },
  });
  const token = out.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  return { token, refreshAt: issuedAt + expirationSeconds * 800 };
};
