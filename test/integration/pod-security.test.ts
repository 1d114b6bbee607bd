import { existsSync } from 'node:fs';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { V1Job, V1Pod, V1PodSpec, V1StatefulSet } from '../../operator/src/kube/index.ts';
import { LABEL, pvName } from '../../operator/src/specs/names.ts';
import { gatewayDeployment, hdbDeployment } from '../../operator/src/specs/gateway.ts';
import { mergeJob } from '../../operator/src/specs/merge-job.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, scratchMount, scratchVolume } from '../../operator/src/specs/security.ts';
import { efsPersistentVolume, efsPersistentVolumeClaim } from '../../operator/src/specs/storage.ts';
import { tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';
import { k8s } from '../lib/kube.ts';
import { readStackAws } from '../lib/stack.ts';
import { apps, code, core, isRunningReady, kc, waitFor, waitForPod } from './nodesim-env.ts';

// Pod Security admission is built into kube-apiserver: a namespace labelled
// enforce=restricted refuses any pod that breaks the "restricted" profile.
// The pods here come from the operator's own builders, so the test holds the
// real specs against the real admission, and a pod without the security
// context is the control that shows the namespace does refuse.
const ns = `pod-security-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
const batch = kc.makeApiClient(k8s.BatchV1Api);
const AGENT_SA = 'kdb-rdb-agent';

const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'markets', namespace: ns, uid: '00000000-0000-0000-0000-0000000000a1' },
  spec: {
    rdbPools: [{ name: 'main', memory: '256Mi' }],
    storage: { efs: { fileSystemId: readStackAws().efsFileSystemId } },
    kdbLicenseSecret: { name: 'kdb-license' },
    gateway: { enabled: true, credentialsSecret: { name: 'kdb-gateway-users' } },
  },
});

/** A pod as a controller would create it from a template (owner references dropped: the owner is not created). */
const podOf = (name: string, template: { metadata?: { labels?: Record<string, string> }; spec?: V1PodSpec }): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: template.metadata?.labels ?? {} },
  spec: template.spec!,
});
const withoutOwner = (p: V1Pod): V1Pod => ({ ...p, metadata: { ...p.metadata, ownerReferences: undefined } });

const builtPods = (): Record<string, V1Pod> => ({
  tickerplant: podOf('markets-tickerplant-0', tickerplantStatefulSet(cluster).spec!.template),
  rdb: withoutOwner(rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 1, agentServiceAccount: AGENT_SA })),
  merge: podOf('markets-merge-2026-12-01-x', mergeJob(cluster, '2026-12-01', 'markets-merge-2026-12-01').spec!.template),
  gateway: podOf('markets-gateway-x', gatewayDeployment(cluster).spec!.template),
  hdb: podOf('markets-hdb-x', hdbDeployment(cluster).spec!.template),
});

const dryRunCreate = (pod: V1Pod) => core.createNamespacedPod({ namespace: ns, body: pod as k8s.V1Pod, dryRun: 'All' });

/** The API server's refusal: status code and message. */
const refusal = async (pod: V1Pod): Promise<{ code: number | undefined; message: string }> => {
  try {
    await dryRunCreate(pod);
  } catch (e) {
    // The body is the API server's Status, as text or parsed.
    const body = (e as { body?: unknown }).body;
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string } | undefined;
    return { code: code(e), message: status?.message ?? String(e) };
  }
  throw new Error(`pod ${pod.metadata?.name} was admitted`);
};

beforeAll(async () => {
  await core.createNamespace({
    body: {
      metadata: {
        name: ns,
        labels: {
          'kdb-operator.dev/test': 'pod-security',
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
  });
  // The ServiceAccount admission plugin refuses pods whose account does not exist.
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: AGENT_SA } } });
  await waitFor('default ServiceAccount', () => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }));
}, 60_000);

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await core.deletePersistentVolume({ name: pvName(cluster) }).catch(() => undefined);
  await waitFor(`pods of ${ns} gone`, async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0, 60_000).catch(() => undefined);
}, 90_000);

describe('Pod Security "restricted" on the real API server', () => {
  test.each(Object.keys(builtPods()))('the %s pod the operator builds is admitted', async (role) => {
    const pod = builtPods()[role]!;
    const admitted = await dryRunCreate(pod);
    // What was admitted is what was built: admission did not have to change it.
    expect(admitted.spec?.securityContext).toMatchObject(pod.spec!.securityContext!);
    for (const c of admitted.spec?.containers ?? []) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
    // The licence is a reference in the admitted spec too, never a value; the gateway runs no q and gets none.
    const lic = admitted.spec?.containers[0]?.env?.find((e) => e.name === 'KDB_LICENSE_B64');
    expect(lic?.value).toBeUndefined();
    if (role === 'gateway') expect(lic).toBeUndefined();
    else expect(lic?.valueFrom?.secretKeyRef).toEqual({ name: 'kdb-license', key: 'KDB_LICENSE_B64' });
  });

  test('control: the same RDB pod without its security context is refused, naming what breaks the profile', async () => {
    const pod = builtPods().rdb!;
    const bare: V1Pod = {
      ...pod,
      spec: { ...pod.spec!, securityContext: undefined, containers: pod.spec!.containers.map((c) => ({ ...c, securityContext: undefined })) },
    };
    const r = await refusal(bare);
    expect(r.code).toBe(403);
    expect(r.message).toContain('violates PodSecurity "restricted:latest"');
    for (const rule of ['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'runAsNonRoot != true', 'seccompProfile']) {
      expect(r.message).toContain(rule);
    }
  });

  test('control: one container without its security context (the agent) is enough to be refused', async () => {
    const pod = builtPods().rdb!;
    const r = await refusal({
      ...pod,
      spec: { ...pod.spec!, containers: pod.spec!.containers.map((c) => (c.name === 'agent' ? { ...c, securityContext: undefined } : c)) },
    });
    expect(r.code).toBe(403);
    expect(r.message).toContain('container "agent"');
    expect(r.message).not.toContain('container "rdb"');
  });

  test('the StatefulSet and the Job create their pods in the restricted namespace (controller-manager, for real)', async () => {
    const sts = tickerplantStatefulSet(cluster) as V1StatefulSet;
    await apps.createNamespacedStatefulSet({ namespace: ns, body: { ...sts, metadata: { ...sts.metadata, ownerReferences: undefined } } as k8s.V1StatefulSet });
    const job = mergeJob(cluster, '2026-12-01', 'markets-merge-2026-12-01') as V1Job;
    await batch.createNamespacedJob({ namespace: ns, body: { ...job, metadata: { ...job.metadata, ownerReferences: undefined } } as k8s.V1Job });
    // Refused pods would leave the controllers with FailedCreate events and no pod.
    const tp = await waitForPod(ns, 'markets-tickerplant-0', 'created', (p) => p.metadata?.uid !== undefined, 60_000);
    expect(tp.spec?.securityContext?.runAsNonRoot).toBe(true);
    const jobPod = await waitFor('a pod of the merge Job', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=markets-merge-2026-12-01' });
      return pods.items[0];
    }, 60_000);
    expect(jobPod.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem).toBe(true);

    // With its volume and licence Secret there, the tickerplant (the reference
    // image) runs on the node simulator under these contexts and turns Ready.
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'kdb-license' }, stringData: { KDB_LICENSE_B64: 'bm90IGEgbGljZW5jZQ==' } } });
    const withoutOwnerRef = <T extends { metadata?: object }>(o: T): T => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } });
    await core.createPersistentVolume({ body: efsPersistentVolume(cluster) as k8s.V1PersistentVolume });
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: withoutOwnerRef(efsPersistentVolumeClaim(cluster)) as k8s.V1PersistentVolumeClaim });
    const ready = await waitForPod(ns, 'markets-tickerplant-0', 'running and ready', isRunningReady, 150_000);
    expect(ready.spec?.containers[0]?.volumeMounts?.map((m) => m.mountPath)).toEqual(['/efs', '/tmp']);
  }, 240_000);

  test('the node simulator runs a pod with the restricted contexts and /tmp on the scratch emptyDir (it ignores readOnlyRootFilesystem and runAsUser)', async () => {
    const name = 'scratch-check';
    const probeDir = `/tmp/${ns}`;
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        nodeSelector: { [LABEL.nodeGroup]: 'system' },
        securityContext: restrictedPodSecurityContext(),
        containers: [
          {
            name: 'main',
            image: 'busybox',
            // Writes to the scratch folder, as the q entrypoint does with the licence, and reads it back.
            command: ['sh', '-c', `mkdir -p ${probeDir} && echo ok > ${probeDir}/probe && test "$(cat ${probeDir}/probe)" = ok`],
            securityContext: restrictedContainerSecurityContext(),
            volumeMounts: [scratchMount()],
          },
        ],
        volumes: [scratchVolume()],
      },
    };
    await core.createNamespacedPod({ namespace: ns, body: pod as k8s.V1Pod });
    const done = await waitForPod(ns, name, 'finished', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed', 60_000);
    expect(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(done.status?.phase).toBe('Succeeded');
    // The simulator runs pods on this machine: the write landed in the pod's emptyDir, not in the host's /tmp.
    expect(existsSync(probeDir)).toBe(false);
  }, 90_000);
});
