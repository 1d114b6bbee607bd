// planGateway and its place in plan(): the query side is applied while
// spec.gateway.enabled, deleted once it is not, and left alone when it never was.
import { describe, expect, test } from '@jest/globals';
import { plan } from '../../operator/src/planner/plan.ts';
import { planGateway } from '../../operator/src/planner/plan-gateway.ts';
import type { Observed, ObservedGateway } from '../../operator/src/planner/types.ts';
import { day, ofKind, world } from '../fixtures/planner.ts';

const ALL: ObservedGateway = { deployment: true, service: true, hdbDeployment: true, hdbService: true, rdbService: true };
const NONE: ObservedGateway = { deployment: false, service: false, hdbDeployment: false, hdbService: false, rdbService: false };
const at = (enabled: boolean | undefined, gateway: ObservedGateway | undefined, o: Parameters<typeof world>[1] = {}): Observed => {
  const w = world(day(1, 30), { ...o, spec: { ...(enabled === undefined ? {} : { gateway: { enabled } }), ...o.spec } });
  return gateway === undefined ? w : { ...w, gateway };
};

describe('planGateway', () => {
  test('enabled and nothing there yet: ensure it', () => {
    expect(planGateway(at(true, NONE), true)).toEqual([{ kind: 'EnsureGateway', reason: 'ObjectMissing' }]);
    expect(planGateway(at(true, undefined), true)).toEqual([{ kind: 'EnsureGateway', reason: 'ObjectMissing' }]);
  });

  test.each(Object.keys(ALL))('enabled and only %s missing: ensure it', (missing) => {
    expect(planGateway(at(true, { ...ALL, [missing]: false }), true)).toEqual([{ kind: 'EnsureGateway', reason: 'ObjectMissing' }]);
  });

  test('enabled, all there, spec seen: nothing (a steady cluster writes nothing)', () => {
    expect(planGateway(at(true, ALL), true)).toEqual([]);
  });

  test('enabled, all there, the spec changed since status saw it: apply again', () => {
    const o = at(true, ALL, { generation: 3, status: { observedGeneration: 2 } });
    expect(planGateway(o, true)).toEqual([{ kind: 'EnsureGateway', reason: 'SpecChanged' }]);
  });

  test('enabled before the tickerplant exists: wait (the HDB mounts the claim the storage step makes)', () => {
    expect(planGateway(at(true, NONE), false)).toEqual([]);
  });

  test('disabled after it was enabled: delete what is left', () => {
    expect(planGateway(at(false, ALL), true)).toEqual([{ kind: 'DeleteGateway' }]);
    expect(planGateway(at(false, { ...NONE, rdbService: true }), true)).toEqual([{ kind: 'DeleteGateway' }]);
    expect(planGateway(at(false, ALL), false)).toEqual([{ kind: 'DeleteGateway' }]);
  });

  test('never enabled (left out or false) and nothing there: no action', () => {
    expect(planGateway(at(undefined, NONE), true)).toEqual([]);
    expect(planGateway(at(undefined, undefined), true)).toEqual([]);
    expect(planGateway(at(false, NONE), true)).toEqual([]);
  });

  test('a cluster being deleted: nothing (owner references take the objects)', () => {
    expect(planGateway(at(true, NONE, { deleting: true }), true)).toEqual([]);
    expect(planGateway(at(false, ALL, { deleting: true }), true)).toEqual([]);
  });
});

describe('plan() chains it', () => {
  test('enabled: EnsureGateway after the merge step, before status and the requeue', () => {
    const actions = plan(at(true, NONE));
    expect(ofKind(actions, 'EnsureGateway')).toHaveLength(1);
    const i = actions.findIndex((a) => a.kind === 'EnsureGateway');
    expect(actions.slice(i + 1).every((a) => a.kind === 'UpdateStatus' || a.kind === 'EmitEvent' || a.kind === 'RequeueAfter')).toBe(true);
  });

  test('disabled after enabled: DeleteGateway; never enabled: neither', () => {
    expect(ofKind(plan(at(false, ALL)), 'DeleteGateway')).toHaveLength(1);
    const never = plan(at(undefined, NONE));
    expect(ofKind(never, 'EnsureGateway')).toHaveLength(0);
    expect(ofKind(never, 'DeleteGateway')).toHaveLength(0);
  });

  test('the tickerplant missing: no gateway yet', () => {
    expect(ofKind(plan(at(true, NONE, { tickerplant: { statefulSet: 'missing', service: false } })), 'EnsureGateway')).toHaveLength(0);
  });
});
