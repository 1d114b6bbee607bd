import { withoutAwsWork } from '../../operator/src/controllers/kdbcluster/reconciler.ts';
import type { Action } from '../../operator/src/planner/types.ts';

test('while AWS is down, Kubernetes actions run and AWS work, the scale-in chain and their events wait', () => {
  const actions: Action[] = [
    { kind: 'SetInstanceProtection', group: 'g', instanceIds: ['i-1'], protect: true },
    { kind: 'EnsureRdbPod', pool: 'main', name: 'c-main-rdb-3', ordinal: 3, replaces: 'c-main-rdb-1' },
    { kind: 'DeleteRdbPod', pool: 'main', pod: 'c-main-rdb-1', reason: 'Lost' },
    { kind: 'SetDesiredCapacity', group: 'g', value: 3, observed: 2, reason: 'r' },
    { kind: 'RecordScaleInStep', pool: 'main', instanceId: 'i-0', record: null },
    { kind: 'DeleteRdbPod', pool: 'main', pod: 'c-main-rdb-0', reason: 'ScaleIn', precondition: { uid: 'u-0', resourceVersion: '7' } },
    { kind: 'TerminateInstanceInGroup', group: 'g', instanceId: 'i-0', decrement: true },
    { kind: 'EmitEvent', event: { type: 'Normal', reason: 'DesiredCapacityRaised', message: 'm' } },
    { kind: 'EmitEvent', event: { type: 'Warning', reason: 'RdbLost', message: 'm' } },
    { kind: 'RequeueAfter', ms: 5000 },
  ];
  expect(withoutAwsWork(actions).map((a) => (a.kind === 'EmitEvent' ? a.event.reason : a.kind))).toEqual([
    'EnsureRdbPod',
    'DeleteRdbPod',
    'RdbLost',
    'RequeueAfter',
  ]);
});
