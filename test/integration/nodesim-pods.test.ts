// The kubelet stand-in: pods run as real local processes with the env,
// volumes, names, status, termination and OOM behaviour of a kubelet.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { k8s } from '../lib/kube.ts';
import {
  condition,
  core,
  createEfsClaim,
  createNamespace,
  deleteNamespace,
  deletePersistentVolume,
  efsRoot,
  isRunningReady,
  kc,
  apps,
  pidsWithEnv,
  readPod,
  simulatedNodes,
  waitFor,
  waitForPod,
  waitForPodGone,
} from './nodesim-env.ts';

let ns: string;
let pv: string;
const sub = `/nodesim-test-${Date.now().toString(36)}`;
const shared = (): string => join(efsRoot(), sub);
const readShared = (file: string): string => readFileSync(join(shared(), file), 'utf8');
const waitForShared = (file: string, timeoutMs = 20_000): Promise<string> =>
  waitFor(`${file} in the EFS folder`, () => existsSync(join(shared(), file)) && readShared(file), timeoutMs);

const envOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

const shellPod = (name: string, script: string, extra: Partial<V1Pod['spec']> = {}): V1Pod => ({
  metadata: { name, labels: { app: name } },
  spec: {
    terminationGracePeriodSeconds: 5,
    containers: [
      {
        name: 'main',
        image: 'busybox:1.36',
        command: ['sh', '-c', script],
        env: [{ name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }],
        volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
      },
    ],
    volumes: [{ name: 'shared', persistentVolumeClaim: { claimName: 'shared' } }],
    ...extra,
  },
});

beforeAll(async () => {
  ns = await createNamespace('nodesim-pods');
  pv = await createEfsClaim(ns, 'shared', sub);
}, 60_000);

afterAll(async () => {
  await deleteNamespace(ns);
  await deletePersistentVolume(pv);
}, 90_000);

describe('node simulator kubelet', () => {
  it('runs a pod as a real process with downward API env, resource limits, ConfigMap/Secret env and volumes', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cfg' }, data: { greeting: 'hello', mode: 'fast' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sec' }, stringData: { password: 's3cret' } } });
    const pod: V1Pod = {
      metadata: { name: 'envpod', labels: { app: 'envpod' }, annotations: { note: 'from-annotation' } },
      spec: {
        terminationGracePeriodSeconds: 2,
        initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo from-init > /scratch/init.txt'], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
        containers: [
          {
            name: 'main',
            image: 'busybox:1.36',
            command: ['sh', '-c', 'd=/shared/envpod; mkdir -p $d; env > $d/env.txt; cat /etc/hosts > $d/hosts; hostname > $d/hostname; cat /cfg/greeting > $d/cfg.txt; cat /scratch/init.txt > $d/init.txt; ls /var/run/secrets/kubernetes.io/serviceaccount > $d/sa.txt; echo $$ > $d/done; exec sleep 3600'],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
              { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              { name: 'SA_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
              { name: 'LABEL_APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
              { name: 'MEM_LIMIT_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
              { name: 'CPU_LIMIT_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
              { name: 'MEM_REQUEST', valueFrom: { resourceFieldRef: { resource: 'requests.memory' } } },
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
              { name: 'COMPOSED', value: '$(POD_NAME)-on-$(NODE_NAME)' },
            ],
            envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
            resources: { requests: { memory: '128Mi', cpu: '250m' }, limits: { memory: '256Mi', cpu: '500m' } },
            volumeMounts: [
              { name: 'shared', mountPath: '/shared' },
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'cfg', mountPath: '/cfg', readOnly: true },
            ],
          },
        ],
        volumes: [
          { name: 'shared', persistentVolumeClaim: { claimName: 'shared' } },
          { name: 'scratch', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'cfg' } },
        ],
      },
    };
    await core.createNamespacedPod({ namespace: ns, body: pod });
    const running = await waitForPod(ns, 'envpod', 'Running and Ready', isRunningReady);
    await waitForShared('envpod/done');
    const env = envOf(readShared('envpod/env.txt'));
    const node = await core.readNode({ name: running.spec!.nodeName! });
    const serverPort = new URL(kc.getCurrentCluster()!.server).port;

    expect(running.status?.podIP).toMatch(/^127\./);
    expect(running.status?.hostIP).toBe(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
    expect(env).toMatchObject({
      POD_NAME: 'envpod',
      POD_NAMESPACE: ns,
      POD_UID: running.metadata!.uid!,
      NODE_NAME: running.spec!.nodeName!,
      POD_IP: running.status!.podIP!,
      HOST_IP: running.status!.hostIP!,
      SA_NAME: 'default',
      LABEL_APP: 'envpod',
      NOTE: 'from-annotation',
      MEM_LIMIT_MI: '256',
      CPU_LIMIT_M: '500',
      MEM_REQUEST: String(128 * 2 ** 20),
      GREETING: 'hello',
      PASSWORD: 's3cret',
      COMPOSED: `envpod-on-${running.spec!.nodeName}`,
      CFG_greeting: 'hello',
      CFG_mode: 'fast',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: serverPort,
      HOSTNAME: 'envpod',
    });
    expect(env.PATH?.split(':')[0]).toMatch(/node_modules\/\.bin$/);
    expect(readShared('envpod/hostname').trim()).toBe('envpod');
    expect(readShared('envpod/cfg.txt')).toBe('hello');
    expect(readShared('envpod/init.txt').trim()).toBe('from-init');
    expect(readShared('envpod/sa.txt').split('\n')).toEqual(expect.arrayContaining(['ca.crt', 'namespace', 'token']));
    expect(readShared('envpod/hosts')).toMatch(new RegExp(`^${running.status!.podIP!.replace(/\./g, '\\.')}\\s+envpod$`, 'm'));
    // A real process: its environment carries the pod's UID.
    expect(pidsWithEnv(`POD_UID=${running.metadata!.uid}`).length).toBeGreaterThan(0);

    const cs = running.status?.containerStatuses?.[0];
    expect(cs).toMatchObject({ name: 'main', ready: true, started: true, restartCount: 0, image: 'busybox:1.36' });
    expect(cs?.state?.running?.startedAt).toBeDefined();
    expect(cs?.containerID).toMatch(/^nodesim:\/\//);
    expect(running.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) expect(condition(running, t)).toBe('True');
    expect(running.status?.startTime).toBeDefined();
  }, 60_000);

  it('sends SIGTERM on deletion, waits for the process, and removes the pod after it exits', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: shellPod('graceful', 'trap "echo TERM > /shared/graceful.term; exit 0" TERM; echo up > /shared/graceful.up; while true; do sleep 0.2; done'),
    });
    const p = await waitForPod(ns, 'graceful', 'Running', isRunningReady);
    await waitForShared('graceful.up');
    const t0 = Date.now();
    await core.deleteNamespacedPod({ name: 'graceful', namespace: ns });
    await waitForPodGone(ns, 'graceful', 15_000);
    expect(readShared('graceful.term').trim()).toBe('TERM');
    // Well inside the 30 s grace period: the pod went when its process did.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(pidsWithEnv(`POD_UID=${p.metadata!.uid}`)).toEqual([]);
  }, 60_000);

  it('a pod force-deleted and recreated under its name at once gets its own status: the old worker never writes onto it', async () => {
    const script = 'echo $POD_UID > /shared/reborn.$POD_UID; while true; do sleep 0.2; done';
    await core.createNamespacedPod({ namespace: ns, body: shellPod('reborn', script) });
    const first = await waitForPod(ns, 'reborn', 'Running', isRunningReady);
    // As a StatefulSet does after a force delete: the same name, another uid, straight away.
    await core.deleteNamespacedPod({ name: 'reborn', namespace: ns, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0 } });
    await waitForPodGone(ns, 'reborn', 15_000);
    await core.createNamespacedPod({ namespace: ns, body: shellPod('reborn', script) });
    const second = await waitForPod(ns, 'reborn', 'Running', (p) => isRunningReady(p) && p.metadata?.uid !== first.metadata?.uid);
    await waitForShared(`reborn.${second.metadata!.uid}`);
    expect(second.status?.podIP).toBeTruthy();
    expect(second.status?.podIP).not.toBe(first.status?.podIP);
    // Some seconds on, the status is still the new pod's own (the old worker's last writes are refused by uid).
    await new Promise((r) => setTimeout(r, 3_000));
    const later = await readPod(ns, 'reborn');
    expect(later.metadata?.uid).toBe(second.metadata?.uid);
    expect(later.status?.podIP).toBe(second.status?.podIP);
    expect(condition(later, 'Ready')).toBe('True');
    await core.deleteNamespacedPod({ name: 'reborn', namespace: ns, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0 } });
  }, 90_000);

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: shellPod('stubborn', 'trap "echo ignored >> /shared/stubborn.term" TERM; echo up > /shared/stubborn.up; while true; do sleep 0.2; done', {
        terminationGracePeriodSeconds: 2,
      }),
    });
    await waitForPod(ns, 'stubborn', 'Running', isRunningReady);
    await waitForShared('stubborn.up');
    const t0 = Date.now();
    await core.deleteNamespacedPod({ name: 'stubborn', namespace: ns });
    await waitForPodGone(ns, 'stubborn', 15_000);
    const took = Date.now() - t0;
    expect(readShared('stubborn.term')).toContain('ignored');
    expect(took).toBeGreaterThanOrEqual(1900);
  }, 60_000);

  it('two pods on different nodes share one EFS folder', async () => {
    const nodes = await simulatedNodes();
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    const [a, b] = [nodes[0]!.metadata!.name!, nodes[1]!.metadata!.name!];
    const pin = (node: string) => ({ nodeSelector: { 'kubernetes.io/hostname': node } });
    await core.createNamespacedPod({ namespace: ns, body: shellPod('writer', 'echo "from $HOSTNAME" > /shared/efs-a.txt; exec sleep 3600', pin(a)) });
    await core.createNamespacedPod({
      namespace: ns,
      body: shellPod('reader', 'while [ ! -s /shared/efs-a.txt ]; do sleep 0.1; done; cp /shared/efs-a.txt /shared/efs-b.txt; exec sleep 3600', pin(b)),
    });
    const w = await waitForPod(ns, 'writer', 'Running', (p) => p.status?.phase === 'Running');
    const r = await waitForPod(ns, 'reader', 'Running', (p) => p.status?.phase === 'Running');
    expect(w.spec?.nodeName).toBe(a);
    expect(r.spec?.nodeName).toBe(b);
    const copied = await waitForShared('efs-b.txt');
    expect(copied).toBe(readShared('efs-a.txt'));
  }, 60_000);

  it('OOMKills a container whose processes pass its memory limit', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'hog' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'hog',
              image: 'node',
              command: ['node', '-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(16e6, 1)), 20)'],
              resources: { limits: { memory: '150Mi' } },
            },
          ],
        },
      },
    });
    const p = await waitForPod(ns, 'hog', 'Failed', (x) => x.status?.phase === 'Failed');
    expect(p.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  }, 60_000);

  it('restarts a failing container with restartPolicy OnFailure and reports lastState', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: shellPod('flaky', 'if [ -e /shared/flaky.once ]; then exec sleep 3600; fi; touch /shared/flaky.once; exit 3', { restartPolicy: 'OnFailure' }),
    });
    const p = await waitForPod(ns, 'flaky', 'restarted and Ready', (x) => isRunningReady(x) && (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
    expect(p.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  }, 60_000);

  it('holds Ready until every readiness gate is True, and keeps conditions others write', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        ...shellPod('gated', 'exec sleep 3600', { readinessGates: [{ conditionType: 'kdb-operator.dev/Live' }] }),
      },
    });
    const p = await waitForPod(ns, 'gated', 'ContainersReady', (x) => condition(x, 'ContainersReady') === 'True');
    expect(condition(p, 'Ready')).toBe('False');
    await core.patchNamespacedPodStatus(
      { name: 'gated', namespace: ns, body: { status: { conditions: [{ type: 'kdb-operator.dev/Live', status: 'True', reason: 'Live' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const ready = await waitForPod(ns, 'gated', 'Ready', (x) => condition(x, 'Ready') === 'True');
    expect(condition(ready, 'kdb-operator.dev/Live')).toBe('True');
    // Ready True was the kubelet's own write after the gate's: the gate condition survived it.
    expect(ready.status?.conditions?.find((c) => c.type === 'kdb-operator.dev/Live')?.reason).toBe('Live');
  }, 60_000);

  it('runs sidecar init containers, mounts Secret, subPath and projected volumes, restarts on a failed liveness probe', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'files' }, data: { 'app.conf': 'x=1', other: 'y' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'pw' }, stringData: { pw: 'hunter2' } } });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'misc', labels: { team: 'rates' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          initContainers: [{ name: 'side', image: 'busybox', restartPolicy: 'Always', command: ['sh', '-c', 'exec sleep 3600'] }],
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: ['sh', '-c', 'd=/shared/misc; mkdir -p $d; cat /etc/app.conf > $d/conf; cat /sec/pw > $d/pw; cat /info/labels > $d/labels; exec sleep 3600'],
              volumeMounts: [
                { name: 'shared', mountPath: '/shared' },
                { name: 'files', mountPath: '/etc/app.conf', subPath: 'app.conf' },
                { name: 'pw', mountPath: '/sec', readOnly: true },
                { name: 'info', mountPath: '/info' },
              ],
            },
            // Nothing listens on 9999: the liveness probe fails and the kubelet restarts it.
            { name: 'live', image: 'busybox', command: ['sh', '-c', 'exec sleep 3600'], livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 1 } },
          ],
          volumes: [
            { name: 'shared', persistentVolumeClaim: { claimName: 'shared' } },
            { name: 'files', configMap: { name: 'files' } },
            { name: 'pw', secret: { secretName: 'pw' } },
            { name: 'info', projected: { sources: [{ downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }] } },
          ],
        },
      },
    });
    const p = await waitForPod(ns, 'misc', 'live container restarted', (x) => (x.status?.containerStatuses?.find((c) => c.name === 'live')?.restartCount ?? 0) >= 1);
    expect(p.status?.initContainerStatuses?.[0]).toMatchObject({ name: 'side', started: true, state: { running: expect.anything() } });
    expect(p.status?.containerStatuses?.find((c) => c.name === 'main')?.state?.running).toBeDefined();
    expect(await waitForShared('misc/labels')).toContain('team="rates"');
    expect(readShared('misc/conf')).toBe('x=1');
    expect(readShared('misc/pw')).toBe('hunter2');
  }, 60_000);

  it('readiness probes gate Ready and Services resolve through /etc/hosts to ready pod IPs', async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'web' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] } },
    });
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          serviceName: 'web',
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [
                {
                  name: 'srv',
                  image: 'node',
                  // Listens on the wildcard address: the simulator keeps pods apart anyway.
                  command: ['node', '-e', "setTimeout(() => require('http').createServer((q, s) => s.end(require('os').hostname())).listen(8080), 1500)"],
                  ports: [{ name: 'http', containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    const web = await waitForPod(ns, 'web-0', 'Ready', isRunningReady, 45_000);
    expect(web.status?.containerStatuses?.[0]?.ready).toBe(true);
    await core.createNamespacedPod({
      namespace: ns,
      body: shellPod(
        'client',
        `until grep -q "web-0.web" /etc/hosts; do sleep 0.2; done; cp /etc/hosts /shared/client.hosts; exec sleep 3600`,
      ),
    });
    const hosts = await waitForShared('client.hosts');
    const ip = web.status!.podIP!.replace(/\./g, '\\.');
    expect(hosts).toMatch(new RegExp(`^${ip}\\s.*\\bweb\\.${ns}\\.svc\\.cluster\\.local\\b`, 'm'));
    expect(hosts).toMatch(new RegExp(`^${ip}\\s.*\\bweb-0\\.web\\.${ns}\\.svc\\.cluster\\.local\\b`, 'm'));
    const res = await fetch(`http://${web.status!.podIP}:8080/`);
    expect(await res.text()).toBe('web-0');
  }, 90_000);
});


