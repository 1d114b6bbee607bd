import type { KdbLicenseSecret } from '../api/kdbcluster.ts';
import type { V1EnvVar } from '../kube/types.ts';
import { SCRATCH_DIR } from './security.ts';

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

/**
 * The kdb+ licence for the q images, by reference to the Secret the spec
 * names: the value never appears in a pod spec, an event or a log. The q
 * entrypoint decodes it into $QLIC on the scratch emptyDir.
 */
export const licenseEnv = (secret: KdbLicenseSecret | undefined): V1EnvVar[] =>
  secret
    ? [
        {
          name: secret.file === 'k4.lic' ? 'KDB_K4LICENSE_B64' : 'KDB_LICENSE_B64',
          valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } },
        },
        { name: 'QLIC', value: `${SCRATCH_DIR}/kdb-licence` },
      ]
    : [];
