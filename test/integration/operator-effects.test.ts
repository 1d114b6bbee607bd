import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { createAws } from '../../operator/src/aws/index.ts';
import { Effector } from '../../operator/src/controllers/kdbcluster/effect.ts';
import { Resources, type V1PersistentVolume, type V1PersistentVolumeClaim } from '../../operator/src/kube/index.ts';
import { pvName, pvcName } from '../../operator/src/specs/names.ts';
import { kubectl, waitFor } from '../e2e/trading-day.ts';
import { PORTS, readStackAws } from '../lib/stack.ts';
import { stackClient, testLogger } from './runtime-env.ts';

// The effectors against the real API server and controller-manager: a
// cluster re-created under the same name gets its EFS volume back, although
// the Retain PV still points at the old claim.
const ns = `effects-${Date.now().toString(36)}`;
const kube = stackClient();
const aws = createAws({ endpoint: `http://127.0.0.1:${PORTS.awsEndpoint}`, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'rebind', namespace: ns, uid: '00000000-0000-0000-0000-000000000001' },
  spec: { rdbPools: [{ name: 'main', memory: '256Mi' }], storage: { efs: { fileSystemId: readStackAws().efsFileSystemId } } },
});
const effector = () =>
  new Effector({ api: kube.api, aws, events: kube.eventRecorder({ component: 'test' }), log: testLogger(), agentServiceAccount: 'x' }, cluster);
const claim = () => kube.api.get<V1PersistentVolumeClaim>({ ...Resources.PersistentVolumeClaim, namespace: ns, name: pvcName(cluster) });
const volume = () => kube.api.get<V1PersistentVolume>({ ...Resources.PersistentVolume, name: pvName(cluster) });

beforeAll(async () => {
  await kubectl('create', 'namespace', ns);
});
afterAll(async () => {
  await kubectl('delete', 'namespace', ns, '--wait=false');
  await kubectl('delete', 'pv', pvName(cluster), '--wait=false').catch(() => undefined);
  aws.destroy();
});

test('EnsureStorageVolumes binds, and re-binds the Released PV of an earlier cluster of the same name', async () => {
  const ensure = { kind: 'EnsureStorageVolumes' as const, fileSystemId: cluster.spec.storage.efs.fileSystemId };
  await effector().run([ensure]);
  await waitFor('the claim to bind', async () => (await claim())?.status?.phase === 'Bound', 150_000);
  expect((await volume())?.spec?.csi).toEqual({ driver: 'efs.csi.aws.com', volumeHandle: cluster.spec.storage.efs.fileSystemId });

  // The cluster goes (its claim with it); the Retain PV is Released, still naming the old claim.
  const oldUid = (await claim())?.metadata?.uid;
  await kube.api.delete({ ...Resources.PersistentVolumeClaim, namespace: ns, name: pvcName(cluster) });
  await waitFor('the PV to be Released', async () => (await volume())?.status?.phase === 'Released', 150_000);
  expect((await volume())?.spec?.claimRef?.uid).toBe(oldUid);
  // While the old claim still exists (finalizers), the effector refuses to
  // adopt it and the reconcile is retried, as the operator's queue would.
  await waitFor('a claim of the new incarnation', async () => {
    await effector().run([ensure]).catch(() => undefined);
    const c = await claim();
    return c !== undefined && c.metadata?.uid !== oldUid && !c.metadata?.deletionTimestamp;
  }, 150_000);
  await effector().run([ensure]);
  await waitFor('the new claim to bind to the same PV', async () => (await claim())?.status?.phase === 'Bound', 150_000);
  const pv = await volume();
  expect(pv?.spec?.claimRef?.uid).toBe((await claim())?.metadata?.uid);
  expect(pv?.spec?.claimRef?.uid).not.toBe(oldUid);
}, 480_000);
