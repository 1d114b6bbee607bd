import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { KdbClusterInput } from '../../operator/src/api/kdbcluster.ts';
import { gatewayDeployment, hdbDeployment } from '../../operator/src/specs/gateway.ts';
import { mergeJob } from '../../operator/src/specs/merge-job.ts';
import { ANNOTATION } from '../../operator/src/specs/names.ts';
import { rdbPod, rdbPoolTemplateHash } from '../../operator/src/specs/rdb.ts';
import { templateHash } from '../../operator/src/specs/spec-hash.ts';
import { tickerplantStatefulSet, tickerplantTemplateHash } from '../../operator/src/specs/tickerplant.ts';

const make = (spec: Partial<KdbClusterInput['spec']> = {}, pool: Record<string, unknown> = {}) =>
  KdbCluster.parse({
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
    spec: {
      rdbPools: [{ name: 'main', memory: '512Mi', ...pool }],
      storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
      ...spec,
    },
  });

const base = make();
const agent = { agentServiceAccount: 'kdb-rdb-agent' };

describe('templateHash', () => {
  test('is the same whatever order the keys were written in, and differs for a different value', () => {
    expect(templateHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(templateHash({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(templateHash({ a: 1 })).not.toBe(templateHash({ a: 2 }));
    expect(templateHash({ a: [1, 2] })).not.toBe(templateHash({ a: [2, 1] }));
    expect(templateHash({})).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('tickerplant spec hash', () => {
  test('is on the StatefulSet, not in its pod template: writing it restarts nothing', () => {
    const sts = tickerplantStatefulSet(base);
    expect(sts.metadata?.annotations?.[ANNOTATION.specHash]).toBe(tickerplantTemplateHash(base));
    expect(sts.spec?.template.metadata?.annotations?.[ANNOTATION.specHash]).toBeUndefined();
    expect(tickerplantTemplateHash(base)).toBe(templateHash(sts.spec?.template));
  });

  test.each([
    ['image', { tickerplant: { image: 'ghcr.io/kdb-operator/sim:0.2.0' } }],
    ['resources', { tickerplant: { resources: { limits: { memory: '4Gi' } } } }],
    ['settings that reach its env', { tickerplant: { batchMs: 50 } }],
    ['licence', { kdbLicenseSecret: { name: 'kdb-license' } }],
  ])('changes with the %s', (_name, spec) => {
    expect(tickerplantTemplateHash(make(spec as never))).not.toBe(tickerplantTemplateHash(base));
  });

  test('changes with its PriorityClass, not with what only the RDBs read', () => {
    expect(tickerplantTemplateHash(base, { tickerplant: 'kdb-critical' })).not.toBe(tickerplantTemplateHash(base));
    expect(tickerplantTemplateHash(make({}, { image: 'ghcr.io/kdb-operator/sim:0.2.0', minRdbs: 2 }))).toBe(tickerplantTemplateHash(base));
  });
});

describe('RDB pool spec hash', () => {
  const pool = base.spec.rdbPools[0]!;
  const hashOf = (c: KdbCluster) => rdbPoolTemplateHash({ cluster: c, pool: c.spec.rdbPools[0]!, ...agent });

  test('every RDB of the pool carries the same hash, whatever its ordinal or the window it replays', () => {
    const h = hashOf(base);
    for (const pod of [
      rdbPod({ cluster: base, pool, ordinal: 0, ...agent }),
      rdbPod({ cluster: base, pool, ordinal: 17, ...agent }),
      rdbPod({ cluster: base, pool, ordinal: 18, replaces: 'markets-main-rdb-3', replacesDay: '2026-03-02', ...agent }),
    ]) {
      expect(pod.metadata?.annotations?.[ANNOTATION.specHash]).toBe(h);
    }
  });

  test.each([
    ['image', { image: 'ghcr.io/kdb-operator/sim:0.2.0' }],
    ['memory', { memory: '1Gi' }],
    ['roll threshold (env)', { rollThreshold: 90 }],
  ])('changes with the pool %s', (_name, change) => {
    expect(hashOf(make({}, change))).not.toBe(hashOf(base));
  });

  test('does not change with what is not in the pod (minRdbs, maxRdbs)', () => {
    expect(hashOf(make({}, { minRdbs: 2, maxRdbs: 7 }))).toBe(hashOf(base));
  });
});

describe('operator upgrades restart no data-plane pod', () => {
  const specsDir = fileURLToPath(new URL('../../operator/src/specs/', import.meta.url));

  // A pod template built from the operator's version, image or environment
  // would change with every upgrade and roll every tickerplant.
  test.each(readdirSync(specsDir).filter((f) => f.endsWith('.ts')))('specs/%s reads no environment and no package version', (file) => {
    const src = readFileSync(specsDir + file, 'utf8');
    expect(src).not.toMatch(/process\.(env|version|argv)|package\.json|import\.meta/);
  });

  test('no pod template carries a version or chart label or annotation', () => {
    const c = make({ gateway: { enabled: true } } as never);
    const templates = [
      tickerplantStatefulSet(c).spec?.template.metadata,
      rdbPod({ cluster: c, pool: c.spec.rdbPools[0]!, ordinal: 0, ...agent }).metadata,
      gatewayDeployment(c).spec?.template.metadata,
      hdbDeployment(c).spec?.template.metadata,
      mergeJob(c, '2026-03-02', 'markets-merge-20260302').spec?.template.metadata,
    ];
    for (const meta of templates) {
      expect(meta).toBeDefined();
      for (const key of [...Object.keys(meta?.labels ?? {}), ...Object.keys(meta?.annotations ?? {})]) {
        expect(key).not.toMatch(/version|helm\.sh|chart|operator-image/i);
      }
    }
  });
});
