import { describe, expect, test } from '@jest/globals';
import * as q from '../../images/sim/src/tickerplant/subscriber-queue.ts';

const NOW = '2025-03-03T10:00:00.000Z';
const req = (name: string, extra: Partial<q.SubscribeRequest> = {}): q.SubscribeRequest => ({
  name,
  pool: 'p',
  tables: [],
  syms: [],
  replaces: null,
  held: null,
  ...extra,
});
const ok = <T>(r: q.Result<T>): { table: q.QueueTable; value: T } => {
  if (!r.ok) throw new Error(r.error);
  return r;
};
const state = (t: q.QueueTable) => t.subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI]);

describe('subscriber queue', () => {
  test('first arrival is live with window (0, count]; later ones queue', () => {
    let t = q.emptyTable('2025-03-03');
    const a = ok(q.subscribe(t, req('r1'), 5, NOW));
    expect(a.value.assignment).toEqual({ name: 'r1', role: 'live', firstI: 0, replayFrom: 0, replayTo: 5, lastI: null });
    t = ok(q.subscribe(a.table, req('r2'), 7, NOW)).table;
    expect(state(t)).toEqual([['r1', 'live', 0, null], ['r2', 'queued', 0, null]]);
  });

  test('roll: the live RDB holds (firstI, lastI]; the oldest queued becomes live with (lastI, count]', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r3'), 0, NOW)).table;
    const r = ok(q.roll(t, 'p', 'r1', 40, 43, NOW));
    expect(r.value).toEqual([{ name: 'r2', role: 'live', firstI: 40, replayFrom: 40, replayTo: 43, lastI: null }]);
    expect(state(r.table)).toEqual([['r1', 'rolled', 0, 40], ['r2', 'live', 40, null], ['r3', 'queued', 0, null]]);
  });

  test('roll with none queued: the next to arrive is live from the largest lastI and recovers the gap', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.roll(t, 'p', 'r1', 40, 40, NOW)).table;
    expect(q.liveOf(t, 'p')).toBeUndefined();
    const r = ok(q.subscribe(t, req('r2'), 90, NOW));
    expect(r.value.assignment).toEqual({ name: 'r2', role: 'live', firstI: 40, replayFrom: 40, replayTo: 90, lastI: null });
  });

  test('only the live RDB may roll, within (firstI, count]', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 10, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 10, NOW)).table;
    expect(q.roll(t, 'p', 'r2', 10, 10, NOW).ok).toBe(false);
    expect(q.roll(t, 'p', 'r1', 11, 10, NOW).ok).toBe(false);
    expect(q.roll(t, 'p', 'r1', 10, 10, NOW).ok).toBe(true);
  });

  test('a disconnected live RDB is rolled with what was sent; a queued one leaves', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r3'), 0, NOW)).table;
    const d = ok(q.disconnect(t, 'p', 'r1', 33, 35, NOW));
    expect(d.value[0]).toMatchObject({ name: 'r2', firstI: 33, replayTo: 35 });
    const e = ok(q.disconnect(d.table, 'p', 'r3', 0, 35, NOW));
    expect(state(e.table)).toEqual([['r1', 'rolled', 0, 33], ['r2', 'live', 33, null]]);
  });

  test('a reconnecting RDB carries on: live from what it holds, rolled with its window', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    const back = ok(q.subscribe(t, req('r1', { held: { state: 'live', firstI: 0, lastProcessed: 12 } }), 20, NOW));
    expect(back.value.assignment).toMatchObject({ role: 'live', replayFrom: 12, replayTo: 20 });
    // Rolled while it could not tell the tickerplant: rolled at what it holds.
    t = ok(q.subscribe(t, req('r2'), 20, NOW)).table;
    const rolled = ok(q.subscribe(t, req('r1', { held: { state: 'rolled', firstI: 0, lastProcessed: 15 } }), 20, NOW));
    expect(rolled.value.assignment).toMatchObject({ role: 'rolled', firstI: 0, lastI: 15 });
    expect(rolled.value.promoted).toEqual([{ name: 'r2', role: 'live', firstI: 15, replayFrom: 15, replayTo: 20, lastI: null }]);
    // A fresh process under a rolled name replays its whole window.
    const fresh = ok(q.subscribe(rolled.table, req('r1'), 25, NOW));
    expect(fresh.value.assignment).toMatchObject({ role: 'rolled', replayFrom: 0, replayTo: 15, lastI: 15 });
  });

  test('a replacement gets exactly the lost window and ends rolled', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.disconnect(t, 'p', 'r1', 50, 50, NOW)).table;
    const r = ok(q.subscribe(t, req('r9', { replaces: 'r1' }), 70, NOW));
    expect(r.value.assignment).toEqual({ name: 'r9', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 50, lastI: 50 });
    expect(r.table.subscribers.find((s) => s.name === 'r1')!.replacedBy).toBe('r9');
    // A name the tickerplant never had today or the day before held no window: the empty one, flushed at once.
    const nobody = ok(q.subscribe(r.table, req('r8', { replaces: 'nobody' }), 70, NOW));
    expect(nobody.value.assignment).toEqual({ name: 'r8', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 0, lastI: 0 });
    expect(nobody.value.promoted).toEqual([]);
  });

  test('a replacement for a queued RDB (status had not seen it go live) holds the empty window; the queue goes on', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    const r = ok(q.subscribe(t, req('r2b', { replaces: 'r2' }), 30, NOW));
    expect(r.value.assignment).toEqual({ name: 'r2b', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 0, lastI: 0 });
    expect(state(r.table)).toEqual([['r1', 'live', 0, null], ['r2', 'queued', 0, null], ['r2b', 'rolled', 0, 0]]);
    expect(r.table.subscribers.find((s) => s.name === 'r2')!.replacedBy).toBe('r2b');
    // r1 rolls: r2 was replaced, so nobody is queued, and the next to arrive goes live from 40.
    const rolled = ok(q.roll(r.table, 'p', 'r1', 40, 45, NOW));
    expect(rolled.value).toEqual([]);
  });

  test('a replacement whose window a connected replacement already holds is refused, naming it', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.disconnect(t, 'p', 'r1', 50, 50, NOW)).table;
    t = ok(q.subscribe(t, req('r1b', { replaces: 'r1' }), 70, NOW)).table;
    const r = q.subscribe(t, req('r1c', { replaces: 'r1', connected: new Set(['r1b']) }), 70, NOW);
    expect(r).toEqual({ ok: false, error: 'r1c replaces r1, whose window r1b holds and is still connected: refused' });
  });

  test('replacing a live RDB whose connection is gone (tickerplant restarted) rolls it at the current count', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    const r = ok(q.subscribe(t, req('r9', { replaces: 'r1' }), 60, NOW));
    expect(r.value.assignment).toMatchObject({ role: 'rolled', firstI: 0, lastI: 60 });
    expect(r.value.promoted).toEqual([{ name: 'r2', role: 'live', firstI: 60, replayFrom: 60, replayTo: 60, lastI: null }]);
  });

  test('end of day: rolled and replaced leave, live restarts at 0, queued stay', () => {
    let t = ok(q.subscribe(q.emptyTable('d1'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r3'), 0, NOW)).table;
    t = ok(q.roll(t, 'p', 'r1', 10, 12, NOW)).table;
    const e = q.endOfDay(t, 'd2');
    expect(e.day).toBe('d2');
    expect(state(e)).toEqual([['r2', 'live', 0, null], ['r3', 'queued', 0, null]]);
  });

  test('end of day keeps the rolled windows one more day: an RDB lost before it flushed is replaced from that day', () => {
    let t = ok(q.subscribe(q.emptyTable('d1'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.roll(t, 'p', 'r1', 10, 12, NOW)).table;
    const e = q.endOfDay(t, 'd2');
    expect(e.previous?.day).toBe('d1');
    expect(e.previous?.subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI])).toEqual([['r1', 'rolled', 0, 10]]);

    const r = ok(q.subscribe(e, req('r1b', { replaces: 'r1' }), 3, NOW));
    // The window of the day before, to replay from its log and flush; nothing of the new day changes.
    expect(r.value.assignment).toEqual({ name: 'r1b', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 10, lastI: 10, day: 'd1' });
    expect(r.value.promoted).toEqual([]);
    expect(state(r.table)).toEqual(state(e));
    expect(r.table.previous?.subscribers.find((s) => s.name === 'r1')?.replacedBy).toBe('r1b');
    // Replaced once: a second replacement while the first is connected is refused, and the day after next forgets it.
    expect(q.subscribe(r.table, req('r1c', { replaces: 'r1', connected: new Set(['r1b']) }), 3, NOW).ok).toBe(false);
    expect(q.endOfDay(r.table, 'd3').previous).toEqual({ day: 'd2', subscribers: [] });
  });

  describe('the live RDB lost around end of day, before it flushed', () => {
    // d1: r1 rolled at 10, r2 live from 10; the day ends at 25; r3 queued.
    const atEndOfDay = () => {
      let t = ok(q.subscribe(q.emptyTable('d1'), req('r1'), 0, NOW)).table;
      t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
      t = ok(q.roll(t, 'p', 'r1', 10, 12, NOW)).table;
      t = ok(q.subscribe(t, req('r3'), 25, NOW)).table;
      return q.endOfDay(t, 'd2', 25);
    };

    test('end of day keeps the live window up to the day\'s last message', () => {
      const e = atEndOfDay();
      expect(e.previous?.subscribers.map((s) => [s.name, s.state, s.firstI, s.lastI])).toEqual([
        ['r1', 'rolled', 0, 10],
        ['r2', 'rolled', 10, 25],
      ]);
      expect(state(e)).toEqual([['r2', 'live', 0, null], ['r3', 'queued', 0, null]]);
    });

    test('its replacement replays the finished day first, then what it held of the new day', () => {
      // r2 died 4 messages into d2: its connection closed, so it was rolled at 4 and r3 went live.
      let t = ok(q.disconnect(atEndOfDay(), 'p', 'r2', 4, 6, NOW)).table;
      expect(state(t)).toEqual([['r2', 'rolled', 0, 4], ['r3', 'live', 4, null]]);
      const first = ok(q.subscribe(t, req('r2b', { replaces: 'r2', replacesDay: 'd1' }), 6, NOW));
      expect(first.value.assignment).toEqual({ name: 'r2b', role: 'rolled', firstI: 10, replayFrom: 10, replayTo: 25, lastI: 25, day: 'd1', thenCurrentDay: true });
      t = first.table;
      // Its slice of d1 written, it asks again for the current day.
      const second = ok(q.subscribe(t, req('r2b', { replaces: 'r2', replacesDay: null }), 6, NOW));
      expect(second.value.assignment).toEqual({ name: 'r2b', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 4, lastI: 4 });
      expect(second.value.promoted).toEqual([]);
      expect(state(second.table)).toEqual([['r2', 'rolled', 0, 4], ['r3', 'live', 4, null], ['r2b', 'rolled', 0, 4]]);
    });

    test('a replacement lost before its slice of the finished day is replaced for both days', () => {
      let t = ok(q.disconnect(atEndOfDay(), 'p', 'r2', 4, 6, NOW)).table;
      t = ok(q.subscribe(t, req('r2b', { replaces: 'r2', replacesDay: 'd1' }), 6, NOW)).table;
      // r2b's pod failed while replaying d1: its debt is still r2's, and the operator names r2.
      const again = ok(q.subscribe(t, req('r2c', { replaces: 'r2', replacesDay: 'd1' }), 6, NOW));
      expect(again.value.assignment).toEqual({ name: 'r2c', role: 'rolled', firstI: 10, replayFrom: 10, replayTo: 25, lastI: 25, day: 'd1', thenCurrentDay: true });
      const today = ok(q.subscribe(again.table, req('r2c', { replaces: 'r2', replacesDay: null }), 6, NOW));
      expect(today.value.assignment).toEqual({ name: 'r2c', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 4, lastI: 4 });
    });

    test('a replacement lost after its slice of the finished day is replaced for the new day only', () => {
      let t = ok(q.disconnect(atEndOfDay(), 'p', 'r2', 4, 6, NOW)).table;
      t = ok(q.subscribe(t, req('r2b', { replaces: 'r2', replacesDay: 'd1' }), 6, NOW)).table;
      t = ok(q.subscribe(t, req('r2b', { replaces: 'r2', replacesDay: null }), 6, NOW)).table;
      // r2b held (0, 4] of d2 when it was lost; its report said d2.
      const r = ok(q.subscribe(t, req('r2c', { replaces: 'r2', replacesDay: 'd2' }), 6, NOW));
      expect(r.value.assignment).toEqual({ name: 'r2c', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 4, lastI: 4 });
    });

    test('a window of a day the tickerplant no longer keeps is refused, naming the days', () => {
      const r = q.subscribe(atEndOfDay(), req('r2b', { replaces: 'r2', replacesDay: 'd0' }), 6, NOW);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/window of d0.*keeps windows of d1 only.*on d2/);
    });

    test('a replacement asking for the current day gets only the current day, as before', () => {
      const t = ok(q.disconnect(atEndOfDay(), 'p', 'r2', 4, 6, NOW)).table;
      const r = ok(q.subscribe(t, req('r2b', { replaces: 'r2', replacesDay: 'd2' }), 6, NOW));
      expect(r.value.assignment).toEqual({ name: 'r2b', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 4, lastI: 4 });
      expect(r.table.previous?.subscribers.find((s) => s.name === 'r2')?.replacedBy).toBeNull();
    });

    test('a lost rolled RDB of the finished day is still replaced from that day only', () => {
      const r = ok(q.subscribe(atEndOfDay(), req('r1b', { replaces: 'r1', replacesDay: 'd1' }), 6, NOW));
      expect(r.value.assignment).toEqual({ name: 'r1b', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 10, lastI: 10, day: 'd1' });
    });
  });

  test('a replacement lost before it had replayed is replaced whether the operator names the first owner or it', () => {
    let t = ok(q.subscribe(q.emptyTable('d1'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 0, NOW)).table;
    t = ok(q.roll(t, 'p', 'r1', 10, 12, NOW)).table;
    t = ok(q.subscribe(t, req('r1b', { replaces: 'r1' }), 12, NOW)).table;
    expect(q.subscribe(t, req('r1c', { replaces: 'r1', connected: new Set(['r1b', 'r2']) }), 12, NOW).ok).toBe(false);
    for (const named of ['r1', 'r1b']) {
      const r = ok(q.subscribe(t, req('r1c', { replaces: named, connected: new Set(['r2']) }), 12, NOW));
      expect(r.value.assignment).toEqual({ name: 'r1c', role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 10, lastI: 10 });
      expect(r.table.subscribers.find((s) => s.name === 'r1b')?.replacedBy).toBe('r1c');
    }
  });

  test('pools are independent', () => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('a1', { pool: 'a' }), 3, NOW)).table;
    const b = ok(q.subscribe(t, req('b1', { pool: 'b' }), 3, NOW));
    expect(b.value.assignment.role).toBe('live');
    t = ok(q.roll(b.table, 'a', 'a1', 3, 3, NOW)).table;
    expect(q.poolHighWater(t, 'a')).toBe(3);
    expect(q.poolHighWater(t, 'b')).toBe(0);
  });
});

describe('rollLive: the operator rolls the live RDB on request', () => {
  const pool = (): q.QueueTable => {
    let t = ok(q.subscribe(q.emptyTable('d'), req('r1'), 0, NOW)).table;
    t = ok(q.subscribe(t, req('r2'), 10, NOW)).table;
    return ok(q.subscribe(t, req('r3'), 10, NOW)).table;
  };
  const all = new Set(['r1', 'r2', 'r3']);

  test('rolls at sentI onto the named queued RDB; the rolled one is told its window, the next goes live from there', () => {
    const r = q.rollLive(pool(), { pool: 'p', rdb: 'r1', next: 'r3' }, 40, 43, all, NOW);
    expect(r.outcome).toEqual({ rolled: true, lastI: 40, next: 'r3' });
    expect(state(r.table)).toEqual([['r1', 'rolled', 0, 40], ['r2', 'queued', 0, null], ['r3', 'live', 40, null]]);
    expect(r.assignments).toEqual([
      { name: 'r1', role: 'rolled', firstI: 0, replayFrom: 40, replayTo: 40, lastI: 40 },
      { name: 'r3', role: 'live', firstI: 40, replayFrom: 40, replayTo: 43, lastI: null },
    ]);
  });

  test('without next: the oldest queued RDB that is connected', () => {
    const r = q.rollLive(pool(), { pool: 'p', rdb: 'r1' }, 40, 43, new Set(['r1', 'r3']), NOW);
    expect(r.outcome).toEqual({ rolled: true, lastI: 40, next: 'r3' });
  });

  test('a repeat rolls nothing: the RDB named is no longer live', () => {
    const once = q.rollLive(pool(), { pool: 'p', rdb: 'r1', next: 'r2' }, 40, 43, all, NOW);
    const twice = q.rollLive(once.table, { pool: 'p', rdb: 'r1', next: 'r3' }, 40, 50, all, NOW);
    expect(twice.outcome).toMatchObject({ rolled: false, lastI: 40, next: 'r2' });
    expect(twice.table).toBe(once.table);
    expect(twice.assignments).toEqual([]);
  });

  test.each([
    ['nothing queued', (t: q.QueueTable) => ok(q.roll(ok(q.roll(t, 'p', 'r1', 5, 10, NOW)).table, 'p', 'r2', 7, 10, NOW)).table, 'r3', all, /no queued RDB/],
    ['the queued RDBs are not connected', (t: q.QueueTable) => t, 'r1', new Set(['r1']), /no queued RDB is connected/],
    ['the RDB named as next is not queued', (t: q.QueueTable) => t, 'r1', all, /r1 is not a queued RDB/],
  ])('refused, changing nothing: %s', (_why, setup, live, ready, reason) => {
    const t = setup(pool());
    const r = q.rollLive(t, { pool: 'p', rdb: live, ...(_why.includes('next') ? { next: 'r1' } : {}) }, 10, 10, ready, NOW);
    expect(r.outcome).toMatchObject({ rolled: false, reason: expect.stringMatching(reason) });
    expect(r.table).toBe(t);
  });

  test('a live RDB not connected (sentI unknown) is not rolled on request', () => {
    const t = pool();
    expect(q.rollLive(t, { pool: 'p', rdb: 'r1' }, undefined, 43, all, NOW).outcome).toMatchObject({ rolled: false, reason: expect.stringMatching(/not connected/) });
  });

  test('sentI below the window start (nothing sent yet) rolls at firstI: an empty window', () => {
    let t = pool();
    t = ok(q.roll(t, 'p', 'r1', 30, 30, NOW)).table;
    const r = q.rollLive(t, { pool: 'p', rdb: 'r2' }, 0, 30, all, NOW);
    expect(r.outcome).toEqual({ rolled: true, lastI: 30, next: 'r3' });
  });
});
