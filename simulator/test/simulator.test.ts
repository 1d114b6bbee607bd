import { describe, expect, test } from '@jest/globals';
import { CliError, parseArgs } from '../src/cli.ts';
import { terminationsOfUnflushed } from '../src/log-check.ts';
import { dayProfile, PAPER_PROFILE, validateProfile } from '../src/profile.ts';
import { drawLeadTimeMs, seededRng } from '../src/prng.ts';
import { defaultSingleServerGb, simulateDay, type SimConfig, type SimEvent } from '../src/simulate.ts';
import { formatTable, PAPER_SWEEP, runSweep, TABLE_COLUMNS } from '../src/sweep.ts';

// A small day: 2 GiB onto 1 GiB servers fills three or four of them.
const SMALL: Partial<SimConfig> = { dayGb: 2, rdbMemory: '1Gi', idleMb: 50, scale: 60, roll: 80, seed: 7, stepS: 10 };

const { runMs: _r, ...small } = simulateDay(SMALL);

describe('a simulated day', () => {
  test('scales out during the day and back to one server by the next morning', () => {
    expect(small.maxServers).toBeGreaterThanOrEqual(3);
    expect(small.nextMorning.servers).toBe(1);
    expect(small.nextMorning.live).not.toBeNull();
    expect(small.nextMorning.liveDay).toBe('2026-03-03');
    expect(small.planner.actions.SetDesiredCapacity).toBeGreaterThanOrEqual(3);
    expect(small.planner.actions.TerminateInstanceInGroup).toBe(small.maxServers - 1);
  });

  test('conserves the data: every byte published is flushed, and used GB-hours are the profile integral', () => {
    expect(small.conservation.publishedGb).toBeCloseTo(2, 6);
    expect(small.conservation.flushedGb).toBeCloseTo(2, 6);
    // With an instant flush nothing stays in RAM after end of day: used is exactly the profile's integral, up to the step.
    const { runMs: _x, ...fast } = simulateDay({ ...SMALL, flushMiBs: 1e9 });
    const expected = fast.conservation.profileUsedGbHours;
    expect(expected).toBeGreaterThan(5);
    expect(Math.abs(fast.gbHours.used - expected) / expected).toBeLessThan(0.01);
    // And independently of the simulator: 2 GiB x the integral of the paper's cumulative share from 06:00 to 17:00 New York.
    const p = dayProfile(PAPER_PROFILE, '2026-03-02', 'America/New_York');
    expect(expected).toBeCloseTo(2 * p.integralHours(Date.parse('2026-03-02T11:00:00Z'), Date.parse('2026-03-02T22:00:00Z')), 3);
  });

  test('never terminates an instance whose RDB has unflushed data (from the event log)', () => {
    const terminations = small.log.filter((e) => e.kind === 'terminate');
    expect(terminations.length).toBeGreaterThan(0);
    expect(terminationsOfUnflushed(small.log)).toEqual([]);
    expect(small.log.filter((e) => e.kind === 'unsafeTerminate' || e.kind === 'unsafeDelete')).toEqual([]);
    expect(small.safety).toMatchObject({ unsafeTerminations: 0, unsafeDeletes: 0 });
  });

  test('the log check does flag a terminate before the flush', () => {
    const log: SimEvent[] = [
      { h: 1, kind: 'roll', rdb: 'a' },
      { h: 2, kind: 'terminate', instanceId: 'i-1', rdbs: ['a'] },
      { h: 3, kind: 'flushed', rdb: 'b', goesOn: false },
      { h: 4, kind: 'terminate', instanceId: 'i-2', rdbs: ['b'] },
      { h: 5, kind: 'flushed', rdb: 'c', goesOn: true },
      { h: 5.5, kind: 'took', rdb: 'c' },
      { h: 6, kind: 'terminate', instanceId: 'i-3', rdbs: ['c'] },
      // Flushed, went on live, took nothing since: nothing to lose.
      { h: 7, kind: 'flushed', rdb: 'd', goesOn: true },
      { h: 8, kind: 'terminate', instanceId: 'i-4', rdbs: ['d'] },
    ];
    expect(terminationsOfUnflushed(log)).toEqual([
      { instanceId: 'i-1', h: 2, rdbs: ['a'] },
      { instanceId: 'i-3', h: 6, rdbs: ['c'] },
    ]);
  });

  test('reports the queue cushion of every RDB that went live from the queue', () => {
    expect(small.cushion.rdbs.length).toBe(small.maxServers - 1);
    for (const c of small.cushion.rdbs) expect(c.waitedS).toBeGreaterThan(0);
    expect(small.cushion.minS).toBe(Math.min(...small.cushion.rdbs.map((c) => c.waitedS)));
    expect(small.cushion.wentLiveOnArrival).toEqual(['sim-main-rdb-0']);
  });

  test('a lead time longer than the fill from scale to roll shows a roll with nothing queued', () => {
    const { cushion } = simulateDay({ ...SMALL, scale: 78, roll: 80, leadTime: { meanS: 1800, sdS: 0 } });
    expect(cushion.rollsWithNothingQueued.length).toBeGreaterThan(0);
    expect(cushion.rollsWithNothingQueued[0]!.gapS).toBeGreaterThan(0);
  });

  test('is deterministic by seed', () => {
    const { runMs: _a, ...again } = simulateDay(SMALL);
    expect(again).toEqual(small);
    const other = simulateDay({ ...SMALL, seed: 8 });
    const leads = (log: SimEvent[]) => log.filter((e) => e.kind === 'instanceLaunched').map((e) => e.leadS);
    expect(leads(other.log)).not.toEqual(leads(small.log));
  });

  test('savings are against one server sized for the day', () => {
    expect(defaultSingleServerGb(16, 80)).toBe(32);
    expect(small.singleServer.gb).toBe(4);
    expect(small.savings).toBeCloseTo(1 - small.gbHours.provisioned / (4 * 24), 3);
    expect(small.gbHours.ratio).toBeCloseTo(small.gbHours.provisioned / small.gbHours.used, 2);
  });
});

describe('market hours (rdbPools[].schedule), on the real planner', () => {
  const { runMs: _s, ...night } = simulateDay({ ...SMALL, schedule: { open: '06:00', close: '16:00' } });
  test('after end of day even the last server goes, and one is back before the next open', () => {
    // Servers over time lists changes: what held at hour h is the last change before it.
    const at = (h: number) => night.serversOverTime.filter((x) => x.h <= h).at(-1)?.servers;
    for (const h of [12, 16, 20, 23]) expect({ h, servers: at(h) }).toEqual({ h, servers: 0 });
    expect(night.nextMorning.servers).toBe(1);
    expect(night.nextMorning.live).not.toBeNull();
  });
  test('costs less than the pool that keeps minRdbs overnight, and loses nothing', () => {
    expect(night.gbHours.provisioned).toBeLessThan(small.gbHours.provisioned);
    expect(night.conservation.flushedGb).toBeCloseTo(2, 6);
    expect(night.safety).toMatchObject({ unsafeTerminations: 0, unsafeDeletes: 0 });
    expect(terminationsOfUnflushed(night.log)).toEqual([]);
    expect(night.cushion.rollsWithNothingQueued).toEqual([]);
  });
  test('--schedule is read, and a bad one named', () => {
    expect(parseArgs(['--schedule', '06:00-16:00']).config.schedule).toEqual({ open: '06:00', close: '16:00' });
    expect(() => parseArgs(['--schedule', '6-16'])).toThrow(/^--schedule: /);
    expect(() => parseArgs(['--schedule', '16:00-06:00'])).toThrow(/^--schedule: .*close must be after open/);
  });
});

describe('the sweep', () => {
  test('holds the paper\'s configurations', () => {
    expect(PAPER_SWEEP.map((r) => [r.config.rdbMemory, r.config.scale, r.config.roll, r.config.dayGb, r.config.singleServerGb])).toEqual([
      ['2Gi', 60, 80, 16, 32],
      ['4Gi', 60, 80, 16, 32],
      ['8Gi', 60, 80, 16, 32],
      ['16Gi', 60, 80, 16, 32],
      ['4Gi', 20, 85, 16, 32],
      ['4Gi', 40, 85, 16, 32],
      ['4Gi', 60, 85, 16, 32],
      ['4Gi', 80, 85, 16, 32],
    ]);
  });

  test('prints one row per configuration under the header, every row as wide', () => {
    const sweep = runSweep(
      [
        { label: 'a', config: { rdbMemory: '1Gi' } },
        { label: 'b', config: { rdbMemory: '2Gi' } },
      ],
      { ...SMALL, rdbMemory: undefined } as Partial<SimConfig>,
    );
    const lines = formatTable(sweep.rows).split('\n');
    expect(lines).toHaveLength(4);
    const cells = lines.map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(cells[0]).toEqual([...TABLE_COLUMNS]);
    for (const row of cells) expect(row).toHaveLength(TABLE_COLUMNS.length);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(cells[2]![0]).toBe('a');
    expect(cells[2]![1]).toBe('1');
    expect(cells[3]![1]).toBe('2');
    expect(Number(cells[2]![7])).toBeCloseTo(sweep.rows[0]!.result.gbHours.ratio, 2);
  });
});

describe('the command line', () => {
  test('reads the flags', () => {
    const o = parseArgs(['--day-gb', '16', '--rdb-memory', '4Gi', '--scale', '60', '--roll', '80', '--lead-time-s', '90:30', '--seed', '3', '--out=x']);
    expect(o.config).toMatchObject({ dayGb: 16, rdbMemory: '4Gi', scale: 60, roll: 80, leadTime: { meanS: 90, sdS: 30 }, seed: 3 });
    expect(o.out).toBe('x');
    expect(parseArgs(['--sweep', 'paper']).sweep).toBe('paper');
  });

  test.each([
    [['--day-gb', 'lots'], '--day-gb'],
    [['--day-gb', '-1'], '--day-gb'],
    [['--day-gb'], '--day-gb'],
    [['--rdb-memory', '4GB'], '--rdb-memory'],
    [['--rdb-memory', '64Mi'], '--rdb-memory'],
    [['--scale', '60.5'], '--scale'],
    [['--roll', '100'], '--roll'],
    [['--scale', '80', '--roll', '70'], '--scale'],
    [['--lead-time-s', 'soon'], '--lead-time-s'],
    [['--lead-time-s', '90:-1'], '--lead-time-s'],
    [['--profile', '/nonexistent/profile.json'], '--profile'],
    [['--seed', 'x'], '--seed'],
    [['--sweep', 'mine'], '--sweep'],
    [['--speed', '3'], '--speed'],
  ])('%j is refused naming %s', (argv, flag) => {
    expect(() => parseArgs(argv)).toThrow(CliError);
    expect(() => parseArgs(argv)).toThrow(flag);
  });

  test('a rule of the operator\'s schema names the flag of the field it refuses, and only that one', () => {
    expect(() => parseArgs(['--scale', '80', '--roll', '70'])).toThrow(/^--scale: spec\.rdbPools\[0\]\.scaleThreshold: /);
    expect(() => parseArgs(['--rdb-memory', '64Mi'])).toThrow(/^--rdb-memory: /);
  });

  test('a profile with data after end of day is refused naming --profile', () => {
    expect(() => simulateDay({ ...SMALL, profile: [{ hour: 18, share: 1 }] })).toThrow('--profile');
    expect(() => validateProfile([{ hour: 25, share: 1 }], '--profile f')).toThrow('--profile f');
  });
});

describe('lead times', () => {
  test('are drawn from the seeded distribution, never under a second', () => {
    const rng = seededRng(42);
    const xs = Array.from({ length: 4000 }, () => drawLeadTimeMs(rng, { meanS: 90, sdS: 30 }) / 1000);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(87);
    expect(mean).toBeLessThan(93);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1);
    expect(drawLeadTimeMs(seededRng(1), { meanS: 60, sdS: 0 })).toBe(60_000);
  });
});
