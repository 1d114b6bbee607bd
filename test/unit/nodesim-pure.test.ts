// Pure parts of the node simulator: image map, names, quantities, env
// expansion, downward API values and readiness-gate conditions.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { NameTable } from '../nodesim/hosts.ts';
import { imageRepository, loadImages, imageEnv, resolveArgv } from '../nodesim/images.ts';
import { capacityOf, nodeResources } from '../nodesim/instance-types.ts';
import { parseQuantity } from '../nodesim/quantity.ts';
import { AddressPool } from '../nodesim/addresses.ts';
import { ConditionClock } from '../nodesim/kubelet/conditions.ts';
import { resourceValue } from '../nodesim/kubelet/downward.ts';
import { buildEnv, expand } from '../nodesim/kubelet/env.ts';

describe('image map', () => {
  const images = loadImages();
  it('matches by repository whatever the tag or digest', () => {
    expect(imageRepository('ghcr.io/kdb-operator/sim:0.1.0')).toBe('ghcr.io/kdb-operator/sim');
    expect(imageRepository('ghcr.io/kdb-operator/sim@sha256:abc')).toBe('ghcr.io/kdb-operator/sim');
    expect(imageRepository('localhost:5000/x/y:1')).toBe('localhost:5000/x/y');
    expect(imageRepository('docker.io/library/busybox:1.36')).toBe('busybox');
  });
  it('command replaces the entrypoint, args replace the image args, as Kubernetes does', () => {
    expect(resolveArgv(images, 'ghcr.io/kdb-operator/operator:1', undefined, ['agent'])).toEqual(['node', '--max-semi-space-size=2', 'operator/src/main.ts', 'agent']);
    expect(resolveArgv(images, 'ghcr.io/kdb-operator/sim:latest', undefined, ['rdb'])).toEqual(['sh', 'images/sim/entrypoint.sh', 'rdb']);
    expect(resolveArgv(images, 'busybox', ['sh', '-c', 'true'], undefined)).toEqual(['sh', '-c', 'true']);
    expect(resolveArgv(images, 'busybox', ['echo'], ['a'])).toEqual(['echo', 'a']);
    expect(() => resolveArgv(images, 'nope/unknown:1', undefined, undefined)).toThrow(/not in test\/nodesim\/images.yaml/);
  });
  it('runs the operator image as its Dockerfile does (ENTRYPOINT and CMD), so the stack measures what users run', () => {
    const dockerfile = readFileSync(fileURLToPath(new URL('../../images/operator/Dockerfile', import.meta.url)), 'utf8');
    const json = (directive: string) => JSON.parse(new RegExp(`^${directive} (\\[.*\\])$`, 'm').exec(dockerfile)![1]!) as string[];
    expect(resolveArgv(images, 'ghcr.io/kdb-operator/operator:1', undefined, undefined)).toEqual([...json('ENTRYPOINT'), ...json('CMD')]);
    const env = Object.fromEntries([...dockerfile.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]).filter(([k]) => k !== 'NODE_ENV'));
    expect(imageEnv(images, 'ghcr.io/kdb-operator/operator:1')).toEqual(env);
    expect(env).toHaveProperty('NODE_COMPILE_CACHE');
  });
  it("puts the image's ENV under the pod's env, as the container runtime does", async () => {
    const env = await buildEnv({
      pod: { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [] } } as V1Pod,
      container: { name: 'c', env: [{ name: 'NODE_COMPILE_CACHE', value: '/elsewhere' }, { name: 'X', value: '$(FROM_IMAGE)-pod' }] },
      addresses: { podIP: '127.10.0.2', hostIP: '127.0.0.1' },
      allocatable: {},
      hostname: 'p',
      repoRoot: '/repo',
      serviceEnv: {},
      apiserver: { host: '127.0.0.1', port: 6443 },
      objects: { configMap: () => Promise.resolve(undefined), secret: () => Promise.resolve(undefined) },
      imageEnv: { NODE_COMPILE_CACHE: '.node-compile-cache', FROM_IMAGE: 'img' },
    });
    // The kubelet expands $(VAR) from the pod's env only: it never sees the image's.
    expect(env).toMatchObject({ NODE_COMPILE_CACHE: '/elsewhere', FROM_IMAGE: 'img', X: '$(FROM_IMAGE)-pod' });
    expect(imageEnv(images, 'busybox')).toEqual({});
    expect(imageEnv(images, 'not/in-the-map:1')).toEqual({});
  });
  it("runs an image's own binary from the checkout's build of it, by entrypoint or by command", () => {
    const built = fileURLToPath(new URL('../../agent/bin/kdb-agent', import.meta.url));
    expect(resolveArgv(images, 'ghcr.io/kdb-operator/agent:0.1.0', undefined, undefined)).toEqual([built]);
    expect(resolveArgv(images, 'ghcr.io/kdb-operator/agent:0.1.0', ['/kdb-agent'], ['-v'])).toEqual([built, '-v']);
    // Only the image that holds it: the same path in another image is left to fail as it would.
    expect(resolveArgv(images, 'busybox', ['/kdb-agent'], undefined)).toEqual(['/kdb-agent']);
  });
});

describe('quantities and capacities', () => {
  it('parses binary and decimal suffixes', () => {
    expect(parseQuantity('256Mi')).toBe(256 * 2 ** 20);
    expect(parseQuantity('500m')).toBeCloseTo(0.5);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1e3')).toBe(1000);
  });
  it('sizes nodes by instance type', () => {
    expect(capacityOf('t3a.medium')).toEqual({ cpu: 2, memoryMi: 4096, pods: 17 });
    expect(nodeResources('t3a.large')).toMatchObject({ cpu: '2', memory: '8192Mi', pods: '35' });
  });
  it('hands out distinct loopback addresses', () => {
    const pool = new AddressPool('127.10');
    const a = pool.allocate();
    const b = pool.allocate();
    expect(a).toBe('127.10.0.1');
    expect(b).toBe('127.10.0.2');
    pool.release(a);
    expect(pool.allocate()).toBe('127.10.0.3');
  });
});

describe('env', () => {
  it('expands $(VAR) from what is defined, keeps unknown refs and $$ escapes', () => {
    expect(expand('$(A)-$(B)-$$(A)', { A: 'x' })).toBe('x-$(B)-$(A)');
  });
  it('resource fields use the divisor and fall back to node allocatable for limits', () => {
    const pod: V1Pod = { spec: { containers: [{ name: 'c', resources: { limits: { memory: '256Mi', cpu: '500m' } } }] } };
    const c = pod.spec!.containers[0];
    expect(resourceValue(pod, c, { resource: 'limits.memory', divisor: '1Mi' as never }, {})).toBe('256');
    expect(resourceValue(pod, c, { resource: 'limits.cpu', divisor: '1m' as never }, {})).toBe('500');
    expect(resourceValue(pod, c, { resource: 'limits.cpu' }, {})).toBe('1');
    expect(resourceValue(pod, c, { resource: 'limits.memory', divisor: '0' as never }, {})).toBe(String(256 * 2 ** 20));
    const bare: V1Pod = { spec: { containers: [{ name: 'c' }] } };
    expect(resourceValue(bare, bare.spec!.containers[0], { resource: 'limits.memory', divisor: '1Mi' as never }, { memory: '4096Mi' })).toBe('4096');
  });
});

describe('names without DNS', () => {
  const pod = (name: string, ip: string, labels: Record<string, string>, extra: Partial<V1Pod['spec']> = {}, ready = true): V1Pod => ({
    metadata: { name, namespace: 'ns', labels, creationTimestamp: new Date(`2026-01-01T00:00:0${name.length % 10}Z`) },
    spec: { containers: [], ...extra },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const svc = (name: string, selector: Record<string, string>, headless = false): V1Service => ({
    metadata: { name, namespace: 'ns' },
    spec: { selector, clusterIP: headless ? 'None' : '10.96.0.10', ports: [{ name: 'q', port: 5011, protocol: 'TCP' }] },
  });
  const table = new NameTable(
    [
      svc('tp', { app: 'tp' }, true),
      svc('down', { app: 'none' }),
      { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ port: 443 }] } },
    ],
    [pod('tp-0', '127.10.0.7', { app: 'tp' }, { hostname: 'tp-0', subdomain: 'tp' }), pod('other', '127.10.0.8', { app: 'none' }, {}, false)],
    '127.0.0.1',
  );
  it('maps a Service to a ready endpoint pod IP, never a ClusterIP', () => {
    const hosts = table.hostsFor(pod('client', '127.10.0.9', {}));
    expect(hosts).toMatch(/^127\.10\.0\.7\ttp tp\.ns tp\.ns\.svc tp\.ns\.svc\.cluster\.local$/m);
    expect(hosts).toMatch(/^127\.10\.0\.7\ttp-0\.tp\.ns\.svc\.cluster\.local .* tp-0\.tp$/m);
    expect(hosts).toMatch(/^127\.10\.0\.9\tclient$/m);
    expect(hosts).toMatch(/^127\.0\.0\.1\t.*kubernetes\.default\.svc\.cluster\.local/m);
    expect(hosts).not.toMatch(/10\.96\./);
    expect(hosts).not.toMatch(/\bdown\b/);
  });
  it('writes the pod its own FQDN first when it has a subdomain', () => {
    const own = table.hostsFor(pod('tp-0', '127.10.0.7', { app: 'tp' }, { hostname: 'tp-0', subdomain: 'tp' }));
    expect(own.split('\n')[3]).toBe('127.10.0.7\ttp-0.tp.ns.svc.cluster.local\ttp-0');
  });
  it('lists every member of a headless Service under its names, one line per pod IP (ready or not with publishNotReadyAddresses)', () => {
    const rdbs: V1Service = {
      metadata: { name: 'demo-rdbs', namespace: 'ns' },
      spec: { selector: { role: 'rdb' }, clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'query', port: 5011, protocol: 'TCP' }] },
    };
    const t = new NameTable(
      [rdbs, svc('gw', { app: 'gw' })],
      [
        pod('r-0', '127.10.0.20', { role: 'rdb' }),
        pod('r-11', '127.10.0.21', { role: 'rdb' }, {}, false), // flushed: not ready, still listed
        pod('r-222', '127.10.0.22', { role: 'rdb' }),
        pod('gw-a', '127.10.0.30', { app: 'gw' }),
        pod('gw-bb', '127.10.0.31', { app: 'gw' }),
      ],
      '127.0.0.1',
    );
    const lines = t.hostsFor(pod('client', '127.10.0.9', {})).split('\n');
    const names = 'demo-rdbs demo-rdbs.ns demo-rdbs.ns.svc demo-rdbs.ns.svc.cluster.local';
    expect(lines.filter((l) => l.endsWith(`\t${names}`))).toEqual([`127.10.0.20\t${names}`, `127.10.0.21\t${names}`, `127.10.0.22\t${names}`]);
    // Not headless: one address, the oldest member, as before.
    expect(lines.filter((l) => /\tgw /.test(l))).toEqual(['127.10.0.30\tgw gw.ns gw.ns.svc gw.ns.svc.cluster.local']);
    // Service env stays one address per Service.
    expect(t.serviceEnv('ns')).toMatchObject({ DEMO_RDBS_SERVICE_HOST: '127.10.0.20', GW_SERVICE_HOST: '127.10.0.30' });
  });
  it('gives Service env vars pointing at the endpoint, in the pod namespace only', () => {
    expect(table.serviceEnv('ns')).toMatchObject({ TP_SERVICE_HOST: '127.10.0.7', TP_SERVICE_PORT: '5011', TP_PORT_5011_TCP_ADDR: '127.10.0.7' });
    expect(table.serviceEnv('other')).toEqual({});
  });
});

describe('pod conditions', () => {
  const base: V1Pod = { spec: { containers: [], readinessGates: [{ conditionType: 'kdb-operator.dev/Live' }] }, status: { conditions: [] } };
  const own = { initialized: true, containersReady: true, sandboxReady: true, terminal: false };
  it('holds Ready False until every readiness gate is True', () => {
    const clock = new ConditionClock(base);
    const ready = (p: V1Pod) => clock.build(p, own).find((c) => c.type === 'Ready');
    expect(ready(base)).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady' });
    const live: V1Pod = { ...base, status: { conditions: [{ type: 'kdb-operator.dev/Live', status: 'True' }] } };
    expect(ready(live)).toMatchObject({ status: 'True', reason: null });
  });
  it('never writes condition types it does not own', () => {
    const live: V1Pod = { ...base, status: { conditions: [{ type: 'kdb-operator.dev/Live', status: 'True' }, { type: 'PodScheduled', status: 'True' }] } };
    const types = new ConditionClock(live).build(live, own).map((c) => c.type);
    expect(types).toEqual(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);
  });
});
