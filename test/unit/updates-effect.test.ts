// The controller's side of spec.updates: what observe reads and computes
// (the running and the desired template hashes), and the effectors of a held
// tickerplant and of an outdated RDB's delete, against a recording KubeApi.
import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { Effector, PodChangedError, isIrreversible } from '../../operator/src/controllers/kdbcluster/effect.ts';
import { parseRollLiveAnswer, type requestRollLive } from '../../operator/src/tickerplant/control.ts';
import { tickerplantHashes } from '../../operator/src/controllers/kdbcluster/observe.ts';
import { observeRdbPod } from '../../operator/src/controllers/kdbcluster/rdb-report.ts';
import type { EventRecorder, KubeApi, KubeObject, V1StatefulSet } from '../../operator/src/kube/index.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';
import { ANNOTATION } from '../../operator/src/specs/names.ts';
import { rdbPod, rdbPoolTemplateHash } from '../../operator/src/specs/rdb.ts';
import { tickerplantStatefulSet, tickerplantTemplateHash } from '../../operator/src/specs/tickerplant.ts';

const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
  spec: { rdbPools: [{ name: 'main', memory: '512Mi' }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } },
});
const pool = cluster.spec.rdbPools[0]!;

describe('observe: template hashes', () => {
  test('the running hash is the StatefulSet annotation, the desired one is what the effector would build', () => {
    const build = { agentServiceAccount: 'a', priorityClasses: { tickerplant: 'kdb-critical' } };
    const sts = tickerplantStatefulSet(cluster, build.priorityClasses);
    expect(tickerplantHashes(cluster, sts, build)).toEqual({
      templateHash: tickerplantTemplateHash(cluster, build.priorityClasses),
      desiredTemplateHash: tickerplantTemplateHash(cluster, build.priorityClasses),
    });
    // Built without the PriorityClass the operator now sets: they differ.
    const older = tickerplantStatefulSet(cluster);
    const h = tickerplantHashes(cluster, older, build);
    expect(h.templateHash).not.toBe(h.desiredTemplateHash);
  });

  test('a StatefulSet of an older operator has no running hash; without build settings there is no desired one', () => {
    const sts = tickerplantStatefulSet(cluster) as V1StatefulSet;
    delete sts.metadata!.annotations;
    expect(tickerplantHashes(cluster, sts, { agentServiceAccount: 'a' })).toEqual({ desiredTemplateHash: tickerplantTemplateHash(cluster) });
    expect(tickerplantHashes(cluster, tickerplantStatefulSet(cluster), undefined)).toEqual({ templateHash: tickerplantTemplateHash(cluster) });
  });

  test("an RDB pod's hash is read from its annotation; none on a pod an older operator made", () => {
    const pod = rdbPod({ cluster, pool, ordinal: 4, agentServiceAccount: 'a' });
    expect(observeRdbPod(pod).specHash).toBe(rdbPoolTemplateHash({ cluster, pool, agentServiceAccount: 'a' }));
    delete pod.metadata!.annotations![ANNOTATION.specHash];
    expect(observeRdbPod(pod).specHash).toBeUndefined();
  });
});

const recording = (deleteFails?: Error) => {
  const calls: string[] = [];
  const api = {
    apply: async (o: KubeObject) => {
      calls.push(`apply ${o.kind}/${o.metadata?.name}`);
      return o;
    },
    delete: async (ref: { kind: string; name: string }, pre?: { uid: string; resourceVersion: string }) => {
      calls.push(`delete ${ref.kind}/${ref.name}${pre ? ` if uid=${pre.uid} rv=${pre.resourceVersion}` : ''}`);
      if (deleteFails) throw deleteFails;
      return true;
    },
  } as unknown as KubeApi;
  const effector = new Effector({ api, aws: {} as Aws, events: {} as EventRecorder, log: silentLogger(), agentServiceAccount: 'a' }, cluster);
  return { calls, effector };
};

describe('effectors', () => {
  test('a held tickerplant gets its Service and budget, never its StatefulSet', async () => {
    const { calls, effector } = recording();
    await effector.run([{ kind: 'EnsureTickerplant', reason: 'ServiceMissing', keepStatefulSet: true }]);
    expect(calls).toEqual(['apply Service/markets-tickerplant', 'apply PodDisruptionBudget/markets-tickerplant']);
    const all = recording();
    await all.effector.run([{ kind: 'EnsureTickerplant', reason: 'TemplateChanged' }]);
    expect(all.calls).toContain('apply StatefulSet/markets-tickerplant');
  });

  test('an outdated RDB is deleted only as the plan saw it (uid and resourceVersion)', async () => {
    const { calls, effector } = recording();
    await effector.run([{ kind: 'DeleteRdbPod', pool: 'main', pod: 'markets-main-rdb-2', reason: 'Outdated', precondition: { uid: 'u-2', resourceVersion: '17' } }]);
    expect(calls).toEqual(['delete Pod/markets-main-rdb-2 if uid=u-2 rv=17']);
  });

  test('a 409 on that delete (the pod changed: it may have gone live) fails the pass, naming the pod', async () => {
    const conflict = Object.assign(new Error('Conflict'), { code: 409, statusCode: 409 });
    const { effector } = recording(conflict);
    await expect(
      effector.run([{ kind: 'DeleteRdbPod', pool: 'main', pod: 'markets-main-rdb-2', reason: 'Outdated', precondition: { uid: 'u-2', resourceVersion: '17' } }]),
    ).rejects.toBeInstanceOf(PodChangedError);
  });
});

describe('the effector of a live RDB roll (RollLiveRdb)', () => {
  const action = { kind: 'RollLiveRdb', pool: 'main', rdb: 'markets-main-rdb-1', next: 'markets-main-rdb-2' } as const;
  const withAnswer = (answer: Awaited<ReturnType<typeof requestRollLive>>) => {
    const asked: unknown[] = [];
    const effector = new Effector(
      {
        api: {} as KubeApi,
        aws: {} as Aws,
        events: {} as EventRecorder,
        log: silentLogger(),
        agentServiceAccount: 'a',
        requestRollLive: async (host, port, req) => {
          asked.push({ host, port, req });
          return answer;
        },
      },
      cluster,
    );
    return { asked, effector };
  };

  test("sends the plan's pool, live RDB and next RDB to the cluster's tickerplant", async () => {
    const { asked, effector } = withAnswer({ pool: 'main', rdb: action.rdb, rolled: true, lastI: 42, next: action.next });
    await effector.run([action]);
    expect(asked).toEqual([{ host: expect.stringContaining('markets-tickerplant'), port: cluster.spec.tickerplant.port, req: { pool: 'main', rdb: action.rdb, next: action.next } }]);
  });

  test('a repeat of a roll already made is fine: nothing to do', async () => {
    const { effector } = withAnswer({ pool: 'main', rdb: action.rdb, rolled: false, lastI: 42, next: action.next, reason: 'is rolled' });
    await expect(effector.run([action])).resolves.toEqual({});
  });

  test('a refusal (nothing queued was connected) fails the reconcile with the reason', async () => {
    const { effector } = withAnswer({ pool: 'main', rdb: action.rdb, rolled: false, lastI: null, next: action.rdb, reason: 'no queued RDB is connected' });
    await expect(effector.run([action])).rejects.toThrow(/did not roll live RDB markets-main-rdb-1 of pool main onto markets-main-rdb-2: no queued RDB is connected/);
  });

  test('a roll is an irreversible step: skipped once leadership is lost', async () => {
    expect(isIrreversible(action)).toBe(true);
    const stopped = new Effector({ api: {} as KubeApi, aws: {} as Aws, events: {} as EventRecorder, log: silentLogger(), agentServiceAccount: 'a', signal: AbortSignal.abort(), requestRollLive: async () => { throw new Error('must not be asked'); } }, cluster);
    await expect(stopped.run([action])).resolves.toEqual({});
  });
});

describe("the tickerplant's roll-live answer is untrusted", () => {
  test.each([
    [{ op: 'roll-live-done', rolled: true, lastI: 5, next: 'r2' }, { pool: 'p', rdb: 'r1', rolled: true, lastI: 5, next: 'r2' }],
    [{ op: 'roll-live-done', rolled: false, lastI: null, next: null, reason: 'no queued RDB' }, { pool: 'p', rdb: 'r1', rolled: false, lastI: null, next: null, reason: 'no queued RDB' }],
    [{ op: 'roll-live-done', rolled: false, lastI: -3, next: 7 }, { pool: 'p', rdb: 'r1', rolled: false, lastI: null, next: null }],
  ])('%j is read as %j', (body, expected) => {
    expect(parseRollLiveAnswer(body, 'p', 'r1')).toEqual(expected);
  });

  test.each([
    [null, /no object/],
    [{ op: 'error', message: 'roll-live needs pool and rdb' }, /refused to roll r1 of pool p: roll-live needs pool/],
    [{ op: 'end-of-day-done' }, /not roll-live-done/],
    [{ op: 'roll-live-done', rolled: 'yes' }, /not roll-live-done/],
    [{ op: 'roll-live-done', rolled: true, next: 'r2' }, /named no lastI/],
  ])('%j is refused', (body, message) => {
    expect(() => parseRollLiveAnswer(body, 'p', 'r1')).toThrow(message);
  });
});
