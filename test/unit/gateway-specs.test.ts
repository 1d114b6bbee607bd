// The query side's builders (operator/src/specs/gateway.ts) and the
// tickerplant's kdb+ IPC port: pure objects, checked field by field.
import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { V1Container, V1Deployment } from '../../operator/src/kube/types.ts';
import {
  CREDENTIALS_FILE,
  gatewayDeployment,
  gatewayService,
  hdbDeployment,
  hdbService,
  rdbHeadlessService,
} from '../../operator/src/specs/gateway.ts';
import { RDB_QUERY_PORT, rdbPod } from '../../operator/src/specs/rdb.ts';
import { tickerplantService, tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';
import { gatewayConfig } from '../../gateway/src/config.ts';
import { hdbConfig } from '../../images/sim/src/hdb/config.ts';

const make = (spec: Record<string, unknown> = {}, name = 'markets'): KdbCluster =>
  KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name, namespace: 'trading', uid: 'uid-1' },
    spec: {
      rdbPools: [
        { name: 'eq', memory: '512Mi', tables: ['trade'] },
        { name: 'fx', memory: '512Mi', tables: ['quote'] },
      ],
      storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
      tickerplant: { endOfDay: { time: '16:30', timeZone: 'Europe/London' } },
      gateway: { enabled: true },
      ...spec,
    },
  });

const container = (d: V1Deployment, name: string): V1Container => d.spec!.template.spec!.containers.find((c) => c.name === name)!;
const envOf = (c: V1Container): Record<string, string | undefined> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('the RDBs\' headless Service', () => {
  const c = make();
  const svc = rdbHeadlessService(c);

  test('is headless and publishes not-ready RDBs (a flushed one still serves until the HDB has its day)', () => {
    expect(svc.metadata?.name).toBe('markets-rdbs');
    expect(svc.spec?.clusterIP).toBe('None');
    expect(svc.spec?.publishNotReadyAddresses).toBe(true);
    expect(svc.spec?.ports).toEqual([{ name: 'query', port: RDB_QUERY_PORT, targetPort: RDB_QUERY_PORT }]);
  });

  test('selects the RDB pods of every pool, as the real builder labels them, and nothing else of the cluster', () => {
    for (const pool of c.spec.rdbPools) {
      const pod = rdbPod({ cluster: c, pool, ordinal: 0, agentServiceAccount: 'kdb-rdb-agent' });
      expect(matches(svc.spec!.selector!, pod.metadata?.labels)).toBe(true);
      // The port it names is the one the RDB container listens on.
      expect(pod.spec?.containers.find((x) => x.name === 'rdb')?.ports).toContainEqual({ name: 'query', containerPort: svc.spec!.ports![0]!.port });
    }
    expect(matches(svc.spec!.selector!, tickerplantStatefulSet(c).spec?.template.metadata?.labels)).toBe(false);
    expect(matches(svc.spec!.selector!, gatewayDeployment(c).spec?.template.metadata?.labels)).toBe(false);
    expect(matches(svc.spec!.selector!, hdbDeployment(c).spec?.template.metadata?.labels)).toBe(false);
    // Another cluster's RDBs in the namespace are not ours.
    const other = make({}, 'other');
    expect(matches(svc.spec!.selector!, rdbPod({ cluster: other, pool: other.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'a' }).metadata?.labels)).toBe(false);
  });

  test('is owned by the cluster', () => {
    expect(svc.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'KdbCluster', name: 'markets', uid: 'uid-1', controller: true });
    expect(svc.metadata?.namespace).toBe('trading');
  });
});

describe('the gateway Deployment and Service', () => {
  const c = make();
  const d = gatewayDeployment(c, { query: 'kdb-query', tickerplant: 'kdb-tickerplant' });
  const gw = container(d, 'gateway');
  const env = envOf(gw);

  test('runs the gateway entrypoint of the tickerplant\'s image, one replica by default', () => {
    expect(d.metadata?.name).toBe('markets-gateway');
    expect(d.spec?.replicas).toBe(1);
    expect(gw.image).toBe(c.spec.tickerplant.image);
    expect(gw.args).toEqual(['gateway']);
    expect(gw.ports).toEqual([{ name: 'kdb', containerPort: 5000 }]);
    expect(gw.readinessProbe).toEqual({ tcpSocket: { port: 5000 }, periodSeconds: 2 });
  });

  test('env: its port, the RDBs\' headless Service and the HDB by name:port, the tickerplant\'s end of day', () => {
    expect(env).toMatchObject({
      KDB_GATEWAY_PORT: '5000',
      KDB_GATEWAY_RDB_SERVICE: `markets-rdbs.trading.svc.cluster.local:${RDB_QUERY_PORT}`,
      KDB_GATEWAY_HDB: 'markets-hdb.trading.svc.cluster.local:5012',
      KDB_EOD_TIME: '16:30',
      KDB_TZ: 'Europe/London',
    });
    expect(env).not.toHaveProperty('KDB_GATEWAY_ROW_LIMIT');
    expect(env).not.toHaveProperty('KDB_IPC_CREDENTIALS_FILE');
    expect(env).not.toHaveProperty('KDB_IPC_CREDENTIALS');
  });

  test('the gateway\'s own config reads that env as meant', () => {
    const cfg = gatewayConfig({ ...env, POD_IP: '10.0.0.5' });
    expect(cfg.port).toBe(5000);
    expect(cfg.rdbService).toEqual({ name: 'markets-rdbs.trading.svc.cluster.local', port: RDB_QUERY_PORT });
    expect(cfg.hdb).toBe('markets-hdb.trading.svc.cluster.local:5012');
    expect(cfg.daySpan).toBeDefined();
    expect(cfg.rdbs).toEqual([]);
  });

  test('the Service selects the gateway pods on the client port', () => {
    const svc = gatewayService(c);
    expect(svc.metadata?.name).toBe('markets-gateway');
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.ports).toEqual([{ name: 'kdb', port: 5000, targetPort: 5000 }]);
    expect(matches(svc.spec!.selector!, d.spec?.template.metadata?.labels)).toBe(true);
    expect(d.spec?.selector?.matchLabels).toEqual(d.spec?.template.metadata?.labels);
    expect(d.spec?.template.metadata?.labels).toMatchObject({ 'kdb-operator.dev/cluster': 'markets', 'kdb-operator.dev/role': 'gateway', 'app.kubernetes.io/managed-by': 'kdb-operator' });
  });

  test('restricted like the tickerplant: non-root, read-only root with a scratch /tmp, no token, its node group, the query priority', () => {
    const pod = d.spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'tickerplant' });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.priorityClassName).toBe('kdb-query');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(gw.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(gw.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes?.map((v) => v.name)).toEqual(['tmp']);
    expect(gw.resources).toEqual({ requests: { memory: '256Mi', cpu: '100m' }, limits: { memory: '1Gi' } });
    expect(gatewayDeployment(c).spec?.template.spec?.priorityClassName).toBeUndefined();
  });

  test('credentials: the Secret\'s one key mounted as a file the env names, never a password in env', () => {
    const withCreds = make({ gateway: { enabled: true, credentialsSecret: { name: 'gw-users', key: 'users.txt' }, rowLimit: 5000, replicas: 3, port: 6000, image: 'example.com/gw:2', nodeGroup: 'query' } });
    const dd = gatewayDeployment(withCreds);
    const g = container(dd, 'gateway');
    const e = envOf(g);
    expect(e.KDB_IPC_CREDENTIALS_FILE).toBe(CREDENTIALS_FILE);
    expect(CREDENTIALS_FILE.startsWith('/etc/kdb-gateway/')).toBe(true);
    expect(g.volumeMounts).toContainEqual({ name: 'credentials', mountPath: '/etc/kdb-gateway', readOnly: true });
    expect(dd.spec?.template.spec?.volumes).toContainEqual({
      name: 'credentials',
      secret: { secretName: 'gw-users', items: [{ key: 'users.txt', path: 'credentials' }], defaultMode: 0o440 },
    });
    expect(JSON.stringify(g.env)).not.toMatch(/secretKeyRef|PASSWORD/);
    expect(e.KDB_GATEWAY_ROW_LIMIT).toBe('5000');
    expect(gatewayConfig({ ...e }).rowLimit).toBe(5000);
    expect(dd.spec?.replicas).toBe(3);
    expect(g.image).toBe('example.com/gw:2');
    expect(e.KDB_GATEWAY_PORT).toBe('6000');
    expect(g.ports).toEqual([{ name: 'kdb', containerPort: 6000 }]);
    expect(gatewayService(withCreds).spec?.ports).toEqual([{ name: 'kdb', port: 6000, targetPort: 6000 }]);
    expect(dd.spec?.template.spec?.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'query' });
    expect(hdbDeployment(withCreds).spec?.template.spec?.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'query' });
    expect(container(hdbDeployment(withCreds), 'hdb').image).toBe('example.com/gw:2');
  });
});

describe('the HDB Deployment and Service', () => {
  const c = make();
  const d = hdbDeployment(c);
  const h = container(d, 'hdb');
  const env = envOf(h);

  test('one replica of the hdb entrypoint on the cluster\'s HDB folder, read-only', () => {
    expect(d.metadata?.name).toBe('markets-hdb');
    expect(d.spec?.replicas).toBe(1);
    expect(h.args).toEqual(['hdb']);
    expect(env).toMatchObject({ KDB_HDB_DIR: '/efs/kdb/trading/markets/hdb', KDB_HDB_PORT: '5012' });
    expect(h.volumeMounts).toContainEqual({ name: 'efs', mountPath: '/efs', readOnly: true });
    expect(d.spec?.template.spec?.volumes).toContainEqual({ name: 'efs', persistentVolumeClaim: { claimName: 'markets-efs', readOnly: true } });
    expect(h.readinessProbe).toEqual({ tcpSocket: { port: 5012 }, periodSeconds: 2 });
    expect(hdbConfig({ ...env }).port).toBe(5012);
  });

  test('the HDB folder is the one the RDBs and the merge write', () => {
    const rdb = rdbPod({ cluster: c, pool: c.spec.rdbPools[0]!, ordinal: 0, agentServiceAccount: 'a' });
    const rdbEnv = Object.fromEntries((rdb.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    expect(env.KDB_HDB_DIR).toBe(rdbEnv.KDB_HDB_DIR);
  });

  test('its Service selects it on its port; the gateway asks that port', () => {
    const svc = hdbService(c);
    expect(svc.metadata?.name).toBe('markets-hdb');
    expect(svc.spec?.ports).toEqual([{ name: 'kdb', port: 5012, targetPort: 5012 }]);
    expect(matches(svc.spec!.selector!, d.spec?.template.metadata?.labels)).toBe(true);
    expect(matches(svc.spec!.selector!, gatewayDeployment(c).spec?.template.metadata?.labels)).toBe(false);
    const moved = make({ gateway: { enabled: true, hdb: { port: 6012 } } });
    expect(envOf(container(gatewayDeployment(moved), 'gateway')).KDB_GATEWAY_HDB).toBe('markets-hdb.trading.svc.cluster.local:6012');
    expect(hdbService(moved).spec?.ports?.[0]?.port).toBe(6012);
  });

  test('restricted, no token, the tickerplant\'s node group', () => {
    const pod = d.spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.nodeSelector).toEqual({ 'eks.amazonaws.com/nodegroup': 'tickerplant' });
    expect(h.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
    expect(h.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });
});

describe('the tickerplant\'s kdb+ IPC port (spec.tickerplant.ipcPort)', () => {
  test('unset: no IPC env, port or Service port', () => {
    const c = make();
    const tp = tickerplantStatefulSet(c).spec!.template.spec!.containers[0]!;
    expect(tp.env?.some((e) => e.name === 'KDB_TP_IPC_PORT')).toBe(false);
    expect(tp.ports).toEqual([{ name: 'tick', containerPort: 5010 }, { name: 'metrics', containerPort: 9464 }]);
    expect(tickerplantService(c).spec?.ports).toEqual([{ name: 'tick', port: 5010, targetPort: 5010 }]);
  });

  test('set: KDB_TP_IPC_PORT, a container port and a Service port named ipc', () => {
    const c = make({ tickerplant: { ipcPort: 5020 } });
    const tp = tickerplantStatefulSet(c).spec!.template.spec!.containers[0]!;
    expect(tp.env).toContainEqual({ name: 'KDB_TP_IPC_PORT', value: '5020' });
    expect(tp.ports).toEqual([{ name: 'tick', containerPort: 5010 }, { name: 'ipc', containerPort: 5020 }, { name: 'metrics', containerPort: 9464 }]);
    expect(tickerplantService(c).spec?.ports).toEqual([
      { name: 'tick', port: 5010, targetPort: 5010 },
      { name: 'ipc', port: 5020, targetPort: 5020 },
    ]);
  });
});
