import { describe, expect, test } from '@jest/globals';
import { plan } from '../../operator/src/planner/plan.ts';
import { instanceIdOf, parseProviderId } from '../../operator/src/planner/provider-id.ts';
import { NODE_ANNOTATIONS } from '../../operator/src/planner/rdbs.ts';
import type { Action } from '../../operator/src/planner/types.ts';
import { ASG, condition, day, eventReasons, instanceId, kinds, nodeName, ofKind, podName, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

const AWS_KINDS = new Set([
  'SetDesiredCapacity',
  'SetInstanceProtection',
  'SuspendAZRebalance',
  'ProtectNewInstances',
  'TerminateInstanceInGroup',
  'EnsureEfsAccessPoint',
]);

interface Row {
  name: string;
  rdbs: RdbSketch[];
  opts?: WorldOptions;
  expect: Action[];
}

const rows: Row[] = [
  { name: 'all protected and annotated: nothing', rdbs: day(1, 30), expect: [] },
  {
    name: 'live RDB on an unprotected instance: protect it',
    rdbs: [{ ord: 0, state: 'live', protected: false }],
    expect: [{ kind: 'SetInstanceProtection', group: ASG, instanceIds: [instanceId(0)], protect: true }],
  },
  {
    name: 'rolled and queued RDBs too, one call for all',
    rdbs: [{ ord: 0, state: 'rolled', protected: false }, { ord: 1, state: 'live' }, { ord: 2, state: 'queued', protected: false }],
    expect: [{ kind: 'SetInstanceProtection', group: ASG, instanceIds: [instanceId(0), instanceId(2)], protect: true }],
  },
  {
    name: 'an instance hosting no RDB is left alone',
    rdbs: day(0, 30),
    opts: { extraInstances: [{ instanceId: 'i-0ffffffffffffffff', lifecycleState: 'InService', protectedFromScaleIn: false, zone: 'us-east-1b' }] },
    expect: [],
  },
  {
    name: 'node without the autoscaler opt-outs: annotate it',
    rdbs: [{ ord: 0, state: 'live', annotated: false }],
    expect: [{ kind: 'AnnotateNode', node: nodeName(0), annotations: { ...NODE_ANNOTATIONS } }],
  },
  {
    name: 'group does not protect new instances: turn it on',
    rdbs: day(0, 30),
    opts: { asg: { newInstancesProtectedFromScaleIn: false } },
    expect: [{ kind: 'ProtectNewInstances', group: ASG }],
  },
  {
    name: 'AZRebalance running: suspend it',
    rdbs: day(0, 30),
    opts: { asg: { suspendedProcesses: [] } },
    expect: [{ kind: 'SuspendAZRebalance', group: ASG }],
  },
  {
    name: 'suspendAZRebalance false: left as it is',
    rdbs: day(0, 30),
    opts: { asg: { suspendedProcesses: [] }, pool: { suspendAZRebalance: false } },
    expect: [],
  },
  {
    name: 'AWS unreachable: annotations only, no AWS call',
    rdbs: [{ ord: 0, state: 'live', protected: false, annotated: false }],
    opts: { asg: 'unknown' },
    expect: [{ kind: 'AnnotateNode', node: nodeName(0), annotations: { ...NODE_ANNOTATIONS } }],
  },
];

describe('planner protection', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const actions = plan(world(r.rdbs, r.opts));
    const relevant = actions.filter((a) =>
      ['SetInstanceProtection', 'AnnotateNode', 'ProtectNewInstances', 'SuspendAZRebalance'].includes(a.kind),
    );
    expect(relevant).toEqual(r.expect);
  });

  test('protection comes before anything moves', () => {
    const k = kinds(plan(world([{ ord: 0, state: 'live', mem: 70, protected: false }], { asg: { desired: 1 } })));
    expect(k.indexOf('SetInstanceProtection')).toBeLessThan(k.indexOf('EnsureRdbPod'));
    expect(k.indexOf('EnsureRdbPod')).toBeLessThan(k.indexOf('SetDesiredCapacity'));
  });
});

describe('AWS unreachable', () => {
  const o = () =>
    world([{ ord: 0, state: 'rolled', podGone: true }, { ord: 1, state: 'rolled' }, { ord: 2, state: 'live', mem: 70, protected: false }], {
      asg: 'unknown',
      poolStatus: { rdbs: [{ name: podName(0), state: 'rolled' }], desiredCapacity: 3, autoScalingGroupName: ASG },
    });

  test('Kubernetes actions go on, no AWS action, AwsUnavailable True with one Warning', () => {
    const actions = plan(o());
    expect(actions.filter((a) => AWS_KINDS.has(a.kind))).toEqual([]);
    expect(ofKind(actions, 'EnsureRdbPod').length).toBe(2); // replacement + scale-out
    expect(condition(actions, 'AwsUnavailable')).toMatchObject({ status: 'True', reason: 'AwsUnreachable' });
    const warn = ofKind(actions, 'EmitEvent').filter((e) => e.event.reason === 'AwsUnavailable');
    expect(warn.map((e) => e.event.type)).toEqual(['Warning']);
    // What status knew about the group is kept, not blanked.
    expect(statusOf(actions)?.pools[0]).toMatchObject({ desiredCapacity: 3, autoScalingGroupName: ASG });
    expect(ofKind(actions, 'RequeueAfter')[0]?.ms).toBeLessThanOrEqual(15_000);
  });

  test('still down: no second Warning; back: Normal event and condition False', () => {
    const first = statusOf(plan(o()))!;
    const again = plan(world(day(0, 30), { asg: 'unknown', status: first }));
    expect(eventReasons(again)).not.toContain('AwsUnavailable');
    const back = plan(world(day(0, 30), { status: first }));
    expect(eventReasons(back)).toContain('AwsAvailable');
    expect(condition(back, 'AwsUnavailable')?.status).toBe('False');
  });
});

describe('providerID', () => {
  test.each([
    ['aws:///us-east-1a/i-0123456789abcdef0', { zone: 'us-east-1a', instanceId: 'i-0123456789abcdef0' }],
    ['aws:///us-east-1a/i-0123', { zone: 'us-east-1a', instanceId: 'i-0123' }],
    ['aws://us-east-1a/i-0123', undefined],
    ['kind://docker/node', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s', (id, expected) => {
    expect(parseProviderId(id)).toEqual(expected);
    expect(instanceIdOf(id)).toBe(expected?.instanceId);
  });
});
