import { chaosPlan, chaosSeed, FAULT_KINDS, ONE_OFF_KINDS, ONE_OFF_WINDOW, operatorDwellMs, pickTarget, random } from '../e2e/chaos.ts';

const dayMs = 75_000;

test('the same seed gives the same plan; another seed another plan', () => {
  expect(chaosPlan({ seed: 42, dayMs })).toEqual(chaosPlan({ seed: 42, dayMs }));
  expect(chaosPlan({ seed: 43, dayMs }).faults).not.toEqual(chaosPlan({ seed: 42, dayMs }).faults);
});

test.each([1, 7, 20261201, 2 ** 31 - 1])('seed %d: every kind once or more, at least 10 operator kills, sorted, inside the day', (seed) => {
  const plan = chaosPlan({ seed, dayMs, tailMs: 30_000 });
  const count = (k: string) => plan.faults.filter((f) => f.kind === k).length;
  for (const k of FAULT_KINDS) expect(count(k)).toBeGreaterThanOrEqual(1);
  for (const k of ONE_OFF_KINDS) expect(count(k)).toBe(1);
  expect(count('operator-kill')).toBe(12);
  expect(plan.faults.filter((f) => f.kind === 'operator-kill' && f.atMs < dayMs)).toHaveLength(10);
  expect(plan.faults.map((f) => f.atMs)).toEqual([...plan.faults.map((f) => f.atMs)].sort((a, b) => a - b));
  for (const f of plan.faults) {
    expect(f.atMs).toBeGreaterThanOrEqual(0);
    expect(f.atMs).toBeLessThanOrEqual(dayMs + 30_000);
    expect(f.pick).toBeGreaterThanOrEqual(0);
    expect(f.pick).toBeLessThan(1);
  }
  expect(plan.awsThrottleRate).toBe(0.5);
});

test('one-off faults fall in their window, 5 % of the day apart; operator kills 4 s apart', () => {
  for (let seed = 0; seed < 200; seed++) {
    const plan = chaosPlan({ seed, dayMs });
    const oneOff = plan.faults.filter((f) => ONE_OFF_KINDS.includes(f.kind)).map((f) => f.atMs);
    for (const t of oneOff) {
      expect(t).toBeGreaterThanOrEqual(dayMs * ONE_OFF_WINDOW.from);
      expect(t).toBeLessThanOrEqual(dayMs * ONE_OFF_WINDOW.to);
    }
    for (let k = 1; k < oneOff.length; k++) expect(oneOff[k]! - oneOff[k - 1]!).toBeGreaterThanOrEqual(dayMs * 0.05 - 1);
    const kills = plan.faults.filter((f) => f.kind === 'operator-kill' && f.atMs < dayMs).map((f) => f.atMs);
    for (let k = 1; k < kills.length; k++) expect(kills[k]! - kills[k - 1]!).toBeGreaterThanOrEqual(4_000 - 1);
  }
});

test('the order of the one-off faults varies with the seed', () => {
  const orders = new Set<string>();
  for (let seed = 0; seed < 50; seed++) {
    orders.add(chaosPlan({ seed, dayMs }).faults.filter((f) => ONE_OFF_KINDS.includes(f.kind)).map((f) => f.kind).join(','));
  }
  expect(orders.size).toBeGreaterThan(20);
});

test('bad options are refused, naming the field', () => {
  expect(() => chaosPlan({ seed: -1, dayMs })).toThrow(/seed.*CHAOS_SEED/);
  expect(() => chaosPlan({ seed: 1.5, dayMs })).toThrow(/seed/);
  expect(() => chaosPlan({ seed: 1, dayMs: 5_000 })).toThrow(/dayMs/);
  expect(() => chaosPlan({ seed: 1, dayMs, awsThrottleRate: 2 })).toThrow(/awsThrottleRate/);
  expect(() => chaosPlan({ seed: 1, dayMs, operatorKillsDuringFeed: -2 })).toThrow(/operatorKillsDuringFeed/);
});

test('CHAOS_SEED: taken when set, refused when not a number, fresh when absent', () => {
  expect(chaosSeed('123')).toBe(123);
  expect(chaosSeed(undefined, () => 9)).toBe(9);
  expect(chaosSeed('', () => 9)).toBe(9);
  expect(() => chaosSeed('abc')).toThrow(/CHAOS_SEED.*abc/);
  expect(() => chaosSeed('-4')).toThrow(/CHAOS_SEED/);
});

test('random is uniform enough and stays in [0, 1)', () => {
  const r = random(5);
  const xs = Array.from({ length: 10_000 }, r);
  expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...xs)).toBeLessThan(1);
  expect(xs.filter((x) => x < 0.5).length).toBeGreaterThan(4_800);
  expect(xs.filter((x) => x < 0.5).length).toBeLessThan(5_200);
});

test('pickTarget picks by name order, whatever order the candidates came in', () => {
  const c = [{ name: 'rdb-c' }, { name: 'rdb-a' }, { name: 'rdb-b' }];
  expect(pickTarget(c, 0)?.name).toBe('rdb-a');
  expect(pickTarget(c, 0.5)?.name).toBe('rdb-b');
  expect(pickTarget(c, 0.99)?.name).toBe('rdb-c');
  expect(pickTarget([], 0.3)).toBeUndefined();
});

test('an operator kill strikes the leader 1-8 s into its leadership, by its draw', () => {
  expect(operatorDwellMs(0)).toBe(1_000);
  expect(operatorDwellMs(0.5)).toBe(4_500);
  expect(operatorDwellMs(0.999999)).toBe(8_000);
  const dwells = new Set(chaosPlan({ seed: 3, dayMs }).faults.filter((f) => f.kind === 'operator-kill').map((f) => operatorDwellMs(f.pick)));
  expect(dwells.size).toBeGreaterThan(5);
});
