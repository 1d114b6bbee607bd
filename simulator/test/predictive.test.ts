import { describe, expect, test } from '@jest/globals';
import { CliError, parseArgs } from '../src/cli.ts';
import { simulateDay, type SimConfig } from '../src/simulate.ts';

/**
 * --policy passes rdbPools[].scaleOut.policy into the simulated KdbCluster;
 * the rule itself is the planner's (operator/src/planner/predict.ts), never
 * copied here.
 */

// The paper's 16 GiB day onto 2 GiB servers with scaleThreshold one point under roll: the threshold policy asks too late.
const LATE: Partial<SimConfig> = { dayGb: 16, rdbMemory: '2Gi', scale: 79, roll: 80, seed: 1 };

describe('--policy', () => {
  test('reads the flags; threshold is the default and leaves scaleOut out of the spec', () => {
    expect(parseArgs(['--policy', 'predictive', '--lead-time-margin', '2']).config).toMatchObject({ policy: 'predictive', leadTimeMargin: 2 });
    expect(parseArgs([]).config.policy).toBeUndefined();
  });
  test('bad values are refused naming the flag', () => {
    expect(() => parseArgs(['--policy', 'fast'])).toThrow(CliError);
    expect(() => parseArgs(['--policy', 'fast'])).toThrow(/--policy/);
    expect(() => parseArgs(['--lead-time-margin', '1'])).toThrow(/--lead-time-margin/);
    expect(() => parseArgs(['--lead-time-margin', '11'])).toThrow(/--lead-time-margin/);
  });
  test('threshold at scale 79 / roll 80 rolls with nothing queued; predictive (margin 3) queues the next RDB before every roll', () => {
    const t = simulateDay({ ...LATE, policy: 'threshold' });
    const p = simulateDay({ ...LATE, policy: 'predictive', leadTimeMargin: 3 });
    expect(t.cushion.rollsWithNothingQueued.length).toBeGreaterThan(0);
    expect(p.cushion.rollsWithNothingQueued).toEqual([]);
    expect(p.cushion.minS).toBeGreaterThan(0);
    expect(p.safety.unsafeTerminations + p.safety.unsafeDeletes).toBe(0);
    expect(p.conservation.flushedGb).toBeCloseTo(16, 6);
  });
  test('at the default scale 60 / roll 80 predictive plans as threshold does (scaleThreshold asks first at this fill)', () => {
    const base = { ...LATE, scale: 60 };
    const { runMs: _a, config: _c, ...t } = simulateDay({ ...base, policy: 'threshold' });
    const { runMs: _b, config: _d, ...p } = simulateDay({ ...base, policy: 'predictive' });
    expect(p.serversOverTime).toEqual(t.serversOverTime);
    expect(p.gbHours).toEqual(t.gbHours);
  });
});
