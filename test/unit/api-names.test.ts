import { describe, expect, test } from '@jest/globals';
import { LIMITS, KdbClusterSpec } from '../../operator/src/api/kdbcluster.ts';
import { CLUSTER_NAME_MAX, MIN_RDB_MEMORY } from '../../operator/src/api/rules.ts';
import { TIME_ZONES, isKnownTimeZone } from '../../operator/src/api/time-zones.ts';
import { parseKdbCluster, parseKdbClusterSpec } from '../../operator/src/api/validate.ts';
import { mergeJobName } from '../../operator/src/planner/plan-merge.ts';
import { clusterLabels, gatewayName, hdbName, pdbName, pvName, pvcName, rdbPodName, rdbServiceName, tickerplantName } from '../../operator/src/specs/names.ts';
import { defaultBaseline } from '../../images/sim/src/config.ts';
import { isValidTimeZone } from '../../images/sim/src/tickerplant/trading-day.ts';
import { goodSpec } from '../fixtures/bad-specs.ts';

// What the API server and its controllers require of the names derived from a KdbCluster.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const label = (s: string) => s.length <= 63 && (s === '' || /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(s));
const subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
/** The StatefulSet controller's revision names: `<statefulset>-<hash>`, the hash a uint32 in safe encoding (up to 10 characters). */
const REVISION_HASH_MAX = 10;

const named = (name: string, namespace = 'a'.repeat(63)) => ({ metadata: { name, namespace } });

describe('every name derived from the longest cluster and pool names is valid', () => {
  const c = named('m'.repeat(CLUSTER_NAME_MAX));
  const pool = 'p'.repeat(LIMITS.poolName);

  test('the tickerplant StatefulSet, its Service, its pod and the revision label on that pod', () => {
    const sts = tickerplantName(c);
    expect(DNS1035_LABEL.test(sts) && sts.length <= 63).toBe(true); // the Service of the same name
    expect(label(`${sts}-${'x'.repeat(REVISION_HASH_MAX)}`)).toBe(true); // controller-revision-hash
    expect(label(`${sts}-0`)).toBe(true); // statefulset.kubernetes.io/pod-name, and the pod's hostname
  });

  test('RDB pods (ordinals up to ten million), PDBs, claims, PVs, merge Jobs, labels', () => {
    expect(subdomain(rdbPodName(c, pool, 9_999_999))).toBe(true);
    expect(subdomain(pdbName(c, pool))).toBe(true);
    expect(subdomain(pvcName(c))).toBe(true);
    expect(subdomain(pvName(c))).toBe(true);
    const job = mergeJobName(c.metadata.name, '2026-12-31');
    expect(job).toBe(`${c.metadata.name}-merge-2026-12-31`); // no hash needed any more
    expect(label(job) && DNS1123_LABEL.test(job)).toBe(true); // the Job controller's job-name label
    for (const v of Object.values(clusterLabels(c))) expect(label(v)).toBe(true);
    expect(label(pool)).toBe(true);
  });

  test('the gateway\'s and the HDB\'s Deployments and Services, the RDBs\' headless Service, and their ReplicaSets', () => {
    for (const n of [gatewayName(c), hdbName(c), rdbServiceName(c)]) expect(DNS1035_LABEL.test(n) && n.length <= 63).toBe(true);
    // ReplicaSet <deployment>-<pod-template-hash of up to 10>, pods <replicaset>-<5>.
    for (const n of [gatewayName(c), hdbName(c)]) expect(subdomain(`${n}-${'x'.repeat(10)}-xxxxx`)).toBe(true);
  });

  test('one more character breaks the StatefulSet revision label: the limit is tight, not arbitrary', () => {
    const sts = tickerplantName(named('m'.repeat(CLUSTER_NAME_MAX + 1)));
    expect(label(`${sts}-${'x'.repeat(REVISION_HASH_MAX)}`)).toBe(false);
  });

  test.each([
    ['m'.repeat(CLUSTER_NAME_MAX), true],
    ['m'.repeat(CLUSTER_NAME_MAX + 1), false],
    ['markets', true],
    ['markets-eu-1', true],
    ['1markets', false],
    ['markets.eu', false],
    ['-markets', false],
  ] as const)('cluster name %s accepted: %s', (name, ok) => {
    const r = parseKdbCluster({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name }, spec: goodSpec() });
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toEqual(['metadata.name']);
  });
});

describe('time zones', () => {
  test('every zone the API server accepts, the reference tickerplant accepts too', () => {
    const refused = TIME_ZONES.filter((tz) => !isValidTimeZone(tz));
    expect(refused).toEqual([]);
  });

  test('the list holds the tz database names ICU files under old ids, and UTC', () => {
    for (const tz of ['UTC', 'Etc/UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Asia/Calcutta', 'Europe/Kyiv', 'Etc/GMT+5', 'EST5EDT']) {
      expect(isKnownTimeZone(tz)).toBe(true);
    }
    expect(TIME_ZONES.length).toBeGreaterThan(400);
    expect([...TIME_ZONES].sort()).toEqual(TIME_ZONES);
  });

  test.each(['Mars/Olympus', 'America/New_Yrok', 'utc', 'Factory', ''])('%j is refused', (tz) => {
    expect(isKnownTimeZone(tz)).toBe(false);
    expect(parseKdbClusterSpec({ ...goodSpec(), tickerplant: { endOfDay: { timeZone: tz } } }).ok).toBe(false);
  });
});

describe('RDB memory floor', () => {
  test(`at ${MIN_RDB_MEMORY.quantity} the reference RDB keeps its 64Mi baseline and as much again for data`, () => {
    const base = defaultBaseline(MIN_RDB_MEMORY.bytes);
    expect(base).toBe(64 * 2 ** 20);
    expect(MIN_RDB_MEMORY.bytes - base).toBeGreaterThanOrEqual(64 * 2 ** 20);
  });

  test.each([['128Mi'], ['0.125Gi'], [MIN_RDB_MEMORY.bytes], ['1Gi'], ['134217728']] as const)('%j is accepted', (memory) => {
    const s = goodSpec();
    s.rdbPools[0].memory = memory;
    expect(KdbClusterSpec.safeParse(s).success).toBe(true);
  });
});
