// Downward API values (env fieldRef/resourceFieldRef and downwardAPI volume
// items), resolved as the kubelet does.
import type { V1Container, V1ObjectFieldSelector, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';
import { parseQuantity } from '../quantity.ts';

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** Allocatable of the node, used where a container sets no limit. */
export type NodeAllocatable = Record<string, string>;

const formatMap = (m: Record<string, string> | undefined): string =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');

export const fieldValue = (pod: V1Pod, sel: V1ObjectFieldSelector, addr: PodAddresses): string => {
  const path = sel.fieldPath;
  const md = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) {
    const map = sub[1] === 'labels' ? md.labels : md.annotations;
    return map?.[sub[2]!] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.annotations':
      return formatMap(md.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return addr.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return addr.hostIP;
    default:
      throw new Error(`unsupported fieldRef ${path}`);
  }
};

export const resourceValue = (
  pod: V1Pod,
  container: V1Container | undefined,
  sel: V1ResourceFieldSelector,
  allocatable: NodeAllocatable,
): string => {
  const c = sel.containerName ? pod.spec?.containers.find((x) => x.name === sel.containerName) : container;
  if (!c) throw new Error(`resourceFieldRef: no container ${sel.containerName ?? ''}`);
  const [kind, resource] = sel.resource.split('.') as [string, string];
  const res = kind === 'limits' ? c.resources?.limits : c.resources?.requests;
  let raw: string | number | undefined = (res as Record<string, string | number> | undefined)?.[resource];
  // As the kubelet does: no limit means the node's allocatable.
  if (raw === undefined && kind === 'limits') raw = allocatable[resource];
  if (raw === undefined && kind === 'requests' && resource === 'memory') raw = (c.resources?.limits as Record<string, string> | undefined)?.memory;
  if (raw === undefined && kind === 'requests' && resource === 'cpu') raw = (c.resources?.limits as Record<string, string> | undefined)?.cpu;
  const value = raw === undefined ? 0 : parseQuantity(raw);
  // The API stores an unset divisor as "0", which means 1.
  const divisor = (sel.divisor === undefined ? 0 : parseQuantity(sel.divisor as string)) || 1;
  // cpu rounds up to whole divisor units (min 1 when set), memory likewise.
  const n = Math.ceil(value / divisor - 1e-9);
  return String(resource === 'cpu' && value > 0 ? Math.max(1, n) : n);
};
