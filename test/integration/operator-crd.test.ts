import { join } from 'node:path';
import { allowedUpdates, badSpecs, forbiddenUpdates, goodSpec } from '../fixtures/bad-specs.ts';
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
  const name = bad.clusterName ?? `bad-${i}`;
  const err = await create(name, bad.spec).then(
    () => undefined,
    (e: unknown) => e as { code?: number; body?: string },
  );
  expect(err).toBeDefined();
  expect(err?.code).toBe(422);
  const message = String((JSON.parse(String(err?.body ?? '{}')) as { message?: string }).message ?? err?.body);
  expect(message).toContain(bad.expectField);
  // Nothing was created.
  await expect(custom.getNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'kdbclusters', name })).rejects.toMatchObject({ code: 404 });
});

type Stored = { metadata: { name: string; resourceVersion: string }; spec: Record<string, any> };
const get = async (name: string): Promise<Stored> =>
  (await custom.getNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'kdbclusters', name })) as Stored;
/** PUT the stored object with its spec changed: what `kubectl apply` or `edit` sends, with the defaults the server filled in. */
const update = async (name: string, change: (spec: Record<string, any>) => void) => {
  const obj = await get(name);
  change(obj.spec);
  return custom.replaceNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'kdbclusters', name, body: obj });
};
const messageOf = (e: unknown): string => {
  const err = e as { body?: string };
  return String((JSON.parse(String(err.body ?? '{}')) as { message?: string }).message ?? err.body);
};

describe('transition rules (oldSelf): updates a running cluster cannot take', () => {
  beforeAll(async () => {
    await create('running', goodSpec());
  });

  test.each(forbiddenUpdates.map((u) => [u.name, u] as const))('refuses a change of %s', async (_n, u) => {
    const before = await get('running');
    const err = await update('running', u.change).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    expect(err?.code).toBe(422);
    const message = messageOf(err);
    expect(message).toContain(u.expectField);
    expect(message).toContain(u.expectMessage);
    // Nothing changed.
    const after = await get('running');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  test('several forbidden changes at once are each named', async () => {
    const err = await update('running', (s) => {
      s.storage.efs.logPath = '/elsewhere';
      s.rdbPools[0].nodeGroup = 'other';
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const message = messageOf(err);
    expect(message).toContain('spec.storage.efs.logPath');
    expect(message).toContain('spec.rdbPools[0].nodeGroup');
  });

  test.each(allowedUpdates.map((u, i) => [u.name, u, i] as const))('accepts a change of %s', async (_n, u, i) => {
    const name = `allowed-${i}`;
    await create(name, goodSpec());
    const expected = structuredClone((await get(name)).spec);
    u.change(expected);
    await update(name, u.change);
    // Stored as sent (new pools get their defaults filled in).
    expect((await get(name)).spec).toMatchObject(expected);
  });
});

test('accepts a minimal spec and kubectl get kdb shows the printer columns', async () => {
  await create('good', goodSpec());
  const out = await kubectl('get', 'kdb', '-n', ns);
  expect(out.split('\n')[0]!.split(/\s+/).filter(Boolean)).toEqual(['NAME', 'PHASE', 'LIVE', 'RDBS', 'DESIRED', 'MERGED', 'AGE']);
  expect(out).toContain('good');
  // The category lists clusters with kdb-all.
  expect(await kubectl('get', 'kdb-all', '-n', ns)).toMatch(/^good\s/m);
});
