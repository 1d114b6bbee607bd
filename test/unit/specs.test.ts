import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { mergeJob } from '../../operator/src/specs/merge-job.ts';
import { readFileSync } from 'node:fs';
import { AGENT_COMMAND, AGENT_COMPILE_CACHE, TS_AGENT_COMMAND, rdbPod, rdbPodDisruptionBudget } from '../../operator/src/specs/rdb.ts';
import { TICKERPLANT_METRICS_PORT, tickerplantService, tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';
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

  test('the agent is the static Go binary of its own image, not a Node process (bench/agent-memory.ts)', () => {
    const agent = pod.spec?.containers.find((c) => c.name === 'agent');
    expect(agent?.image).toBe('ghcr.io/kdb-operator/agent:0.1.0');
    expect(agent?.command).toEqual(['/kdb-agent']);
    expect(agent?.command).toEqual(AGENT_COMMAND);
    expect(agent?.args).toBeUndefined();
    expect(agent?.env?.map((e) => e.name)).not.toContain('NODE_COMPILE_CACHE');
    expect(agent?.resources?.limits?.memory).toBe('64Mi');
  });

  test('the agent image holds the binary where the pod command runs it', () => {
    const dockerfile = readFileSync(new URL('../../images/agent/Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toContain(`-o ${AGENT_COMMAND[0]} .`);
    expect(dockerfile).toContain(`ENTRYPOINT ${JSON.stringify(AGENT_COMMAND)}`);
  });

  test('an operator image as agent.image (the default before the Go agent) runs the TypeScript agent as its pods were built', () => {
    for (const image of ['ghcr.io/kdb-operator/operator:0.1.0', 'registry.example.com:5000/mirror/kdb-operator/operator@sha256:ab']) {
      const c = { ...cluster, spec: { ...cluster.spec, agent: { image } } };
      const agent = rdbPod({ cluster: c, pool, ordinal: 0, agentServiceAccount: 'a' }).spec?.containers.find((x) => x.name === 'agent');
      // Exactly the container of the previous release, so an operator upgrade changes no pool's template hash.
      expect(agent?.command).toEqual(['node', '--max-semi-space-size=1', 'operator/src/agent/main.ts']);
      expect(agent?.command).toEqual(TS_AGENT_COMMAND);
      expect(agent?.env?.slice(-2)).toEqual([
        { name: 'KDB_STATUS_FILE', value: '/var/run/kdb/status.json' },
        { name: 'NODE_COMPILE_CACHE', value: '.node-compile-cache' },
      ]);
      expect(agent?.resources).toEqual({ requests: { memory: '64Mi', cpu: '20m' }, limits: { memory: '256Mi' } });
    }
    // A registry port is not a tag: an agent image on such a registry still runs the Go agent.
    const c = { ...cluster, spec: { ...cluster.spec, agent: { image: 'localhost:5000/kdb-operator/agent' } } };
    expect(rdbPod({ cluster: c, pool, ordinal: 0, agentServiceAccount: 'a' }).spec?.containers.find((x) => x.name === 'agent')?.command).toEqual(AGENT_COMMAND);
  });

  test('the operator image warms the compile cache with the TypeScript agent command itself', () => {
    const dockerfile = readFileSync(new URL('../../images/operator/Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toContain(`RUN NODE_COMPILE_CACHE=${AGENT_COMPILE_CACHE} ${TS_AGENT_COMMAND.join(' ')};`);
    expect(dockerfile.indexOf('USER 1000:1000')).toBeLessThan(dockerfile.indexOf(`RUN NODE_COMPILE_CACHE=`));
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

  test('the tickerplant serves /metrics on a container port named metrics, not on its Service; a spec port that takes it leaves metrics out', () => {
    const sts = tickerplantStatefulSet(cluster);
    const c = sts.spec!.template.spec!.containers[0]!;
    expect(c.ports).toContainEqual({ name: 'metrics', containerPort: TICKERPLANT_METRICS_PORT });
    expect(c.env).toContainEqual({ name: 'KDB_METRICS_PORT', value: String(TICKERPLANT_METRICS_PORT) });
    expect(sts.spec!.template.metadata!.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(TICKERPLANT_METRICS_PORT) });
    // The PodMonitor selects the pods by these labels (charts/kdb-operator/templates/podmonitor.yaml).
    expect(sts.spec!.template.metadata!.labels).toMatchObject({ 'kdb-operator.dev/role': 'tickerplant', 'app.kubernetes.io/managed-by': 'kdb-operator' });
    expect(tickerplantService(cluster).spec!.ports!.map((p) => p.name)).not.toContain('metrics');

    const taken = KdbCluster.parse({ ...cluster, spec: { ...cluster.spec, tickerplant: { ipcPort: TICKERPLANT_METRICS_PORT } } });
    const t = tickerplantStatefulSet(taken).spec!.template;
    expect(t.spec!.containers[0]!.ports!.filter((p) => p.containerPort === TICKERPLANT_METRICS_PORT).map((p) => p.name)).toEqual(['ipc']);
    expect(t.spec!.containers[0]!.env!.find((e) => e.name === 'KDB_METRICS_PORT')).toBeUndefined();
    expect(t.metadata!.annotations!['prometheus.io/scrape']).toBeUndefined();
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

describe('restricted pods and the kdb+ licence', () => {
  const licensed = KdbCluster.parse({ ...cluster, spec: { ...cluster.spec, kdbLicenseSecret: { name: 'kdb-license' } } });
  /** Every pod the operator makes, as the API server sees it. */
  const podSpecs = (c: KdbCluster) => ({
    tickerplant: tickerplantStatefulSet(c).spec!.template.spec!,
    rdb: rdbPod({ cluster: c, pool: c.spec.rdbPools[0]!, ordinal: 1, agentServiceAccount: 'kdb-rdb-agent' }).spec!,
    merge: mergeJob(c, '2026-03-02', 'x').spec!.template.spec!,
  });

  test.each(Object.entries(podSpecs(cluster)))('%s: non-root with RuntimeDefault seccomp; every container without privileges on a read-only root', (_name, spec) => {
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.hostNetwork ?? false).toBe(false);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      expect({ container: c.name, ...c.securityContext }).toEqual({
        container: c.name,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      });
      expect(c.ports?.some((p) => p.hostPort !== undefined) ?? false).toBe(false);
    }
  });

  test.each(Object.entries(podSpecs(cluster)))('%s: the data container has an emptyDir for scratch at /tmp', (name, spec) => {
    const main = spec.containers.find((c) => c.name === (name === 'tickerplant' ? 'tickerplant' : name))!;
    const mount = main.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(mount).toBeDefined();
    expect(spec.volumes?.find((v) => v.name === mount!.name)?.emptyDir).toBeDefined();
    // Nothing but restricted volume types (no hostPath).
    for (const v of spec.volumes ?? []) expect(v.hostPath).toBeUndefined();
  });

  test('without kdbLicenseSecret no licence env is set', () => {
    for (const spec of Object.values(podSpecs(cluster))) {
      for (const c of spec.containers) expect(c.env?.some((e) => /LICENSE|QLIC/.test(e.name)) ?? false).toBe(false);
    }
  });

  test.each(Object.entries(podSpecs(licensed)))('%s: the licence comes by secretKeyRef only, QLIC on the scratch emptyDir', (name, spec) => {
    const main = spec.containers.find((c) => c.name === (name === 'tickerplant' ? 'tickerplant' : name))!;
    const lic = main.env?.find((e) => e.name === 'KDB_LICENSE_B64');
    expect(lic).toEqual({ name: 'KDB_LICENSE_B64', valueFrom: { secretKeyRef: { name: 'kdb-license', key: 'KDB_LICENSE_B64' } } });
    expect(main.env?.find((e) => e.name === 'QLIC')?.value).toBe('/tmp/kdb-licence');
    // No container carries a licence as a literal, and only the q container gets it at all.
    for (const c of spec.containers) {
      for (const e of c.env ?? []) if (/LICENSE/.test(e.name)) expect(e.value).toBeUndefined();
      if (c !== main) expect(c.env?.some((e) => /LICENSE/.test(e.name)) ?? false).toBe(false);
    }
  });

  test('a k4.lic Secret under its own key goes to KDB_K4LICENSE_B64', () => {
    const k4 = KdbCluster.parse({ ...cluster, spec: { ...cluster.spec, kdbLicenseSecret: { name: 'kx', key: 'k4', file: 'k4.lic' } } });
    const envs = tickerplantStatefulSet(k4).spec!.template.spec!.containers[0]!.env!;
    expect(envs.find((e) => e.name === 'KDB_K4LICENSE_B64')?.valueFrom?.secretKeyRef).toEqual({ name: 'kx', key: 'k4' });
    expect(envs.some((e) => e.name === 'KDB_LICENSE_B64')).toBe(false);
  });

  test('a bad licence Secret reference is refused with the field named', () => {
    const bad = (s: unknown) =>
      (KdbCluster.safeParse({ ...cluster, spec: { ...cluster.spec, kdbLicenseSecret: s } }).error?.issues ?? []).map((i) => i.message).join('; ');
    expect(bad({ name: 'Not_A_Name' })).toContain('kdbLicenseSecret.name must be a Secret name');
    expect(bad({})).toContain('kdbLicenseSecret.name is required');
    expect(bad({ name: 'kdb', file: 'x.lic' })).toContain('kdbLicenseSecret.file must be "kc.lic" or "k4.lic"');
    expect(bad({ name: 'kdb', key: 'a/b' })).toContain('kdbLicenseSecret.key must be a Secret key');
  });
});
