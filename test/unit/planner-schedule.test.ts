import { describe, expect, test } from '@jest/globals';
import type { ScheduleSpec } from '../../operator/src/api/kdbcluster.ts';
import { KdbClusterSpec } from '../../operator/src/api/kdbcluster.ts';
import { DEFAULT_SCHEDULE_LEAD_SECONDS } from '../../operator/src/planner/context.ts';
import { marketState } from '../../operator/src/planner/market-hours.ts';
import { plan } from '../../operator/src/planner/plan.ts';
import { DAY, condition, eventReasons, ofKind, podName, statusOf, world } from '../fixtures/planner.ts';
import type { RdbSketch, WorldOptions } from '../fixtures/planner.ts';

// Scheduled scale to zero (rdbPools[].schedule): outside market hours a pool
// may hold no RDB; a lead time before the open it queues one again. The
// rules run at many instants, never at the one CI happens to start at.
const NY = 'America/New_York';
const SCHEDULE: ScheduleSpec = { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], open: '09:30', close: '16:00', holidays: ['2026-11-26'] };
const LEAD_MS = DEFAULT_SCHEDULE_LEAD_SECONDS * 1.5 * 1000;
const NEXT = '2026-03-03';

/** The zone's wall clock at t, read with Intl, as "YYYY-MM-DD HH:MM" and the weekday. */
const fmt = new Intl.DateTimeFormat('en-US', { timeZone: NY, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const wall = (t: number) => {
  const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return { day: `${p.year}-${p.month}-${p.day}`, hm: `${p.hour}:${p.minute}`, weekday: p.weekday! };
};

/** Sessions found by walking the clock a minute at a time: no offset arithmetic. */
const oracleSessions = (s: ScheduleSpec, from: number, to: number): [number, number][] => {
  const opens = new Map<string, number>();
  const out: [number, number][] = [];
  for (let t = from; t < to; t += 60_000) {
    const w = wall(t);
    if (!(s.days as string[]).includes(w.weekday) || s.holidays.includes(w.day)) continue;
    if (w.hm === s.open && !opens.has(w.day)) opens.set(w.day, t);
    const o = opens.get(w.day);
    if (w.hm === s.close && o !== undefined && !out.some(([a]) => a === o)) out.push([o, t]);
  }
  return out;
};

describe('market hours, every 15 minutes over three weeks with a clock change and a holiday', () => {
  const from = Date.parse('2026-10-25T00:00:00Z');
  const to = Date.parse('2026-11-29T00:00:00Z');
  const sessions = oracleSessions(SCHEDULE, from - 3 * 86_400_000, to + 12 * 86_400_000);
  test(`${Math.round((to - from) / 900_000)} instants agree with the minute-walking oracle`, () => {
    for (let t = from; t < to; t += 900_000) {
      const now = new Date(t);
      const wanted = sessions.some(([o, c]) => o - LEAD_MS <= t && t < c);
      const next = sessions.find(([o]) => o - LEAD_MS > t);
      const got = marketState(SCHEDULE, NY, now, LEAD_MS);
      expect({ at: now.toISOString(), wanted: got.wanted, from: got.wantedFrom?.toISOString() }).toEqual({
        at: now.toISOString(),
        wanted,
        from: wanted ? undefined : next && new Date(next[0] - LEAD_MS).toISOString(),
      });
    }
  });
  test('Thanksgiving is closed all day; the weekend too', () => {
    expect(marketState(SCHEDULE, NY, new Date('2026-11-26T16:00:00Z'), LEAD_MS)).toEqual({ wanted: false, wantedFrom: new Date(Date.parse('2026-11-27T14:30:00Z') - LEAD_MS) });
    expect(marketState(SCHEDULE, NY, new Date('2026-11-28T16:00:00Z'), LEAD_MS).wanted).toBe(false);
  });
});

describe('the schedule in the spec', () => {
  const spec = (schedule: unknown) => KdbClusterSpec.safeParse({ rdbPools: [{ name: 'main', memory: '1Gi', schedule }], storage: { efs: { fileSystemId: 'fs-0123456789abcdef0' } } });
  test('defaults: Monday to Friday, no holidays', () => {
    const r = spec({ open: '09:30', close: '16:00' });
    expect(r.success && r.data.rdbPools[0]!.schedule).toEqual({ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], open: '09:30', close: '16:00', holidays: [] });
  });
  test.each([
    [{ open: '16:00', close: '09:30' }, 'schedule.close must be after open'],
    [{ open: '9:30', close: '16:00' }, 'schedule.open must be a 24-hour time'],
    [{ open: '09:30', close: '16:00', days: ['Monday'] }, 'schedule.days entries must be Mon'],
    [{ open: '09:30', close: '16:00', holidays: ['26/11/2026'] }, 'holidays entries must be dates YYYY-MM-DD'],
    [{ open: '09:30', close: '16:00', days: [] }, 'must name at least one day'],
  ])('%j is refused naming the field and the fix', (schedule, message) => {
    const r = spec(schedule);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join('; ')).toContain(message);
  });
});

/** Worlds of a scheduled pool (open 09:30-16:00 New York, end of day 17:00 New York). */
const scheduled = (now: string, o: WorldOptions = {}): WorldOptions => ({ ...o, now: new Date(now), pool: { schedule: { open: '09:30', close: '16:00' }, ...o.pool } });
/** After end of day: the live RDB flushed the day and holds nothing of the next. */
const nightLive: RdbSketch = { ord: 3, state: 'live', mem: 2, day: NEXT, flushedDays: [DAY], holdsRows: false };
const MON_NIGHT = '2026-03-03T02:00:00Z'; // Monday 21:00 in New York
const TUE_BEFORE_OPEN = '2026-03-03T14:25:00Z'; // Tuesday 09:25: inside the lead time of the 09:30 open

describe('scheduled scale to zero', () => {
  test('off hours, the live RDB holding nothing leaves through the chain: the last server goes', () => {
    const actions = plan(world([nightLive], scheduled(MON_NIGHT)));
    expect(ofKind(actions, 'RecordScaleInStep').map((a) => a.record?.rdb)).toContain(podName(3));
    expect(statusOf(actions)?.pools[0]?.offHours).toEqual({ until: new Date(Date.parse('2026-03-03T14:30:00Z') - LEAD_MS).toISOString() });
    expect(eventReasons(actions)).toContain('PoolOffHours');
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
  });

  test('off hours with no RDB: none is asked for, and no live RDB is no fault', () => {
    const actions = plan(world([], scheduled(MON_NIGHT, { asg: { desired: 0 } })));
    expect(ofKind(actions, 'EnsureRdbPod')).toEqual([]);
    expect(condition(actions, 'Degraded')?.status).toBe('False');
  });

  test('a lead time before the open, a fresh RDB is queued to go live', () => {
    const actions = plan(world([], scheduled(TUE_BEFORE_OPEN, { asg: { desired: 0 }, poolStatus: { offHours: { until: '2026-03-03T14:22:30.000Z' } } })));
    expect(ofKind(actions, 'EnsureRdbPod')).toHaveLength(1);
    expect(eventReasons(actions)).toContain('PoolOpening');
    expect(statusOf(actions)?.pools[0]?.offHours).toBeUndefined();
  });

  test('off hours but holding rows (the day not ended yet, or rows after the close): it stays', () => {
    for (const live of [{ ord: 3, state: 'live', mem: 40 } as RdbSketch, { ...nightLive, holdsRows: true }]) {
      const actions = plan(world([live], scheduled(MON_NIGHT)));
      expect(ofKind(actions, 'RecordScaleInStep')).toEqual([]);
      expect(ofKind(actions, 'DeleteRdbPod')).toEqual([]);
    }
  });

  test('off hours a live RDB that fills still gets the next one', () => {
    const actions = plan(world([{ ord: 3, state: 'live', mem: 70 }], scheduled(MON_NIGHT)));
    expect(ofKind(actions, 'EnsureRdbPod')).toHaveLength(1);
  });

  test('a pool without a schedule keeps minRdbs around the clock', () => {
    const actions = plan(world([nightLive], { now: new Date(MON_NIGHT) }));
    expect(ofKind(actions, 'RecordScaleInStep')).toEqual([]);
    expect(statusOf(actions)?.pools[0]?.offHours).toBeUndefined();
  });

  test('over a week at every 15 minutes, an empty pool asks for an RDB exactly when market hours (less the lead) say so', () => {
    const from = Date.parse('2026-03-02T00:00:00Z');
    for (let t = from; t < from + 7 * 86_400_000; t += 900_000) {
      const now = new Date(t);
      const want = marketState({ ...SCHEDULE, holidays: [] }, NY, now, LEAD_MS).wanted;
      const actions = plan(world([], scheduled(now.toISOString(), { asg: { desired: 0 } })));
      expect({ at: now.toISOString(), asks: ofKind(actions, 'EnsureRdbPod').length > 0 }).toEqual({ at: now.toISOString(), asks: want });
    }
  });
});
