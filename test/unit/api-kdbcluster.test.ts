import { describe, expect, test } from '@jest/globals';
import { DEFAULT_TABLES, KdbClusterSpec } from '../../operator/src/api/kdbcluster.ts';
import { fieldPath, formatFieldErrors, parseKdbCluster, parseKdbClusterSpec } from '../../operator/src/api/validate.ts';
import { quantityToNumber } from '../../operator/src/api/quantity.ts';
import { badSpecs, goodSpec } from '../fixtures/bad-specs.ts';

const lastName = (field: string): string => {
  const parts = field.replace(/\[\d+\]/g, '').split('.');
  return parts[parts.length - 1] ?? field;
};

describe('KdbCluster spec validation: bad specs', () => {
  test('the fixture has at least ten cases', () => {
    expect(badSpecs.length).toBeGreaterThanOrEqual(10);
  });

  test.each(badSpecs.map((b) => [b.name, b] as const))('%s', (_name, bad) => {
    const r =
      bad.clusterName === undefined
        ? parseKdbClusterSpec(bad.spec)
        : parseKdbCluster({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name: bad.clusterName }, spec: bad.spec });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(e.field.startsWith(bad.expectField)).toBe(true);
      // The message names the field it is about, so it reads on its own in an Event.
      expect(e.message).toContain(lastName(bad.expectField));
    }
  });
});

describe('KdbCluster spec defaults', () => {
  const r = parseKdbClusterSpec(goodSpec());
  if (!r.ok) throw new Error(formatFieldErrors(r.errors));
  const spec = r.value;
  const pool = spec.rdbPools[0]!;

  test.each([
    ['tickerplant.image', spec.tickerplant.image, 'ghcr.io/kdb-operator/sim:0.1.0'],
    ['tickerplant.port', spec.tickerplant.port, 5010],
    ['tickerplant.nodeGroup', spec.tickerplant.nodeGroup, 'tickerplant'],
    ['tickerplant.endOfDay.time', spec.tickerplant.endOfDay.time, '17:00'],
    ['tickerplant.endOfDay.timeZone', spec.tickerplant.endOfDay.timeZone, 'America/New_York'],
    ['tickerplant.batchMs', spec.tickerplant.batchMs, 0],
    ['rdbPools[0].image', pool.image, 'ghcr.io/kdb-operator/sim:0.1.0'],
    ['rdbPools[0].nodeGroup', pool.nodeGroup, 'rdb'],
    ['rdbPools[0].scaleThreshold', pool.scaleThreshold, 60],
    ['rdbPools[0].rollThreshold', pool.rollThreshold, 80],
    ['rdbPools[0].minRdbs', pool.minRdbs, 1],
    ['rdbPools[0].maxRdbs', pool.maxRdbs, 10],
    ['rdbPools[0].suspendAZRebalance', pool.suspendAZRebalance, true],
    ['rdbPools[0].autoScalingGroupName', pool.autoScalingGroupName, undefined],
    ['storage.efs.accessPoint.create', spec.storage.efs.accessPoint.create, false],
    ['storage.efs.logPath', spec.storage.efs.logPath, '/tplog'],
    ['storage.efs.hdbPath', spec.storage.efs.hdbPath, '/hdb'],
    ['storage.efs.reclaimPolicy', spec.storage.efs.reclaimPolicy, 'Retain'],
    ['agent.image', spec.agent.image, 'ghcr.io/kdb-operator/agent:0.1.0'],
    ['tickerplant.ipcPort', spec.tickerplant.ipcPort, undefined],
    ['gateway.enabled', spec.gateway.enabled, false],
    ['gateway.replicas', spec.gateway.replicas, 1],
    ['gateway.port', spec.gateway.port, 5000],
    ['gateway.image (the tickerplant\'s, in the builder)', spec.gateway.image, undefined],
    ['gateway.nodeGroup (the tickerplant\'s, in the builder)', spec.gateway.nodeGroup, undefined],
    ['gateway.credentialsSecret', spec.gateway.credentialsSecret, undefined],
    ['gateway.rowLimit', spec.gateway.rowLimit, undefined],
    ['gateway.hdb.port', spec.gateway.hdb.port, 5012],
  ])('%s', (_field, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  test('default tables are trade and quote, each starting with time and sym', () => {
    expect(spec.tickerplant.tables).toEqual(DEFAULT_TABLES);
    expect(spec.tickerplant.tables.map((t) => t.name)).toEqual(['trade', 'quote']);
    expect(pool.tables).toEqual([]);
    expect(pool.syms).toEqual([]);
  });

  test('parsing twice changes nothing (defaults are stable)', () => {
    expect(KdbClusterSpec.parse(spec)).toEqual(spec);
  });

  test('given values are kept', () => {
    const r2 = parseKdbClusterSpec({
      ...goodSpec(),
      tickerplant: { port: 6010, endOfDay: { timeZone: 'Europe/London' } },
      rdbPools: [{ name: 'fx', memory: 2147483648, scaleThreshold: 50, rollThreshold: 70, autoScalingGroupName: 'asg-1' }],
    });
    expect(r2.ok).toBe(true);
    if (!r2.ok) return;
    expect(r2.value.tickerplant.port).toBe(6010);
    expect(r2.value.tickerplant.endOfDay).toEqual({ time: '17:00', timeZone: 'Europe/London' });
    expect(r2.value.rdbPools[0]).toMatchObject({ memory: 2147483648, scaleThreshold: 50, rollThreshold: 70, autoScalingGroupName: 'asg-1' });
  });

  test.each(['UTC', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'EST5EDT'])('time zone %s is accepted', (tz) => {
    expect(parseKdbClusterSpec({ ...goodSpec(), tickerplant: { endOfDay: { timeZone: tz } } }).ok).toBe(true);
  });
});

describe('spec.gateway', () => {
  const parse = (gateway: unknown) => parseKdbClusterSpec({ ...goodSpec(), gateway });

  test('a credentials Secret defaults its key to "credentials"', () => {
    const r = parse({ enabled: true, credentialsSecret: { name: 'kdb-gateway-users' } });
    expect(r.ok && r.value.gateway.credentialsSecret).toEqual({ name: 'kdb-gateway-users', key: 'credentials' });
  });

  test('every field set is kept', () => {
    const r = parse({ enabled: true, replicas: 3, image: 'example.com/gw:1', port: 6000, nodeGroup: 'query', rowLimit: 5000, resources: { limits: { memory: '2Gi' } }, hdb: { port: 6012, image: 'example.com/hdb:1' } });
    if (!r.ok) throw new Error(formatFieldErrors(r.errors));
    expect(r.value.gateway).toEqual({
      enabled: true, replicas: 3, image: 'example.com/gw:1', port: 6000, nodeGroup: 'query', rowLimit: 5000,
      resources: { limits: { memory: '2Gi' } }, hdb: { port: 6012, image: 'example.com/hdb:1' },
    });
  });

  test('the ipcPort clash says which port and how to fix it', () => {
    const r = parseKdbClusterSpec({ ...goodSpec(), tickerplant: { port: 5010, ipcPort: 5010 } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([{ field: 'spec.tickerplant.ipcPort', message: expect.stringContaining('must differ from tickerplant.port') }]);
    expect(parseKdbClusterSpec({ ...goodSpec(), tickerplant: { ipcPort: 5020 } }).ok).toBe(true);
  });

  test('replicas 0 points at enabled: false instead', () => {
    const r = parse({ enabled: true, replicas: 0 });
    expect(!r.ok && r.errors[0]).toEqual({ field: 'spec.gateway.replicas', message: expect.stringContaining('set gateway.enabled false') });
  });
});

describe('whole KdbCluster object', () => {
  const obj = {
    apiVersion: 'kdb-operator.dev/v1alpha1',
    kind: 'KdbCluster',
    metadata: { name: 'demo', namespace: 'kdb', generation: 3, extra: 'kept' },
    spec: goodSpec(),
  };

  test('parses with metadata passed through', () => {
    const r = parseKdbCluster(obj);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.metadata).toMatchObject({ name: 'demo', generation: 3, extra: 'kept' });
  });

  test('errors carry the full path from the object root', () => {
    const r = parseKdbCluster({ ...obj, spec: { ...goodSpec(), rdbPools: [{ name: 'x', memory: '1Gi', rollThreshold: 0 }] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toEqual(['spec.rdbPools[0].rollThreshold']);
  });

  test('a status round-trips with defaults for lists', () => {
    const r = parseKdbCluster({ ...obj, status: { phase: 'Running', pools: [{ name: 'equities' }] } });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.status?.pools[0]).toEqual({ name: 'equities', queued: [], rolled: [], rdbs: [] });
  });
});

describe('helpers', () => {
  test.each([
    [['spec', 'rdbPools', 0, 'name'], 'spec.rdbPools[0].name'],
    [['spec'], 'spec'],
    [[0, 'x'], '[0].x'],
  ] as const)('fieldPath %j', (path, expected) => {
    expect(fieldPath(path)).toBe(expected);
  });

  test.each([
    ['1Gi', 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['500m', 1],
    ['1e3', 1000],
    [1024, 1024],
  ] as const)('quantityToNumber(%j)', (q, n) => {
    expect(quantityToNumber(q)).toBe(n);
  });
});

describe('the README example', () => {
  test('examples/kdbcluster.yaml is a valid KdbCluster', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const doc = parse(readFileSync(new URL('../../examples/kdbcluster.yaml', import.meta.url), 'utf8')) as unknown;
    const r = parseKdbCluster(doc);
    if (!r.ok) throw new Error(formatFieldErrors(r.errors));
    expect(r.value.spec.merge).toMatchObject({ enabled: true, resources: { limits: { memory: '2Gi' } } });
    expect(r.value.spec.rdbPools[0]?.name).toBe('main');
    expect(r.value.spec.gateway).toMatchObject({ enabled: true, port: 5000, credentialsSecret: { name: 'kdb-gateway-users', key: 'credentials' } });
    expect(r.value.spec.tickerplant.ipcPort).toBe(5020);
  });
});
