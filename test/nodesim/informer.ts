// client-node's informer stops for good on any error but 410: restart it
// with jittered back-off so a dropped apiserver connection heals itself.
import { k8s } from '../lib/kube.ts';
import type { KubeConfig, KubernetesObject, KubernetesListObject } from '@kubernetes/client-node';
import { errMsg, log } from './log.ts';

export interface Watched<T extends KubernetesObject> {
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  stop(): Promise<void>;
  /** Resolves once the first list has been delivered. */
  synced: Promise<void>;
}

export const watch = <T extends KubernetesObject>(
  kc: KubeConfig,
  what: string,
  path: string,
  listFn: () => Promise<KubernetesListObject<T>>,
  onChange: (type: 'add' | 'update' | 'delete', obj: T) => void,
): Watched<T> => {
  let stopped = false;
  let delay = 500;
  let timer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((r) => (markSynced = r));
  // Wrap the list so we learn when the cache is first filled.
  const listed = async (): Promise<KubernetesListObject<T>> => {
    const l = await listFn();
    setImmediate(markSynced);
    delay = 500;
    return l;
  };
  const inf = k8s.makeInformer<T>(kc, path, listed);
  inf.on('add', (o) => onChange('add', o));
  inf.on('update', (o) => onChange('update', o));
  inf.on('delete', (o) => onChange('delete', o));
  inf.on('error', (err: unknown) => {
    if (stopped) return;
    const wait = delay * (0.5 + Math.random());
    delay = Math.min(delay * 2, 30_000);
    log.warn('watch failed, restarting', { what, error: errMsg(err), inMs: Math.round(wait) });
    timer = setTimeout(() => {
      if (!stopped) inf.start().catch(() => {});
    }, wait);
  });
  inf.start().catch((err: unknown) => log.warn('watch start failed', { what, error: errMsg(err) }));
  return {
    list: () => inf.list(),
    get: (name, namespace) => inf.get(name, namespace),
    synced,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inf.stop();
    },
  };
};
