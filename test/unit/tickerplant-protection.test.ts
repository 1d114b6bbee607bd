import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { mergeJob } from '../../operator/src/specs/merge-job.ts';
import { rdbPod } from '../../operator/src/specs/rdb.ts';
import { subscriberBufferBytes, tickerplantPodDisruptionBudget, tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';
import { ConfigError, tickerplantConfig } from '../../images/sim/src/config.ts';

const MiB = 2 ** 20;

const clusterWith = (spec: Record<string, unknown> = {}) =>
  KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
    spec: {
      rdbPools: [{ name: 'main', memory: '512Mi' }],
      storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
      ...spec,
    },
  });

const cluster = clusterWith();
const tpContainer = (c: KdbCluster, priority = {}) => tickerplantStatefulSet(c, priority).spec!.template.spec!.containers[0]!;
const tpEnv = (c: KdbCluster, name: string) => tpContainer(c).env?.find((e) => e.name === name)?.value;
const mergeSpec = (c: KdbCluster, priority?: string) => mergeJob(c, '2026-03-02', 'markets-merge-2026-03-02', priority).spec!.template.spec!;

describe('the tickerplant is protected from the merge', () => {
  test('it requests memory and cpu by default, so node pressure evicts others first', () => {
    expect(tpContainer(cluster).resources).toEqual({ requests: { memory: '1Gi', cpu: '500m' } });
  });

  test("the spec's resources replace the defaults", () => {
    const c = clusterWith({ tickerplant: { resources: { requests: { memory: '4Gi' }, limits: { memory: '6Gi' } } } });
    expect(tpContainer(c).resources).toEqual({ requests: { memory: '4Gi' }, limits: { memory: '6Gi' } });
  });

  test('the merge Job has a memory limit by default', () => {
    expect(mergeSpec(cluster).containers[0]!.resources).toEqual({ requests: { memory: '256Mi', cpu: '100m' }, limits: { memory: '2Gi' } });
    const c = clusterWith({ merge: { resources: { limits: { memory: '8Gi' } } } });
    expect(mergeSpec(c).containers[0]!.resources).toEqual({ limits: { memory: '8Gi' } });
  });

  test('a PodDisruptionBudget of minAvailable 1 selects exactly the tickerplant pod', () => {
    const pdb = tickerplantPodDisruptionBudget(cluster);
    const podLabels = tickerplantStatefulSet(cluster).spec!.template.metadata!.labels!;
    expect(pdb).toMatchObject({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'markets-tickerplant', namespace: 'trading' } });
    expect(pdb.spec!.minAvailable).toBe(1);
    const selector = pdb.spec!.selector!.matchLabels!;
    for (const [k, v] of Object.entries(selector)) expect(podLabels[k]).toBe(v);
    expect(selector['kdb-operator.dev/role']).toBe('tickerplant');
    // Owned by the cluster: deleted with it.
    expect(pdb.metadata!.ownerReferences![0]).toMatchObject({ kind: 'KdbCluster', name: 'markets', uid: 'uid-1', controller: true });
  });

  test('priority classes: the tickerplant, RDB and merge pods name the configured classes', () => {
    const classes = { tickerplant: 'kdb-tickerplant', rdb: 'kdb-rdb', merge: 'kdb-merge' };
    expect(tickerplantStatefulSet(cluster, classes).spec!.template.spec!.priorityClassName).toBe('kdb-tickerplant');
    expect(mergeSpec(cluster, classes.merge).priorityClassName).toBe('kdb-merge');
    const pod = rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'a', priorityClassName: classes.rdb });
    expect(pod.spec!.priorityClassName).toBe('kdb-rdb');
  });

  test('an empty or absent class name sets none (the API server refuses a pod naming a class that does not exist)', () => {
    expect('priorityClassName' in tickerplantStatefulSet(cluster, { tickerplant: '' }).spec!.template.spec!).toBe(false);
    expect('priorityClassName' in tickerplantStatefulSet(cluster).spec!.template.spec!).toBe(false);
    expect('priorityClassName' in mergeSpec(cluster, '')).toBe(false);
    expect('priorityClassName' in rdbPod({ cluster, pool: cluster.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'a' }).spec!).toBe(false);
  });
});

describe("the tickerplant's bound per slow subscriber", () => {
  test('a quarter of its memory shared by the pools, from 1 MiB to 64 MiB', () => {
    expect(subscriberBufferBytes(cluster)).toBe(64 * MiB); // 1Gi / 4 = 256 MiB, capped
    const small = (memory: string, pools: number) =>
      subscriberBufferBytes(
        clusterWith({
          tickerplant: { resources: { requests: { memory } } },
          rdbPools: Array.from({ length: pools }, (_, k) => ({ name: `p${k}`, memory: '512Mi', syms: [`S${k}`] })),
        }),
      );
    expect(small('256Mi', 2)).toBe(32 * MiB);
    expect(small('16Mi', 8)).toBe(MiB);
    // The limit counts over the request: it is what the tickerplant is killed at.
    const limited = clusterWith({ tickerplant: { resources: { requests: { memory: '1Gi' }, limits: { memory: '128Mi' } } } });
    expect(subscriberBufferBytes(limited)).toBe(32 * MiB);
  });

  test('the StatefulSet passes it to the tickerplant', () => {
    expect(tpEnv(cluster, 'KDB_TP_SUBSCRIBER_BUFFER_BYTES')).toBe(String(64 * MiB));
  });

  test('the tickerplant reads the bound, stall time and keepalive from env, defaults otherwise; a bad value names its variable', () => {
    const base = { KDB_LOG_DIR: '/l', KDB_STATE_DIR: '/s' };
    expect(tickerplantConfig(base)).toMatchObject({ subscriberBufferBytes: 64 * MiB, subscriberStallMs: 30_000, keepAliveMs: 10_000 });
    expect(
      tickerplantConfig({ ...base, KDB_TP_SUBSCRIBER_BUFFER_BYTES: '1048576', KDB_TP_SUBSCRIBER_STALL_MS: '500', KDB_TP_KEEPALIVE_MS: '2000' }),
    ).toMatchObject({ subscriberBufferBytes: MiB, subscriberStallMs: 500, keepAliveMs: 2000 });
    expect(() => tickerplantConfig({ ...base, KDB_TP_SUBSCRIBER_BUFFER_BYTES: '64Mi' })).toThrow(ConfigError);
    expect(() => tickerplantConfig({ ...base, KDB_TP_SUBSCRIBER_BUFFER_BYTES: '0' })).toThrow(/KDB_TP_SUBSCRIBER_BUFFER_BYTES is invalid/);
  });
});
