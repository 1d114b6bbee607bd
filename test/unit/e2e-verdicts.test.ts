// The e2e's verdicts on crafted records: an honest day comes out clean, and
// each way of breaking a safety rule makes its verdict non-zero. A verdict
// that cannot fail proves nothing.
import { chaosFailures, FAULT_KINDS, type InjectedFault } from '../e2e/chaos.ts';
import type { AwsCall } from '../lib/faults.ts';
import { cushionOf, summarize, type PodRecord, type Sample, type SummaryInput } from '../e2e/verdicts.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const MI = 2 ** 20;

let seq = 0;
const call = (ms: number, operation: string, params: AwsCall['params']): AwsCall => ({
  seq: ++seq,
  time: at(ms),
  service: 'autoscaling',
  operation,
  params,
  status: 200,
  injected: null,
  durationMs: 5,
  attempt: 1,
});

const pod = (name: string, node: string, extra: Partial<PodRecord> = {}): PodRecord => ({
  name,
  node,
  flushedDays: [],
  dayFlushedAt: {},
  rows: 0,
  memoryPercent: 0,
  ...extra,
});

const sample = (t: number, desired: number, inService: number, rdbs: number): Sample => ({
  t,
  at: T0 + t,
  desired,
  inService,
  rdbs,
  usedBytes: 0,
  phase: 'Running',
  live: 'r0',
});

/**
 * An honest day: r1 crossed the scale threshold at 100 ms, the operator raised
 * desired capacity at 150 ms; r0 rolled, flushed at 1,000 ms and its instance
 * was terminated with decrement at 2,000 ms; the HDB holds what was published.
 */
const honestDay = (): SummaryInput => ({
  feed: { rows: 30, tables: { trade: { rows: 10, checksum: 'a1' }, quote: { rows: 20, checksum: 'b2' } } },
  marker: { tables: { trade: { rows: 10, checksum: 'a1' }, quote: { rows: 20, checksum: 'b2' } } },
  day: '2026-12-01',
  samples: [sample(0, 1, 1, 1), sample(120, 1, 1, 1), sample(200, 2, 2, 2), sample(1500, 2, 2, 2), sample(2500, 1, 1, 1)],
  pods: new Map([
    ['r0', pod('r0', 'n0', { crossedScaleAt: T0 + 100, flushedAt: T0 + 1000, flushedDays: ['2026-12-01'], deleted: true })],
    ['r1', pod('r1', 'n1', { liveAt: T0 + 900, flushedDays: ['2026-12-01'] })],
  ]),
  nodeInstance: new Map([
    ['n0', 'i-0'],
    ['n1', 'i-1'],
  ]),
  rowsInRdbsBeforeEndOfDay: 30,
  awsCalls: [
    call(150, 'SetDesiredCapacity', { AutoScalingGroupName: 'rdb', DesiredCapacity: 2 }),
    call(1800, 'SetInstanceProtection', { AutoScalingGroupName: 'rdb', InstanceIds: ['i-0'], ProtectedFromScaleIn: false }),
    call(2000, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-0', ShouldDecrementDesiredCapacity: true }),
  ],
  rdbGroup: 'rdb',
  memBytes: 256 * MI,
  kubectlGetKdb: '',
  operatorKills: [],
  mergeJob: { name: 'm', expectedName: 'm', ownedBy: [], createdAt: at(3000), lastFlushAt: at(1000), slices: 2, rdbsThatFlushed: 2 },
  operatorReaction: { out: { count: 0, meanMs: 0 }, in: { count: 0, meanMs: 0 } },
  throttled: 0,
});

const OPTIONS = { dayMs: 60_000 };
const verdicts = (i: SummaryInput) => {
  const s = summarize(OPTIONS, i);
  return { lost: s.rowsLost, duplicated: s.rowsDuplicated, checksumsMatch: s.checksumsMatch, unsafe: s.unsafeTerminations, double: s.duplicateTerminations, lowered: s.desiredLoweredBySetDesiredCapacity };
};
const CLEAN = { lost: 0, duplicated: 0, checksumsMatch: true, unsafe: 0, double: 0, lowered: 0 };

test('an honest day comes out clean, with the reaction times of its calls', () => {
  const s = summarize(OPTIONS, honestDay());
  expect(verdicts(honestDay())).toEqual(CLEAN);
  expect(s.terminatedInstances).toEqual([{ instanceId: 'i-0', rdb: 'r0', flushedAt: at(1000), terminatedAt: at(2000), decrement: true }]);
  expect(s.scaleOutReactionMs.samples).toEqual([50]);
  expect(s.scaleInReactionMs.samples).toEqual([1000]);
  expect(s.desiredCapacityTimeline.map((d) => d.desired)).toEqual([1, 2, 1]);
  expect(s.awsMutations).toEqual({ SetDesiredCapacity: 1, SetInstanceProtection: 1, TerminateInstanceInAutoScalingGroup: 1 });
});

test('a terminate before the RDB flushed is unsafe', () => {
  const i = honestDay();
  i.awsCalls[2] = call(900, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-0', ShouldDecrementDesiredCapacity: true });
  expect(verdicts(i)).toEqual({ ...CLEAN, unsafe: 1 });
});

test('a terminate of an RDB that never flushed (the live one) is unsafe', () => {
  const i = honestDay();
  i.awsCalls.push(call(2100, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-1', ShouldDecrementDesiredCapacity: true }));
  expect(verdicts(i)).toEqual({ ...CLEAN, unsafe: 1 });
});

test('a terminate without decrement is unsafe; of an instance that hosted no RDB (an idle one handed back), safe', () => {
  const noDecrement = honestDay();
  noDecrement.awsCalls[2] = call(2000, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-0', ShouldDecrementDesiredCapacity: false });
  expect(verdicts(noDecrement)).toEqual({ ...CLEAN, unsafe: 1 });
  const idle = honestDay();
  idle.awsCalls.push(call(2100, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-9', ShouldDecrementDesiredCapacity: true }));
  expect(verdicts(idle)).toEqual(CLEAN);
});

test('an instance whose RDB pod was lost and gone before the terminate is safe; one still holding, even behind a flushed one, is not', () => {
  const gone = honestDay();
  gone.pods.set('r2', pod('r2', 'n2', { deleted: true, deletedAt: T0 + 1500 }));
  gone.nodeInstance.set('n2', 'i-2');
  gone.awsCalls.push(call(2100, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-2', ShouldDecrementDesiredCapacity: true }));
  expect(verdicts(gone)).toEqual(CLEAN);
  const early = honestDay();
  early.pods.set('r2', pod('r2', 'n2', { deleted: true, deletedAt: T0 + 2500 }));
  early.nodeInstance.set('n2', 'i-2');
  early.awsCalls.push(call(2100, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-2', ShouldDecrementDesiredCapacity: true }));
  expect(verdicts(early)).toEqual({ ...CLEAN, unsafe: 1 });
  // r3 came onto r0's node after r0 flushed and went, and holds data when i-0 is terminated.
  const behind = honestDay();
  behind.pods.set('r3', pod('r3', 'n0', { liveAt: T0 + 1600 }));
  expect(verdicts(behind)).toEqual({ ...CLEAN, unsafe: 1 });
});

test('the same instance terminated twice is a double termination', () => {
  const i = honestDay();
  i.awsCalls.push(call(2200, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-0', ShouldDecrementDesiredCapacity: true }));
  expect(verdicts(i)).toEqual({ ...CLEAN, double: 1 });
});

test('a row in two slices is duplicated, a missing window is lost, and either breaks the checksum', () => {
  const twice = honestDay();
  twice.marker.tables.trade = { rows: 11, checksum: 'a1+' };
  expect(verdicts(twice)).toEqual({ ...CLEAN, duplicated: 1, checksumsMatch: false });
  const hole = honestDay();
  hole.marker.tables.quote = { rows: 17, checksum: 'b2-' };
  expect(verdicts(hole)).toEqual({ ...CLEAN, lost: 3, checksumsMatch: false });
  const tableMissing = honestDay();
  delete (tableMissing.marker.tables as Record<string, unknown>).quote;
  expect(verdicts(tableMissing)).toEqual({ ...CLEAN, lost: 20, checksumsMatch: false });
  // Same counts, other rows: only the checksum can tell.
  const swapped = honestDay();
  swapped.marker.tables.trade = { rows: 10, checksum: 'zz' };
  expect(verdicts(swapped)).toEqual({ ...CLEAN, checksumsMatch: false });
});

test('SetDesiredCapacity below the desired capacity seen before it lets AWS pick a victim', () => {
  const i = honestDay();
  i.awsCalls.push(call(1600, 'SetDesiredCapacity', { AutoScalingGroupName: 'rdb', DesiredCapacity: 1 }));
  expect(verdicts(i)).toEqual({ ...CLEAN, lowered: 1 });
});

test('cost counts provisioned servers over the observed time and one server for the rest of the day', () => {
  const s = summarize(OPTIONS, honestDay());
  // 60 s of wall time are 9 market hours: 2,500 ms observed = 0.375 h, the other 23.625 h on one 0.25 GiB server.
  const hPerMs = 9 / 60_000;
  const observed = (120 * 1 + 80 * 1 + 1300 * 2 + 1000 * 2) * hPerMs * 0.25;
  expect(s.memoryGbHours.provisioned).toBeCloseTo(observed + (24 - 2500 * hPerMs) * 0.25, 2);
  expect(s.maxRdbs).toBe(2);
  expect(s.savingsVsSingleNode).toBeCloseTo(1 - s.memoryGbHours.provisioned / (2 * 0.25 * 24), 2);
});

// The chaos day's records: its own out-of-band TerminateInstances are faults, not the operator's calls.
const ec2Call = (ms: number, ids: string[]): AwsCall => ({ ...call(ms, 'TerminateInstances', { InstanceIds: ids }), service: 'ec2' });
const fault = (kind: InjectedFault['kind'], ms: number, extra: Partial<InjectedFault> = {}): InjectedFault => ({ kind, scheduledAtMs: ms - 10, at: at(ms), atMs: ms, ...extra });

test('a chaos day: the out-of-band terminate is a fault, counted by kind, and not an operator mutation', () => {
  const i = honestDay();
  i.awsCalls.push(ec2Call(1200, ['i-1']));
  i.faults = [fault('aws-throttle', 0), fault('operator-kill', 300), fault('operator-kill', 700), fault('rdb-instance-terminate', 1205, { instanceId: 'i-1', target: 'r1' })];
  i.missedFaults = [{ kind: 'rolled-rdb-pod-kill', scheduledAtMs: 500, why: 'no rolled RDB holding rows' }];
  const s = summarize(OPTIONS, i);
  expect(verdicts(i)).toEqual(CLEAN);
  expect(s.awsMutations.TerminateInstances).toBeUndefined();
  expect(s.faults.byKind).toMatchObject({ 'aws-throttle': 1, 'operator-kill': 2, 'rdb-instance-terminate': 1, 'node-heartbeat-stop': 0 });
  expect(s.faults.injected.map((f) => f.kind)).toEqual(['aws-throttle', 'operator-kill', 'operator-kill', 'rdb-instance-terminate']);
  expect(s.faults.missed).toEqual(i.missedFaults);
});

test('a TerminateInstances the chaos day did not make is the operator\'s, and shows', () => {
  const i = honestDay();
  i.awsCalls.push(ec2Call(1200, ['i-1']));
  i.faults = [fault('rdb-instance-terminate', 1205, { instanceId: 'i-7' })];
  expect(summarize(OPTIONS, i).awsMutations.TerminateInstances).toBe(1);
  // A fault recorded long after the call (or before it) is not the call's either.
  i.faults = [fault('rdb-instance-terminate', 20_000, { instanceId: 'i-1' })];
  expect(summarize(OPTIONS, i).awsMutations.TerminateInstances).toBe(1);
  i.faults = [fault('rdb-instance-terminate', -1_000, { instanceId: 'i-1' })];
  expect(summarize(OPTIONS, i).awsMutations.TerminateInstances).toBe(1);
});

test('the operator terminating an instance the chaos day already terminated is a double termination', () => {
  const i = honestDay();
  i.awsCalls.splice(2, 1);
  i.awsCalls.push(ec2Call(1900, ['i-0']), call(2000, 'TerminateInstanceInAutoScalingGroup', { InstanceId: 'i-0', ShouldDecrementDesiredCapacity: true }));
  i.faults = [fault('rdb-instance-terminate', 1901, { instanceId: 'i-0' })];
  expect(verdicts(i)).toEqual({ ...CLEAN, double: 1 });
});

test('the operator terminating one instance by both operations is a double termination', () => {
  const i = honestDay();
  i.awsCalls.push(ec2Call(2100, ['i-0']));
  const s = summarize(OPTIONS, i);
  expect(s.duplicateTerminations).toBe(1);
  expect(s.awsMutations.TerminateInstances).toBe(1);
});

test('a chaos day passes only with every fault kind injected, 10 operator kills, and clean verdicts', () => {
  const i = honestDay();
  i.throttled = 3;
  const everyKind = (): InjectedFault[] => [
    ...FAULT_KINDS.filter((k) => k !== 'operator-kill' && k !== 'node-heartbeat-stop').map((k, n) => fault(k, 100 + n)),
    fault('node-heartbeat-stop', 50, { target: 'n1', detail: 'NotReady after 52 s' }),
    ...Array.from({ length: 10 }, (_, n) => fault('operator-kill', 200 + n)),
  ];
  i.faults = everyKind();
  expect(chaosFailures(summarize(OPTIONS, i))).toEqual([]);
  i.faults = everyKind().filter((f) => f.kind !== 'tickerplant-pod-kill');
  expect(chaosFailures(summarize(OPTIONS, i))).toEqual(['fault tickerplant-pod-kill never injected']);
  i.faults = everyKind().slice(0, -1);
  expect(chaosFailures(summarize(OPTIONS, i))).toEqual(['operator killed only 9 times']);
  i.faults = everyKind().map((f) => (f.kind === 'node-heartbeat-stop' ? { ...f, detail: 'never marked NotReady' } : f));
  expect(chaosFailures(summarize(OPTIONS, i))).toEqual(['node n1 stopped heartbeating but was never marked NotReady']);
  i.faults = everyKind();
  i.missedFaults = [{ kind: 'rolled-rdb-pod-kill', scheduledAtMs: 1, why: 'no rolled RDB' }];
  expect(chaosFailures(summarize(OPTIONS, i))).toEqual(['1 scheduled faults missed']);
  i.missedFaults = [];
  i.marker.tables.trade = { rows: 9, checksum: 'x' };
  i.throttled = 0;
  expect(chaosFailures(summarize(OPTIONS, i))).toEqual(['rows in the HDB 29 != published 30', '1 rows lost', 'checksums differ', 'no Auto Scaling call was throttled']);
});

test('the queue cushion: queued to live per RDB, the minimum, and an RDB that went live without being queued', () => {
  const rec = (name: string, queuedAt: number | undefined, liveAt: number | undefined): [string, PodRecord] => [
    name,
    { name, flushedDays: [], dayFlushedAt: {}, rows: 0, memoryPercent: 0, ...(queuedAt !== undefined ? { queuedAt } : {}), ...(liveAt !== undefined ? { liveAt } : {}) },
  ];
  const pods = new Map([rec('r0', undefined, T0), rec('r1', T0 + 1000, T0 + 61_000), rec('r2', T0 + 70_000, T0 + 95_500), rec('r3', undefined, T0 + 200_000), rec('r4', T0 + 300_000, undefined)]);
  expect(cushionOf(pods)).toEqual({ rdbs: [{ name: 'r1', waitedS: 60 }, { name: 'r2', waitedS: 25.5 }], minS: 25.5, liveWithoutQueue: ['r3'] });
  expect(cushionOf(new Map([rec('r0', undefined, T0)]))).toEqual({ rdbs: [], minS: null, liveWithoutQueue: [] });
});
