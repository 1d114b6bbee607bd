import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { startHealthServer } from '../../operator/src/runtime/http.ts';
import { createMetrics } from '../../operator/src/runtime/metrics.ts';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import { LABEL } from '../../operator/src/specs/names.ts';
import { tickerplantStatefulSet } from '../../operator/src/specs/tickerplant.ts';

// The chart as a platform team meets it: its defaults (two replicas, a
// budget, spread over nodes, a Service and a helm test), the values schema
// refusing bad values with the field named, and the helm test's script run
// against the operator's real HTTP server. A real tool, no cluster: the helm
// the stack builds (test/stack/build-control-plane.sh; test/run-tests.sh builds it before the unit tests).
const run = promisify(execFile);
// helm template of the whole chart has taken over 5 s on a loaded 2-core machine.
jest.setTimeout(60_000);
const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'charts/kdb-operator');
let helmBin = '';
const helm = async (...args: string[]): Promise<string> => (await run(helmBin, args, { maxBuffer: 8 << 20 })).stdout;

type Doc = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any };
const render = async (...set: string[]): Promise<Doc[]> =>
  parseAllDocuments(await helm('template', 'kdb-operator', chart, '-n', 'kdb-system', ...set.flatMap((s) => ['--set', s])))
    .map((d) => d.toJSON() as Doc)
    .filter(Boolean);
/** helm's refusal of a value: its stderr. */
const refusal = async (...set: string[]): Promise<string> => {
  const err = await render(...set).then(
    () => undefined,
    (e: { stderr?: string }) => e.stderr ?? String(e),
  );
  if (err === undefined) throw new Error(`helm template accepted ${set.join(' ')}`);
  return err;
};
const one = (docs: Doc[], kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind && d.metadata.annotations?.['helm.sh/hook'] === undefined);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const testPods = (docs: Doc[]): Doc[] => docs.filter((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test');
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

let defaults: Doc[] = [];
// On a fresh machine `make test` reaches the unit tests before the stack's
// tools exist: the script builds them (once, into a cache outside the
// checkout; the stack reuses them), which takes minutes. Instant afterwards.
// The folder is the script's last line of output.
beforeAll(async () => {
  helmBin = join((await run('bash', [join(root, 'test/stack/build-control-plane.sh'), '--print-dir'], { maxBuffer: 64 << 20 })).stdout.trim().split('\n').at(-1)!, 'helm');
  defaults = await render();
}, 45 * 60_000);

describe('defaults', () => {
  test('two operator replicas, preferring different nodes', () => {
    const dep = one(defaults, 'Deployment');
    expect(dep.spec.replicas).toBe(2);
    const podLabels = dep.spec.template.metadata.labels;
    const anti = dep.spec.template.spec.affinity.podAntiAffinity;
    // Preferred, never required: a one-node system group still runs both.
    expect(anti.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(anti.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    const term = anti.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(term.labelSelector.matchLabels).toEqual(dep.spec.selector.matchLabels);
    expect(matches(term.labelSelector.matchLabels, podLabels)).toBe(true);
  });

  test('a PodDisruptionBudget keeps one operator pod, counting exactly the operator pods', () => {
    const dep = one(defaults, 'Deployment');
    const pdb = one(defaults, 'PodDisruptionBudget');
    expect(pdb.metadata.namespace).toBe('kdb-system');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: dep.spec.selector.matchLabels } });
  });

  test('a Service on the HTTP port with port = targetPort (the local stack connects to the pod directly)', () => {
    const dep = one(defaults, 'Deployment');
    const svc = one(defaults, 'Service');
    expect(svc.metadata.name).toBe('kdb-operator-metrics');
    expect(svc.spec.selector).toEqual(dep.spec.selector.matchLabels);
    const port = dep.spec.template.spec.containers[0].ports.find((p: { name: string }) => p.name === 'metrics').containerPort;
    expect(svc.spec.ports).toEqual([{ name: 'metrics', port, targetPort: port }]);
  });

  test('the probes ask /healthz (liveness) and /readyz (readiness) on that port', () => {
    const c = one(defaults, 'Deployment').spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  test('a helm test pod asks the operator through the Service, under the restricted pod security standard', () => {
    const [pod, ...more] = testPods(defaults);
    expect(more).toHaveLength(0);
    const dep = one(defaults, 'Deployment');
    // Neither the Deployment, its budget nor its Service may count the test pod.
    expect(matches(dep.spec.selector.matchLabels, pod!.metadata.labels)).toBe(false);
    const spec = pod!.spec;
    expect(spec.restartPolicy).toBe('Never');
    const env = Object.fromEntries(spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.OPERATOR_URL).toBe('http://kdb-operator-metrics.kdb-system:8080');
    expect(spec.containers[0].image).toBe('node:24-alpine');
    expect(spec.containers[0].command.slice(0, 2)).toEqual(['node', '-e']);
    for (const p of [spec, dep.spec.template.spec]) {
      expect(p.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of p.containers) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
  });
});

describe('values that change the defaults', () => {
  test('one replica: no budget (1 of 1 would block every drain of its node); none either when disabled', async () => {
    const single = await render('replicas=1');
    expect(one(single, 'Deployment').spec.replicas).toBe(1);
    expect(single.some((d) => d.kind === 'PodDisruptionBudget')).toBe(false);
    expect(testPods(single)).toHaveLength(1);
    expect((await render('podDisruptionBudget.enabled=false')).some((d) => d.kind === 'PodDisruptionBudget')).toBe(false);
  });

  test('no replicas: no budget and no helm test (nothing would answer); no Service: no helm test', async () => {
    const none = await render('replicas=0');
    expect(one(none, 'Deployment').spec.replicas).toBe(0);
    expect(none.some((d) => d.kind === 'PodDisruptionBudget')).toBe(false);
    expect(testPods(none)).toHaveLength(0);
    const noService = await render('metrics.service.enabled=false');
    expect(noService.some((d) => d.kind === 'Service')).toBe(false);
    expect(testPods(noService)).toHaveLength(0);
  });

  test('values.affinity replaces the default spread', async () => {
    const docs = await render('affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists');
    const affinity = one(docs, 'Deployment').spec.template.spec.affinity;
    expect(affinity.podAntiAffinity).toBeUndefined();
    expect(affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'pool', operator: 'Exists' }] }]);
  });
});

describe('Prometheus Operator monitors (metrics.serviceMonitor, metrics.podMonitor)', () => {
  test('off by default: a chart without the monitoring.coreos.com CRDs installs anywhere', () => {
    expect(defaults.some((d) => d.kind === 'ServiceMonitor' || d.kind === 'PodMonitor')).toBe(false);
  });

  test('the ServiceMonitor scrapes the metrics port of exactly the metrics Service, keeping the per-cluster namespace label', async () => {
    const docs = await render('metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack', 'metrics.serviceMonitor.interval=15s');
    const sm = one(docs, 'ServiceMonitor');
    expect(sm).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', metadata: { namespace: 'kdb-system', labels: { release: 'kube-prometheus-stack' } } });
    const services = docs.filter((d) => d.kind === 'Service' && matches(sm.spec.selector.matchLabels, d.metadata.labels));
    expect(services.map((d) => d.metadata.name)).toEqual([one(docs, 'Service').metadata.name]);
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['kdb-system'] });
    const [endpoint, ...more] = sm.spec.endpoints;
    expect(more).toEqual([]);
    expect(services[0]!.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    // The operator's gauges say which KdbCluster namespace they are about: that label must win over the target's.
    expect(endpoint).toEqual({ port: 'metrics', path: '/metrics', interval: '15s', honorLabels: true });
  });

  test('a ServiceMonitor without the Service it scrapes is refused with the fix', async () => {
    expect(await refusal('metrics.serviceMonitor.enabled=true', 'metrics.service.enabled=false')).toMatch(/metrics\.serviceMonitor\.enabled needs metrics\.service\.enabled: true/);
  });

  test('the PodMonitor selects the tickerplant pods the operator makes, on their metrics port, with their cluster as `cluster`', async () => {
    const pm = one(await render('metrics.podMonitor.enabled=true'), 'PodMonitor');
    const c = KdbCluster.parse({
      apiVersion: 'kdb-operator.dev/v1alpha1',
      kind: 'KdbCluster',
      metadata: { name: 'markets', namespace: 'trading' },
      spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
    });
    const template = tickerplantStatefulSet(c).spec!.template;
    expect(matches(pm.spec.selector.matchLabels, template.metadata!.labels)).toBe(true);
    expect(pm.spec.namespaceSelector).toEqual({ any: true });
    const [endpoint] = pm.spec.podMetricsEndpoints;
    expect(template.spec!.containers[0]!.ports!.map((p) => p.name)).toContain(endpoint.port);
    // Prometheus's discovery label for a pod label: every character outside [a-zA-Z0-9_] becomes _.
    const meta = `__meta_kubernetes_pod_label_${LABEL.cluster.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    expect(endpoint.relabelings).toEqual([{ sourceLabels: [meta], targetLabel: 'cluster' }]);
    expect(template.metadata!.labels![LABEL.cluster]).toBe('markets');
    const limited = one(await render('metrics.podMonitor.enabled=true', 'metrics.podMonitor.namespaces={trading,risk}'), 'PodMonitor');
    expect(limited.spec.namespaceSelector).toEqual({ matchNames: ['trading', 'risk'] });
  });
});

describe('values.schema.json refuses bad values, naming the field', () => {
  test.each([
    ['a negative replica count', ['replicas=-1'], /\/replicas'?: minimum: got -1, want 0/],
    ['an unknown top-level key (a typo of replicas)', ['replicaCount=2'], /additional properties 'replicaCount' not allowed/],
    ['an unknown nested key', ['image.tags=0.2.0'], /at '\/image': additional properties 'tags' not allowed/],
    ['a log level the operator does not know', ['logLevel=verbose'], /at '\/logLevel': value must be one of 'error', 'warn', 'info', 'debug'/],
    ['a port out of range', ['metrics.port=70000'], /at '\/metrics\/port': maximum/],
    ['a string where a boolean goes', ['podDisruptionBudget.enabled=yes'], /at '\/podDisruptionBudget\/enabled': got string, want boolean/],
    ['a namespace that is no DNS label', ['agent.namespaces={Markets}'], /at '\/agent\/namespaces\/0'/],
    ['a scrape interval that is no Prometheus duration', ['metrics.serviceMonitor.interval=5m3'], /at '\/metrics\/serviceMonitor\/interval': '5m3' does not match pattern/],
    ['a monitor key the chart does not know', ['metrics.podMonitor.scrapeInterval=5s'], /at '\/metrics\/podMonitor': additional properties 'scrapeInterval' not allowed/],
  ])('%s', async (_what, set, message) => {
    const err = await refusal(...set);
    expect(err).toMatch(/values don't meet the specifications of the schema/);
    expect(err).toMatch(message);
  });

  test('every value in values.yaml is declared in the schema, with a type', () => {
    const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    const resolve = (s: any): any => (s?.$ref ? resolve(s.$ref.replace('#/', '').split('/').reduce((o: any, k: string) => o[k], schema)) : s);
    const undeclared: string[] = [];
    const walk = (v: unknown, s: any, path: string): void => {
      const node = resolve(s);
      if (node === undefined) return void undeclared.push(path);
      if (node.type === undefined && node.anyOf === undefined) undeclared.push(`${path} (no type)`);
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && node.properties !== undefined) {
        for (const [k, child] of Object.entries(v)) walk(child, node.properties[k], `${path}.${k}`);
      }
    };
    for (const [k, v] of Object.entries(values)) walk(v, schema.properties[k], k);
    expect(undeclared).toEqual([]);
    expect(schema.additionalProperties).toBe(false);
  });
});

describe("the helm test's script against the operator's own HTTP server", () => {
  const script = (): string => testPods(defaults)[0]!.spec.containers[0].command[2];
  const runScript = (url: string, timeoutSeconds: number) =>
    run(process.execPath, ['-e', script()], { env: { ...process.env, OPERATOR_URL: url, TIMEOUT_SECONDS: String(timeoutSeconds) } }).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    );

  test('passes when the operator is live, ready and serves its metrics; fails naming /readyz when not ready', async () => {
    let ready: true | string = true;
    const http = await startHealthServer({ port: 0, host: '127.0.0.1', registry: createMetrics().registry, readyChecks: { informers: () => ready } });
    try {
      const url = `http://127.0.0.1:${http.port()}`;
      const ok = await runScript(url, 5);
      expect(ok).toMatchObject({ code: 0 });
      expect(ok.out).toContain(`the operator at ${url} answers`);
      ready = 'informers not synced';
      const notReady = await runScript(url, 1);
      expect(notReady.code).toBe(1);
      expect(notReady.err).toMatch(/did not answer: \/readyz: HTTP 503: informers: informers not synced/);
    } finally {
      await http.close();
    }
  });

  test('fails with the reason when nothing listens', async () => {
    const http = await startHealthServer({ port: 0, host: '127.0.0.1', registry: createMetrics().registry });
    const url = `http://127.0.0.1:${http.port()}`;
    await http.close();
    const r = await runScript(url, 1);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/did not answer: .*ECONNREFUSED/);
  });
});
