// The only test folder that imports @kubernetes/client-node.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stackDir } from './stack.ts';

export { k8s };

/** Admin kubeconfig of the local stack. */
export const adminKubeConfig = (): k8s.KubeConfig => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG ?? join(stackDir(), 'kubeconfig'));
  return kc;
};
