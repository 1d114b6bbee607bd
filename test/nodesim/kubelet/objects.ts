// ConfigMap and Secret reads for env and volumes, straight from the API
// (the kubelet's "Get" strategy): a missing object is `undefined`.
import type { CoreV1Api, V1ConfigMap, V1Secret } from '@kubernetes/client-node';

export interface ObjectReader {
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
}

const notFound = (e: unknown): boolean => (e as { code?: number }).code === 404;

export const apiObjectReader = (core: CoreV1Api): ObjectReader => ({
  configMap: async (namespace, name) => {
    try {
      return await core.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  },
  secret: async (namespace, name) => {
    try {
      return await core.readNamespacedSecret({ name, namespace });
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  },
});

/** Secret data as UTF-8 text (values arrive base64-encoded). */
export const secretText = (s: V1Secret, key: string): string | undefined => {
  const v = s.data?.[key];
  if (v !== undefined) return Buffer.from(v, 'base64').toString('utf8');
  return s.stringData?.[key];
};
