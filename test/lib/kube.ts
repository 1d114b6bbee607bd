// The only test folder that imports @kubernetes/client-node.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createKubeClient, Resources, type V1Pod } from '../../operator/src/kube/index.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';
import { stackDir } from './stack.ts';

export { k8s };

/** Admin kubeconfig of the local stack. */
export const adminKubeConfig = (): k8s.KubeConfig => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG ?? join(stackDir(), 'kubeconfig'));
  return kc;
};

/**
 * Watches pods and keeps watching: client-node's Watch ends a watch that is
 * quiet for 30 s, and a bare watch then misses every later delete. The
 * operator's own informer resumes, and after an error re-lists and reports
 * what vanished as deleted.
 */
export const watchPods = (
  namespace: string,
  labelSelector: string,
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: k8s.V1Pod) => void,
): { stop: () => Promise<void> } => {
  const client = createKubeClient({ kubeconfigPath: process.env.KUBECONFIG ?? join(stackDir(), 'kubeconfig'), logger: silentLogger() });
  const informer = client.informer<V1Pod>({ resource: Resources.Pod, namespace, labelSelector });
  informer
    .onAdd((p) => onEvent('ADDED', p as k8s.V1Pod))
    .onUpdate((p) => onEvent('MODIFIED', p as k8s.V1Pod))
    .onDelete((p) => onEvent('DELETED', p as k8s.V1Pod));
  informer.start();
  return { stop: () => informer.stop() };
};
