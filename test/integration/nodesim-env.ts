// Helpers for the node simulator's tests on the local stack (see test/nodesim).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoscaling, motoClientConfig } from '../lib/aws.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { readStackAws, stackDir } from '../lib/stack.ts';
import type { V1Node, V1Pod } from '@kubernetes/client-node';

export const kc = adminKubeConfig();
export const core = kc.makeApiClient(k8s.CoreV1Api);
export const apps = kc.makeApiClient(k8s.AppsV1Api);
export const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
export const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
export const asg = (): autoscaling.AutoScalingClient => new autoscaling.AutoScalingClient(motoClientConfig());

export const code = (e: unknown): number | undefined => (e as { code?: number }).code;

/** Poll a condition held by the API server or the OS, which has no event to await. */
export const waitFor = async <T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

const unique = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;

/** A namespace per test file, ready for pods (its default ServiceAccount and root CA exist). */
export const createNamespace = async (prefix: string): Promise<string> => {
  const name = unique(prefix);
  await core.createNamespace({ body: { metadata: { name, labels: { 'kdb-operator.dev/test': 'nodesim' } } } });
  await waitFor('default ServiceAccount', () => core.readNamespacedServiceAccount({ name: 'default', namespace: name }));
  await waitFor('kube-root-ca.crt', () => core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: name }));
  return name;
};

/** Deletes the namespace and waits (bounded) until its pods are gone, so no process outlives the test file. */
export const deleteNamespace = async (name: string): Promise<void> => {
  await core.deleteNamespace({ name }).catch(() => undefined);
  await waitFor(`pods of ${name} gone`, async () => (await core.listNamespacedPod({ namespace: name })).items.length === 0, 60_000).catch(() => undefined);
};

export const readPod = (namespace: string, name: string): Promise<V1Pod> => core.readNamespacedPod({ name, namespace });

export const waitForPod = (namespace: string, name: string, what: string, pred: (p: V1Pod) => boolean, timeoutMs = 30_000): Promise<V1Pod> =>
  waitFor(`pod ${name} ${what}`, async () => {
    const p = await readPod(namespace, name);
    return pred(p) ? p : undefined;
  }, timeoutMs);

export const condition = (p: V1Pod, type: string): string | undefined => p.status?.conditions?.find((c) => c.type === type)?.status;
export const isRunningReady = (p: V1Pod): boolean => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True';

export const waitForPodGone = (namespace: string, name: string, timeoutMs = 30_000): Promise<true> =>
  waitFor(`pod ${name} gone`, async () => {
    try {
      await readPod(namespace, name);
      return false;
    } catch (e) {
      if (code(e) === 404) return true;
      throw e;
    }
  }, timeoutMs);

export const nodeReady = (n: V1Node): boolean => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export const simulatedNodes = async (): Promise<V1Node[]> =>
  (await core.listNode({ labelSelector: 'nodesim.kdb-operator.dev/managed=true' })).items.filter(nodeReady);

export const stackAws = readStackAws;
export const efsRoot = (): string => join(stackDir(), 'efs', readStackAws().efsFileSystemId);
export const podLog = (namespace: string, pod: string, container: string): string => {
  try {
    return readFileSync(join(stackDir(), 'logs', 'pods', `${namespace}_${pod}_${container}.log`), 'utf8');
  } catch {
    return '';
  }
};

/** pids of local processes whose environment holds NAME=value: a pod's containers carry POD_UID. */
export const pidsWithEnv = (entry: string): number[] => {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(entry)) out.push(Number(d));
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
};

/** A static EFS PersistentVolume (as the operator's specs make them) and a claim bound to it. */
export const createEfsClaim = async (namespace: string, claim: string, subPath: string): Promise<string> => {
  const pvName = `${namespace}-${claim}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName, labels: { 'kdb-operator.dev/test': 'nodesim' } },
      spec: {
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        csi: { driver: 'efs.csi.aws.com', volumeHandle: `${readStackAws().efsFileSystemId}:${subPath}` },
        claimRef: { namespace, name: claim },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: claim },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: pvName, resources: { requests: { storage: '5Gi' } } },
    },
  });
  await waitFor(`claim ${claim} bound`, async () => (await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace })).status?.phase === 'Bound');
  return pvName;
};

export const deletePersistentVolume = async (name: string): Promise<void> => {
  await core.deletePersistentVolume({ name }).catch(() => undefined);
};
