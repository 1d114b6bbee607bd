import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { Effector, PodChangedError } from '../../operator/src/controllers/kdbcluster/effect.ts';
import { Resources, type V1Pod } from '../../operator/src/kube/index.ts';
import type { Action } from '../../operator/src/planner/types.ts';
import { createNamespace, deleteNamespace, stackClient, testLogger, waitFor } from './runtime-env.ts';

// A scale-in delete on the real API server: it holds only for the pod the
// plan saw. A pod that changed since (an agent's report, a new pod of the
// same name) answers 409 and stays; the reconcile re-plans.
const kube = stackClient();
let ns = '';
const cluster = () =>
  KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'preconditions', namespace: ns },
    spec: { rdbPools: [{ name: 'main', memory: '256Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
  });
// Deleting a pod never reaches AWS: the facade is never called.
const effector = () =>
  new Effector({ api: kube.api, aws: {} as Aws, events: kube.eventRecorder({ component: 'test' }), log: testLogger(), agentServiceAccount: 'x' }, cluster());

const ref = (name: string) => ({ ...Resources.Pod, namespace: ns, name });
const get = (name: string) => kube.api.get<V1Pod>(ref(name));
/** A pod no node takes (nothing matches its selector): it stays Pending and is deleted at once. */
const createPod = (name: string) =>
  kube.api.create<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: { nodeSelector: { 'kdb-operator.dev/test': 'no-such-node' }, containers: [{ name: 'rdb', image: 'kdb-operator/sim:dev' }] },
  });
const scaleInDelete = (pod: V1Pod): Action => ({
  kind: 'DeleteRdbPod',
  pool: 'main',
  pod: pod.metadata!.name!,
  reason: 'ScaleIn',
  precondition: { uid: pod.metadata!.uid!, resourceVersion: pod.metadata!.resourceVersion! },
});

beforeAll(async () => {
  ns = await createNamespace(kube, 'delete-pre');
});
afterAll(async () => {
  await deleteNamespace(kube, ns);
});

test('a pod changed since the plan (new resourceVersion) is not deleted: 409, PodChangedError, the pod stays', async () => {
  const seen = await createPod('rdb-changed');
  // The agent reports after the plan was made: the pod moves on.
  const changed = await kube.api.mergePatch<V1Pod>(ref('rdb-changed'), { metadata: { annotations: { 'kdb-operator.dev/memory-percent': '61' } } });
  expect(changed.metadata?.resourceVersion).not.toBe(seen.metadata?.resourceVersion);

  const err = await effector().run([scaleInDelete(seen)]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PodChangedError);
  expect((err as Error).message).toMatch(`RDB pod rdb-changed changed since the plan (saw uid ${seen.metadata?.uid}, resourceVersion ${seen.metadata?.resourceVersion})`);
  const after = await get('rdb-changed');
  expect(after?.metadata?.uid).toBe(seen.metadata?.uid);
  expect(after?.metadata?.deletionTimestamp).toBeUndefined();

  // The next pass plans from the pod as it is now, and the delete goes through.
  await effector().run([scaleInDelete(after!)]);
  await waitFor('the pod to be gone', async () => (await get('rdb-changed')) === undefined);
});

test('a new pod under the victim name (another uid) is not deleted', async () => {
  const old = await createPod('rdb-reborn');
  await kube.api.delete(ref('rdb-reborn'));
  await waitFor('the first pod to be gone', async () => (await get('rdb-reborn')) === undefined);
  const reborn = await createPod('rdb-reborn');
  expect(reborn.metadata?.uid).not.toBe(old.metadata?.uid);

  // The old incarnation's uid with the new one's resourceVersion: the uid alone refuses it.
  const stale: Action = { ...scaleInDelete(reborn), precondition: { uid: old.metadata!.uid!, resourceVersion: reborn.metadata!.resourceVersion! } } as Action;
  await expect(effector().run([stale])).rejects.toBeInstanceOf(PodChangedError);
  expect((await get('rdb-reborn'))?.metadata?.uid).toBe(reborn.metadata?.uid);
  expect((await get('rdb-reborn'))?.metadata?.deletionTimestamp).toBeUndefined();
});

test('the actions after a refused delete do not run: the plan stops there', async () => {
  const seen = await createPod('rdb-stop');
  await kube.api.mergePatch(ref('rdb-stop'), { metadata: { labels: { moved: 'on' } } });
  const other = await createPod('rdb-after');
  await expect(effector().run([scaleInDelete(seen), { kind: 'DeleteRdbPod', pool: 'main', pod: 'rdb-after', reason: 'Lost' }])).rejects.toBeInstanceOf(PodChangedError);
  expect((await get('rdb-after'))?.metadata?.uid).toBe(other.metadata?.uid);
  expect((await get('rdb-stop'))?.metadata?.deletionTimestamp).toBeUndefined();
});
