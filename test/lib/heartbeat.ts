// A node stops heartbeating: the API server refuses the node simulator's
// status writes and Lease renewals for that one Node, through a
// ValidatingAdmissionPolicy, until resumed. To the control plane this is a
// kubelet that has gone silent (crashed, or cut off from the API server): the
// node lifecycle controller marks the Node NotReady (Ready Unknown) once its
// node-monitor-grace-period (50 s, the default: test/stack/up.sh does not set
// it) has passed without a heartbeat, and taints it unreachable. The pods'
// processes keep running, as they do under a dead kubelet. Done from outside
// the simulator so it works on a running stack without restarting it.
import { adminKubeConfig, k8s } from './kube.ts';

/** The node simulator's user in the stack's tokens.csv. */
const SIMULATOR_USER = 'nodesim';

const policyName = (node: string): string => `chaos-silence-${node}`.slice(0, 253);

export interface Silence {
  node: string;
  resume: () => Promise<void>;
}

export const stopHeartbeat = async (node: string): Promise<Silence> => {
  const api = adminKubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
  const name = policyName(node);
  await api.createValidatingAdmissionPolicy({
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels: { 'kdb-operator.dev/chaos': 'heartbeat' } },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes', 'nodes/status'] },
            { apiGroups: ['coordination.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['leases'] },
          ],
        },
        validations: [
          {
            expression: `!(request.userInfo.username == '${SIMULATOR_USER}' && object.metadata.name == '${node}')`,
            message: `chaos: node ${node} has stopped heartbeating`,
          },
        ],
      },
    },
  });
  await api.createValidatingAdmissionPolicyBinding({
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels: { 'kdb-operator.dev/chaos': 'heartbeat' } },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  });
  const resume = async (): Promise<void> => {
    const gone = (e: unknown) => {
      if ((e as { code?: number }).code !== 404) throw e;
    };
    await api.deleteValidatingAdmissionPolicyBinding({ name }).catch(gone);
    await api.deleteValidatingAdmissionPolicy({ name }).catch(gone);
  };
  return { node, resume };
};

/** The Node's Ready condition status ('True', 'False', 'Unknown'), or undefined when the Node is gone. */
export const nodeReady = async (node: string): Promise<string | undefined> => {
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  try {
    const n = await core.readNode({ name: node });
    return n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
};
