import type { V1EnvVar } from '../kube/types.ts';

/** The downward-API fields every data-plane container reads. */
export const fieldEnv: V1EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
];

type QuantityMap = Record<string, string | number> | undefined;
const quantities = (m: QuantityMap): Record<string, string> | undefined =>
  m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : undefined;

export const resourceRequirements = (r: { requests?: QuantityMap; limits?: QuantityMap }) => {
  const requests = quantities(r.requests);
  const limits = quantities(r.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
};
