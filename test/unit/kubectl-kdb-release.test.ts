import { formatPlan, holdReason, instanceIdOf, planRelease, type GroupView, type RdbPodView } from '../../kubectl-kdb/src/release-plan.ts';

const report = (rows: number, state = 'flushed'): string =>
  JSON.stringify({ state, day: '2026-12-01', firstI: 0, lastI: 10, lastProcessed: 10, rows, flushedDays: ['2026-12-01'] });

const pod = (name: string, node: string, opts: { rows?: number; live?: boolean; flushed?: boolean; raw?: string; state?: string }): RdbPodView => ({
  name,
  nodeName: node,
  annotations: opts.raw !== undefined ? { 'kdb-operator.dev/rdb-status': opts.raw } : opts.rows !== undefined ? { 'kdb-operator.dev/rdb-status': report(opts.rows, opts.state) } : {},
  conditions: [
    { type: 'kdb-operator.dev/Live', status: opts.live ? 'True' : 'False' },
    { type: 'kdb-operator.dev/DataFlushed', status: opts.flushed ? 'True' : 'False' },
  ],
});

const nodes = [
  { name: 'node-a', providerID: 'aws:///eu-west-1a/i-0aaa' },
  { name: 'node-b', providerID: 'aws:///eu-west-1b/i-0bbb' },
  { name: 'node-c', providerID: 'aws:///eu-west-1a/i-0ccc' },
];
const group = (ids: string[], extra: Partial<GroupView['instances'][number]> = {}): GroupView => ({
  name: 'rdb-asg',
  instances: ids.map((instanceId) => ({ instanceId, lifecycleState: 'InService', protectedFromScaleIn: true, ...extra })),
});

test('instance ids come from the providerID; anything else is no instance', () => {
  expect(instanceIdOf('aws:///eu-west-1a/i-0abc123')).toBe('i-0abc123');
  expect(instanceIdOf('kind://docker/x/y')).toBeUndefined();
  expect(instanceIdOf(undefined)).toBeUndefined();
});

test('an instance hosting no RDB pod is released and the owner tag goes', () => {
  const plan = planRelease({ pods: [], nodes, groups: [group(['i-0aaa'])] });
  expect(plan.release).toEqual([{ instanceId: 'i-0aaa', group: 'rdb-asg', node: 'node-a', protected: true }]);
  expect(plan.refused).toEqual([]);
  expect(plan.untag).toEqual(['rdb-asg']);
});

test('a flushed RDB holding 0 rows does not hold its server', () => {
  const plan = planRelease({ pods: [pod('rdb-0', 'node-a', { rows: 0, flushed: true })], nodes, groups: [group(['i-0aaa'])] });
  expect(plan.release.map((r) => r.instanceId)).toEqual(['i-0aaa']);
});

test('a live RDB holding rows is refused, naming the pod and why; the tag stays', () => {
  const plan = planRelease({
    pods: [pod('rdb-1', 'node-b', { rows: 1234, live: true, state: 'live' }), pod('rdb-0', 'node-a', { rows: 0, flushed: true })],
    nodes,
    groups: [group(['i-0aaa', 'i-0bbb'])],
  });
  expect(plan.refused).toEqual([{ instanceId: 'i-0bbb', group: 'rdb-asg', pod: 'rdb-1', reason: 'live and holds 1234 rows' }]);
  expect(plan.release.map((r) => r.instanceId)).toEqual(['i-0aaa']);
  expect(plan.untag).toEqual([]);
  expect(formatPlan(plan, true)).toContain('refused i-0bbb (rdb-asg): pod rdb-1 live and holds 1234 rows');
});

test('no report, an unreadable report, rows not flushed, or DataFlushed not True: refused', () => {
  expect(holdReason(pod('p', 'n', {}))).toMatch(/no kdb-operator.dev\/rdb-status report/);
  expect(holdReason(pod('p', 'n', { raw: '{not json' }))).toMatch(/not JSON/);
  expect(holdReason(pod('p', 'n', { raw: JSON.stringify({ state: 'dancing', rows: 0 }) }))).toMatch(/unreadable/);
  expect(holdReason(pod('p', 'n', { rows: 5, flushed: true }))).toBe('holds 5 rows not written down');
  expect(holdReason(pod('p', 'n', { rows: 0, flushed: false }))).toBe('has not reported kdb-operator.dev/DataFlushed=True');
  expect(holdReason(pod('p', 'n', { rows: 0, flushed: true }))).toBeUndefined();
});

test('unprotected and terminating instances are left alone', () => {
  const plan = planRelease({
    pods: [],
    nodes,
    groups: [
      { name: 'rdb-asg', instances: [
        { instanceId: 'i-0aaa', lifecycleState: 'InService', protectedFromScaleIn: false },
        { instanceId: 'i-0bbb', lifecycleState: 'Terminating:Wait', protectedFromScaleIn: true },
      ] },
    ],
  });
  expect(plan.release).toEqual([]);
  expect(plan.skipped.map((s) => s.instanceId)).toEqual(['i-0aaa', 'i-0bbb']);
  expect(plan.untag).toEqual(['rdb-asg']);
});

test('an RDB holding data on a server outside the groups keeps every owner tag', () => {
  const plan = planRelease({ pods: [pod('rdb-9', 'node-c', { rows: 7, live: true })], nodes, groups: [group(['i-0aaa'])] });
  expect(plan.heldElsewhere).toEqual([{ pod: 'rdb-9', reason: 'live and holds 7 rows' }]);
  expect(plan.release.map((r) => r.instanceId)).toEqual(['i-0aaa']);
  expect(plan.untag).toEqual([]);
});

test('the dry run says so and changes nothing', () => {
  const lines = formatPlan(planRelease({ pods: [], nodes, groups: [group(['i-0aaa'])] }), true);
  expect(lines[0]).toBe('would unprotect and terminate i-0aaa (rdb-asg, node node-a) with decrement');
  expect(lines.at(-1)).toMatch(/dry run: nothing was changed; run again with --yes/);
});
