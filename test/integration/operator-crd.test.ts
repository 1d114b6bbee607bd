import { join } from 'node:path';
import { badSpecs, goodSpec } from '../fixtures/bad-specs.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import { repoRoot } from '../lib/stack.ts';
import { kubectl, waitFor } from '../e2e/trading-day.ts';

// The generated CRD on the real API server: structural schema and CEL rules
// reject bad specs with messages that name the field, and change nothing.
const kc = adminKubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const ns = `crd-${Date.now().toString(36)}`;
const group = 'kdb-operator.dev';

const create = (name: string, spec: unknown) =>
  custom.createNamespacedCustomObject({
    group,
    version: 'v1alpha1',
    namespace: ns,
    plural: 'kdbclusters',
    body: { apiVersion: `${group}/v1alpha1`, kind: 'KdbCluster', metadata: { name }, spec },
  });

beforeAll(async () => {
  await kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds/kdbclusters.kdb-operator.dev.yaml'));
  await kubectl('wait', '--for=condition=Established', 'crd/kdbclusters.kdb-operator.dev', '--timeout=60s');
  await kubectl('create', 'namespace', ns);
  // A new CRD is served a moment after Established on some releases.
  await waitFor('the KdbCluster resource to be served', async () => (await kubectl('get', 'kdb', '-n', ns)) !== undefined, 30_000);
}, 90_000);

afterAll(async () => {
  await kubectl('delete', 'namespace', ns, '--wait=false');
});

test(`at least ten bad specs are in the fixture (${badSpecs.length})`, () => {
  expect(badSpecs.length).toBeGreaterThanOrEqual(10);
});

test.each(badSpecs.map((b, i) => [b.name, b, i] as const))('rejects: %s', async (_n, bad, i) => {
  const err = await create(`bad-${i}`, bad.spec).then(
    () => undefined,
    (e: unknown) => e as { code?: number; body?: string },
  );
  expect(err).toBeDefined();
  expect(err?.code).toBe(422);
  const message = String((JSON.parse(String(err?.body ?? '{}')) as { message?: string }).message ?? err?.body);
  expect(message).toContain(bad.expectField);
  // Nothing was created.
  await expect(custom.getNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'kdbclusters', name: `bad-${i}` })).rejects.toMatchObject({ code: 404 });
});

test('accepts a minimal spec and kubectl get kdb shows the printer columns', async () => {
  await create('good', goodSpec());
  const out = await kubectl('get', 'kdb', '-n', ns);
  expect(out.split('\n')[0]!.split(/\s+/).filter(Boolean)).toEqual(['NAME', 'PHASE', 'LIVE', 'RDBS', 'DESIRED', 'MERGED', 'AGE']);
  expect(out).toContain('good');
  // The category lists clusters with kdb-all.
  expect(await kubectl('get', 'kdb-all', '-n', ns)).toMatch(/^good\s/m);
});
