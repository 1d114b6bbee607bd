import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { mergeJob } from '../../operator/src/specs/merge-job.ts';
import { rdbPod, rdbPodDisruptionBudget } from '../../operator/src/specs/rdb.ts';
import { tickerplantService, tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';
import { efsPersistentVolume, efsPersistentVolumeClaim } from '../../operator/src/specs/storage.ts';

const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
  spec: {
    rdbPools: [{ name: 'main', memory: '512Mi', syms: ['AAPL', 'MSFT'] }],
    storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
  },
});
const pool = cluster.spec.rdbPools[0]!;
const env = (pod: ReturnType<typeof rdbPod>, name: string) =>
  pod.spec?.containers.find((c) => c.name === 'rdb')?.env?.find((e) => e.name === name);

describe('RDB pod', () => {
  const pod = rdbPod({ cluster, pool, ordinal: 3, agentServiceAccount: 'kdb-rdb-agent' });

  test('is named, labelled and owned by its cluster', () => {
    expect(pod.metadata?.name).toBe('markets-main-rdb-3');
    expect(pod.metadata?.labels).toMatchObject({ 'kdb-operator.dev/cluster': 'markets', 'kdb-operator.dev/pool': 'main', 'kdb-operator.dev/role': 'rdb' });
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'KdbCluster', name: 'markets', uid: 'uid-1', controller: true });
  });

  test('keeps cluster-autoscaler and Karpenter away', () => {
    expect(pod.metadata?.annotations).toMatchObject({
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
      'karpenter.sh/do-not-disrupt': 'true',
    });
  });

  test('runs on the pool node group, one RDB per server, never restarted in place', () => {
    expect(pod.spec?.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'rdb' });
    expect(pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
    expect(pod.spec?.restartPolicy).toBe('Never');
  });

  test('tells the RDB its pool, thresholds, limit and tickerplant', () => {
    expect(env(pod, 'KDB_POOL')?.value).toBe('main');
    expect(env(pod, 'KDB_SCALE_THRESHOLD')?.value).toBe('60');
    expect(env(pod, 'KDB_ROLL_THRESHOLD')?.value).toBe('80');
    expect(env(pod, 'KDB_SYMS')?.value).toBe('AAPL,MSFT');
    expect(env(pod, 'KDB_TP_HOST')?.value).toBe('markets-tickerplant.trading.svc.cluster.local');
    expect(env(pod, 'KDB_MEMORY_LIMIT_BYTES')?.valueFrom?.resourceFieldRef?.resource).toBe('limits.memory');
    expect(env(pod, 'KDB_REPLACES')).toBeUndefined();
    const rdb = pod.spec?.containers.find((c) => c.name === 'rdb');
    expect(rdb?.resources?.limits?.memory).toBe('512Mi');
  });

  test('only the agent has Kubernetes credentials', () => {
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    const mounts = (n: string) => pod.spec?.containers.find((c) => c.name === n)?.volumeMounts?.map((m) => m.name);
    expect(mounts('agent')).toContain('kube-api-access');
    expect(mounts('rdb')).not.toContain('kube-api-access');
    expect(mounts('rdb')).toContain('status');
  });

  test('a replacement names the RDB whose window it replays', () => {
    const r = rdbPod({ cluster, pool, ordinal: 4, replaces: 'markets-main-rdb-2', agentServiceAccount: 'a' });
    expect(env(r, 'KDB_REPLACES')?.value).toBe('markets-main-rdb-2');
    expect(r.metadata?.annotations?.['kdb-operator.dev/replaces']).toBe('markets-main-rdb-2');
  });

  test('its PodDisruptionBudget allows no disruption', () => {
    // minAvailable at maxRdbs: never fewer pods than that, so no eviction is ever allowed.
    expect(rdbPodDisruptionBudget(cluster, pool).spec).toEqual({ minAvailable: 10, selector: { matchLabels: rdbPodDisruptionBudget(cluster, pool).metadata?.labels } });
  });
});

describe('tickerplant and storage', () => {
  test('one tickerplant on its node group with log and state on EFS', () => {
    const sts = tickerplantStatefulSet(cluster);
    expect(sts.spec?.replicas).toBe(1);
    expect(sts.spec?.serviceName).toBe(tickerplantService(cluster).metadata?.name);
    const c = sts.spec?.template.spec?.containers[0];
    expect(sts.spec?.template.spec?.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'tickerplant' });
    // Each cluster has its own folder on a shared file system (the access point's root when there is one).
    expect(c?.env?.find((e) => e.name === 'KDB_LOG_DIR')?.value).toBe('/efs/kdb/trading/markets/tplog/uid-1');
    const withAp = KdbCluster.parse({ ...cluster, spec: { ...cluster.spec, storage: { efs: { ...cluster.spec.storage.efs, accessPoint: { create: true } } } } });
    expect(tickerplantStatefulSet(withAp).spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'KDB_LOG_DIR')?.value).toBe('/efs/tplog/uid-1');
    expect(JSON.parse(c?.env?.find((e) => e.name === 'KDB_SCHEMA')?.value ?? '[]').map((t: { name: string }) => t.name)).toEqual(['trade', 'quote']);
  });

  test('a static EFS volume bound to the cluster claim, with or without an access point', () => {
    expect(efsPersistentVolume(cluster).spec?.csi).toEqual({ driver: 'efs.csi.aws.com', volumeHandle: 'fs-0123456789abcdef0' });
    expect(efsPersistentVolume(cluster, 'fsap-1').spec?.csi?.volumeHandle).toBe('fs-0123456789abcdef0::fsap-1');
    expect(efsPersistentVolume(cluster).spec?.claimRef).toEqual({ namespace: 'trading', name: 'markets-efs' });
    expect(efsPersistentVolumeClaim(cluster).spec?.volumeName).toBe('kdb-trading-markets-efs');
  });
});

describe('end-of-day merge Job', () => {
  const job = mergeJob(cluster, '2026-03-02', 'markets-merge-2026-03-02');
  const c = job.spec?.template.spec?.containers[0];
  const envOf = (name: string) => c?.env?.find((e) => e.name === name)?.value;

  test('is owned by its cluster, labelled as a merge and tells its day', () => {
    expect(job.metadata?.name).toBe('markets-merge-2026-03-02');
    expect(job.metadata?.labels).toMatchObject({ 'kdb-operator.dev/cluster': 'markets', 'kdb-operator.dev/role': 'merge' });
    expect(job.metadata?.annotations).toEqual({ 'kdb-operator.dev/day': '2026-03-02' });
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'KdbCluster', uid: 'uid-1' });
  });

  test('defaults: the pool image, the tickerplant node group, the cluster folder of the shared volume', () => {
    expect(c?.image).toBe(pool.image);
    expect(c?.args).toEqual(['merge']);
    expect(job.spec?.template.spec?.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'tickerplant' });
    expect(envOf('KDB_MERGE_DAY')).toBe('2026-03-02');
    expect(envOf('KDB_HDB_DIR')).toBe('/efs/kdb/trading/markets/hdb');
    expect(envOf('KDB_STAGING_DIR')).toBe('/efs/kdb/trading/markets/hdb/.staging');
    expect(job.spec?.template.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName).toBe('markets-efs');
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.template.spec?.automountServiceAccountToken).toBe(false);
  });

  test('spec.merge overrides image, node group and resources', () => {
    const custom = KdbCluster.parse({
      ...cluster,
      spec: { ...cluster.spec, merge: { image: 'registry/kdb:4.1', nodeGroup: 'batch', resources: { limits: { memory: '8Gi' } } } },
    });
    const j = mergeJob(custom, '2026-03-02', 'x');
    expect(j.spec?.template.spec?.containers[0]?.image).toBe('registry/kdb:4.1');
    expect(j.spec?.template.spec?.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'batch' });
    expect(j.spec?.template.spec?.containers[0]?.resources).toEqual({ limits: { memory: '8Gi' } });
  });

  test('a bad merge field is refused with its name', () => {
    const r = KdbCluster.safeParse({ ...cluster, spec: { ...cluster.spec, merge: { nodeGroup: 'Not_A_Label' } } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('merge.nodeGroup');
  });
});
