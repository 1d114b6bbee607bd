// The effectors of EnsureGateway and DeleteGateway against a recording
// KubeApi: what is applied, in which order, and what is deleted by name.
import { describe, expect, test } from '@jest/globals';
import { KdbCluster } from '../../operator/src/api/kdbcluster.ts';
import type { Aws } from '../../operator/src/aws/index.ts';
import { Effector } from '../../operator/src/controllers/kdbcluster/effect.ts';
import type { EventRecorder, KubeApi, KubeObject } from '../../operator/src/kube/index.ts';
import { silentLogger } from '../../operator/src/runtime/log.ts';

const cluster = KdbCluster.parse({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: 'markets', namespace: 'trading', uid: 'uid-1' },
  spec: {
    rdbPools: [{ name: 'main', memory: '512Mi' }],
    storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } },
    gateway: { enabled: true },
  },
});

const recording = () => {
  const calls: string[] = [];
  const applied: KubeObject[] = [];
  const api = {
    apply: async (o: KubeObject) => {
      calls.push(`apply ${o.kind}/${o.metadata?.name}`);
      applied.push(o);
      return o;
    },
    delete: async (ref: { kind: string; namespace?: string; name: string }) => {
      calls.push(`delete ${ref.kind}/${ref.namespace}/${ref.name}`);
      return ref.name !== 'markets-hdb'; // one already gone: still fine
    },
  } as unknown as KubeApi;
  const effector = new Effector(
    { api, aws: {} as Aws, events: {} as EventRecorder, log: silentLogger(), agentServiceAccount: 'a', priorityClasses: { query: 'kdb-query' } },
    cluster,
  );
  return { calls, applied, effector };
};

describe('gateway effectors', () => {
  test('EnsureGateway applies what the gateway asks first, the gateway last, with the query priority', async () => {
    const { calls, applied, effector } = recording();
    await effector.run([{ kind: 'EnsureGateway', reason: 'ObjectMissing' }]);
    expect(calls).toEqual([
      'apply Service/markets-rdbs',
      'apply Service/markets-hdb',
      'apply Deployment/markets-hdb',
      'apply Service/markets-gateway',
      'apply Deployment/markets-gateway',
    ]);
    const gw = applied.at(-1) as { spec: { template: { spec: { priorityClassName?: string } } } };
    expect(gw.spec.template.spec.priorityClassName).toBe('kdb-query');
    expect(applied.every((o) => o.metadata?.ownerReferences?.[0]?.uid === 'uid-1')).toBe(true);
  });

  test('DeleteGateway deletes the five objects by name in the cluster\'s namespace; one already gone is no failure', async () => {
    const { calls, effector } = recording();
    await effector.run([{ kind: 'DeleteGateway' }]);
    expect(calls).toEqual([
      'delete Deployment/trading/markets-gateway',
      'delete Service/trading/markets-gateway',
      'delete Deployment/trading/markets-hdb',
      'delete Service/trading/markets-hdb',
      'delete Service/trading/markets-rdbs',
    ]);
  });
});
