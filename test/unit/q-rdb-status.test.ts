import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { TradingDay } from '../../operator/src/api/rdb-status.ts';

/**
 * The q RDB cannot run here (no licensed kdb+), so its reporting rules are
 * held by reading the code: these break when an edit brings back the
 * end-of-day order that had the live RDB say `flushed`, or a day in q's form.
 */
const rdbQ = readFileSync(new URL('../../images/kdb/rdb.q', import.meta.url), 'utf8');
const commonQ = readFileSync(new URL('../../images/kdb/common.q', import.meta.url), 'utf8');

const definition = (src: string, name: string): string => {
  const start = src.indexOf(`\n${name}:{`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = src.slice(start + 1);
  // A q definition runs until the next line that starts a new top-level statement.
  const end = rest.search(/\n(?=[./\\a-zA-Z])/);
  return end < 0 ? rest : rest.slice(0, end);
};

describe('rdb.q end of day', () => {
  const eod = definition(rdbQ, '.rdb.eod');

  test('the live (or replaying) RDB is told apart before the flush', () => {
    expect(eod).toMatch(/goesOn:was in `live`replaying;/);
  });

  test('`flushed` is reported only by an RDB that does not go on live (a rolled one, or a queued one)', () => {
    const sets = eod.split('\n').filter((l) => l.includes('.rdb.set`flushed'));
    expect(sets.length).toBe(2);
    for (const line of sets) expect(line).toMatch(/if\[not goesOn;[^\]]*\.rdb\.set`flushed\]|^\s*was=`queued; \[.*\.rdb\.set`flushed/);
  });

  test('a queued RDB flushes an empty slice (0;0], reports it flushed and leaves the pool, as the TypeScript RDB does', () => {
    const queued = eod.split('\n').find((l) => /^\s*was=`queued;/.test(l))!;
    expect(queued).toMatch(/\.rdb\.writeSlice\[d;0;0\]/);
    expect(queued).toMatch(/\.rdb\.flushed,:enlist `day`rows`path!\(\.c\.day d;0;path\)/);
    expect(queued).toMatch(/\.rdb\.set`flushed; \.rdb\.leave\[\]/);
    // Leaving closes the handle (tick.q's .z.pc drops a queued subscriber) and never reconnects.
    expect(definition(rdbQ, '.rdb.leave')).toMatch(/\.rdb\.done:1b; if\[not null \.rdb\.h; hclose \.rdb\.h; \.rdb\.h:0Ni\]/);
    expect(definition(rdbQ, '.rdb.connect')).toMatch(/if\[\.rdb\.done or not null \.rdb\.h; :\(\)\]/);
  });

  test('slices carry pool, window and subscription, as the TypeScript slice header does', () => {
    expect(definition(rdbQ, '.rdb.writeSlice')).toMatch(/`day`rdb`pool`window`subscription`tables!\(d;\.rdb\.name;\.rdb\.pool;\(f;l\);`tables`syms!\(\.rdb\.tabs;\.rdb\.syms\);/);
  });

  test('the RDB that goes on is set live for the next day with an open window', () => {
    expect(eod).toMatch(/\$\[goesOn; \[\.rdb\.day:nd; \.rdb\.firstI:0; \.rdb\.lastI:0N; \.rdb\.lastProcessed:0; \.rdb\.set`live\]/);
  });

  test('a closed window is lastI, else the last message applied (q fill: x^y fills a null y with x)', () => {
    expect(eod).not.toMatch(/\.rdb\.lastI\^\.rdb\.lastProcessed/);
    expect(eod).toMatch(/\.rdb\.lastProcessed\^\.rdb\.lastI/);
  });
});

describe('rdb.q writes days as YYYY-MM-DD, the only form the agent accepts', () => {
  test('common.q .c.day turns q dates into ISO days', () => {
    expect(commonQ).toMatch(/^\.c\.day:\{ssr\[string x;"\.";"-"\]\};/m);
  });

  test('the status file day and every flushed day go through .c.day', () => {
    expect(definition(rdbQ, '.rdb.status')).toMatch(/\.c\.day \.rdb\.day/);
    expect(definition(rdbQ, '.rdb.eod')).toMatch(/\.rdb\.flushed,:enlist `day`rows`path!\(\.c\.day d;/);
  });

  test("what string .z.d prints is refused, what .c.day gives is accepted", () => {
    expect(TradingDay.safeParse('2026.03.02').success).toBe(false);
    expect(TradingDay.safeParse('2026.03.02'.replaceAll('.', '-')).success).toBe(true);
  });
});

describe('rdb.q subscribes before it counts the handle as its own', () => {
  const subscribe = definition(rdbQ, '.rdb.subscribe');

  test('a refused .u.sub (the replaced RDB is "still connected") closes the handle and leaves .rdb.h null, so the next tick tries again', () => {
    const sub = subscribe.indexOf('(`.u.sub;');
    const own = subscribe.indexOf('.rdb.h:h');
    expect(sub).toBeGreaterThan(0);
    expect(own).toBeGreaterThan(sub);
    expect(subscribe).toMatch(/a:@\[h;\(`\.u\.sub;[^\n]*\{\(`subscribeRefused;x\)\}\];/);
    // Null too when it was the handle already owned (a replacement subscribing again, .rdb.thenToday).
    expect(subscribe).toMatch(/if\[`subscribeRefused~first a; [^\n]*hclose h; \.rdb\.h:0Ni; :\(\)\];/);
    expect(definition(rdbQ, '.rdb.connect')).toMatch(/if\[null h; :\(\)\];\n\s*\.rdb\.subscribe h\}/);
  });
});

describe('common.q knows every column type the KdbCluster API accepts', () => {
  const types = /^\.c\.types:([`a-z]+)!"([a-zA-Z]+)";/m.exec(commonQ);

  test('each q type name has its type char, timespan (the default schema\'s time) among them', async () => {
    const { ColumnType, DEFAULT_TABLES } = await import('../../operator/src/api/kdbcluster.ts');
    expect(types).not.toBeNull();
    const names = types![1]!.split('`').filter(Boolean);
    expect(names.length).toBe(types![2]!.length);
    expect([...names].sort()).toEqual([...ColumnType.options].sort());
    const chars = Object.fromEntries(names.map((n, k) => [n, types![2]![k]]));
    expect(chars).toMatchObject({ timespan: 'n', timestamp: 'p', symbol: 's', float: 'f', long: 'j', string: 'C' });
    for (const t of DEFAULT_TABLES) for (const c of t.columns) expect(names).toContain(c.type);
  });

  test('bytes per value follow the TypeScript memory account for every type char', async () => {
    const { BYTES_PER_VALUE } = await import('../../images/sim/src/rdb/memory.ts');
    const bytes = /^\.c\.bytes:"([a-zA-Z]+)"!([0-9 ]+);/m.exec(commonQ)!;
    expect(bytes[1]).toBe(types![2]);
    const values = bytes[2]!.trim().split(' ').map(Number);
    const names = types![1]!.split('`').filter(Boolean);
    const text = new Set(['string', 'char', 'guid']);
    names.forEach((n, k) => expect(values[k]).toBe(text.has(n) ? BYTES_PER_VALUE.string : BYTES_PER_VALUE.timestamp));
  });
});

describe('merge.q takes each message window of a pool once', () => {
  const mergeQ = readFileSync(new URL('../../images/kdb/merge.q', import.meta.url), 'utf8');

  test('per pool, the widest window first at each start, and the refusals of windows.ts', () => {
    expect(mergeQ).toMatch(/ix:ix idesc W\[ix;1\]; ix:ix iasc W\[ix;0\];/);
    for (const refusal of ['no slice holds messages', 'overlaps another without lying inside it', 'with different row counts', 'but holds more rows', 'short of the day', 'has an empty window but holds rows'])
      expect(mergeQ).toContain(refusal);
    expect(mergeQ).toMatch(/res:\{choose\[x;where P=x\]\} each pools;/);
  });

  test('only the chosen slices are merged, in window order', () => {
    expect(mergeQ).toMatch(/keep:raze first each res;/);
    expect(mergeQ).toMatch(/\}\[t\] each keep; \.Q\.dpft/);
    expect(mergeQ).not.toMatch(/raze \{x\[`tables;y\]\}\[;t\] each slices;/);
  });
});

/**
 * The live RDB lost after end of day, before it flushed (481e7a7 in the
 * reference: images/sim/src/tickerplant/subscriber-queue.ts, rdb/rdb.ts).
 * The same rules, read in tick.q and rdb.q.
 */
const tickQ = readFileSync(new URL('../../images/kdb/tick.q', import.meta.url), 'utf8');
const queueTs = readFileSync(new URL('../../images/sim/src/tickerplant/subscriber-queue.ts', import.meta.url), 'utf8');
const params = (def: string): string[] => /^[.\w]+:\{\[([^\]]*)\]/.exec(def)![1]!.split(';');

describe('tick.q keeps the day before\'s windows, the live one closed at the day\'s last message', () => {
  const keep = definition(tickQ, '.u.keepPrev');

  test('rolled windows, and the live RDB\'s (n known and at or past its firstI), become rolled windows ending at n', () => {
    expect(params(keep)).toEqual(['n']);
    expect(keep).toMatch(/\.u\.psubs:select from \.u\.subs where null replacedBy, \(state=`rolled\) or \(state=`live\) and \(not null n\) and n>=firstI;/);
    expect(keep).toMatch(/update state:`rolled, lastI:n, rolledAt:0Np from `\.u\.psubs where state=`live\}/);
  });

  test('end of day keeps them at .u.i once the pending messages are committed, before the table and the count are reset', () => {
    const end = definition(tickQ, '.u.end');
    const at = (s: string) => end.indexOf(s);
    expect(at('.u.keepPrev .u.i;')).toBeGreaterThan(at('.u.commit[];'));
    expect(at('.u.keepPrev .u.i;')).toBeLessThan(at('delete from `.u.subs'));
    expect(at('.u.keepPrev .u.i;')).toBeLessThan(at('.u.openLog[];'));
    expect(at('.u.commit[];')).toBeGreaterThanOrEqual(0);
  });

  test('a start after a missed end of day keeps them at the old day\'s log count (unknown without a log: the live window is not kept)', () => {
    expect(tickQ).toMatch(/^if\[\.u\.load\[\]; if\[\.u\.d<\.u\.tday\[\]; \.u\.keepPrev \.u\.logCount \.u\.d; delete from/m);
    const count = definition(tickQ, '.u.logCount');
    expect(count).toMatch(/if\[\(\)~key f; :0N\]; r:-11!\(-2;f\); \$\[-7h=type r; r; first r\]/);
    expect(tickQ).not.toMatch(/\.u\.keepPrev\[\]/);
  });
});

describe('tick.q: a replacement asks for the day of the window it replaces', () => {
  const sub = definition(tickQ, '.u.sub');
  const on = definition(tickQ, '.u.replaceOn');
  const prev = definition(tickQ, '.u.replacePrev');

  test('rdb.q sends .rdb.replacesDay in the place of .u.sub\'s rd, one argument per parameter', () => {
    expect(params(sub)).toEqual(['n', 'p', 'tabs', 'syms', 'rep', 'rd', 'held']);
    const call = /\(`\.u\.sub;([^)]*)\);/.exec(definition(rdbQ, '.rdb.subscribe'))![1]!.split(';');
    expect(call).toEqual(['.rdb.name', '.rdb.pool', '.rdb.tabs', '.rdb.syms', '.rdb.replaces', '.rdb.replacesDay', '.rdb.held[]']);
    expect(sub).toMatch(/if\[not null rep; :\.u\.replaceOn\[n;p;tabs;syms;rep;rd\]\];/);
  });

  test('no day or the current one: the current day\'s window; the day before: that day\'s; an older day: refused naming the days', () => {
    expect(on).toMatch(/if\[\(null rd\) or rd>=\.u\.d; :\.u\.replace\[n;p;tabs;syms;rep\]\];/);
    expect(on).toMatch(/if\[rd=\.u\.pd; :\.u\.replacePrev\[n;p;tabs;syms;rep;rd\]\];/);
    const refusal = on.split('\n').find((l) => l.trimStart().startsWith("'"))!;
    expect(refusal).toMatch(/\.c\.day\[rd\].*\$\[null \.u\.pd;"no earlier day";\.c\.day \.u\.pd\].*\.c\.day\[\.u\.d\]/);
    // The reference's words, so both refusals read the same.
    for (const words of ["'s window of ", ', but the tickerplant keeps windows of ', ' only (it is on ', "): that day's rows were not replayed"]) {
      expect(refusal).toContain(words);
      expect(queueTs).toContain(words);
    }
  });

  test('the day before\'s window is replayed from that day\'s log and flushed; thenCurrentDay when the lost RDB also holds a window of the current day', () => {
    expect(params(prev)).toEqual(['n', 'p', 'tabs', 'syms', 'rep', 'rd']);
    expect(prev).toMatch(/today:not null \.u\.holderIn\[\.u\.subs;p;rep;n\];/);
    expect(prev).toMatch(/`role`day`logPath`firstI`replayFrom`replayTo`lastI`currentDay`thenCurrentDay!\(`rolled;\.u\.pd;\.u\.logOf \.u\.pd;lost`firstI;lost`firstI;lost`lastI;lost`lastI;\.u\.d;today\)\}/);
    // Nothing of that day but a window today (the day was a guess): the current day's, as the reference does.
    expect(prev).toMatch(/if\[\(not null rd\) and not null \.u\.holderIn\[\.u\.subs;p;rep;n\]; :\.u\.replace\[n;p;tabs;syms;rep\]\];/);
    // .u.replace falls back with no day, so the two never call each other in a loop.
    expect(definition(tickQ, '.u.replace')).toMatch(/:\.u\.replacePrev\[n;p;tabs;syms;rep;0Nd\]\]/);
  });
});

describe('tick.q follows a chain of replacements to the window\'s holder', () => {
  test('the chain is followed at most once per row (a cycle holds nothing) and ends at an unreplaced row', () => {
    expect(definition(tickQ, '.u.by')).toMatch(/\$\[count select from t where pool=p, name=x, null replacedBy; `; first exec replacedBy from t where pool=p, name=x\]/);
    const end = definition(tickQ, '.u.chainEnd');
    expect(end).toMatch(/c:count\[t\] \.u\.by\[t;p\]\\ n;/);
    expect(end).toMatch(/if\[not any null c; :`\];/);
    expect(end).toMatch(/\$\[count select from t where pool=p, name=h, null replacedBy; h; `\]\}/);
  });

  test('a holder down the chain that is still connected (neither the one named nor the one asking) is refused: it is not lost', () => {
    expect(definition(tickQ, '.u.holderIn')).toMatch(/h:\.u\.chainEnd\[t;p;n\]; \$\[\(h in n,s\) or null \.u\.h h; h; `\]\}/);
    expect(definition(tickQ, '.u.noHolder')).toContain('holds its window and is still connected');
  });

  test('both days\' replacements take the holder\'s window, not the named RDB\'s', () => {
    const replace = definition(tickQ, '.u.replace');
    expect(replace).toMatch(/if\[null h:\.u\.holderIn\[\.u\.subs;p;rep;n\];/);
    expect(replace).toMatch(/update replacedBy:n from `\.u\.subs where name=h, null replacedBy;/);
    expect(replace).toMatch(/if\[\(`live=lost`state\) and not null \.u\.h h; '"subscriber ",string\[h\]," is still connected"\];/);
    const prev = definition(tickQ, '.u.replacePrev');
    expect(prev).toMatch(/h:\.u\.holderIn\[\.u\.psubs;p;rep;n\];/);
    expect(prev).toMatch(/update replacedBy:n from `\.u\.psubs where name=h, pool=p, null replacedBy;/);
    for (const d of [replace, prev]) {
      expect(d).toMatch(/lost`firstI;lost`lastI;h;`\);/);
      expect(d).not.toMatch(/name=rep/);
    }
  });
});

describe('rdb.q: a replacement of a window of the day before', () => {
  const assign = definition(rdbQ, '.rdb.assign');
  const then = definition(rdbQ, '.rdb.thenToday');

  test('the operator passes KDB_REPLACES_DAY; rdb.q reads it as YYYY-MM-DD and starts with its day set to it', () => {
    expect(readFileSync(new URL('../../operator/src/specs/rdb.ts', import.meta.url), 'utf8')).toContain("name: 'KDB_REPLACES_DAY'");
    expect(rdbQ).toMatch(/^\.rdb\.replacesDay:\.c\.isoDay`KDB_REPLACES_DAY;\nif\[null \.rdb\.replaces; \.rdb\.replacesDay:0Nd\];/m);
    expect(rdbQ).toMatch(/^\.rdb\.state:`queued; \.rdb\.day:\.z\.D\^\.rdb\.replacesDay;/m);
    const isoDay = definition(commonQ, '.c.isoDay');
    expect(isoDay).toMatch(/if\[not count v; :0Nd\]; d:"D"\$v;/);
    expect(isoDay).toMatch(/if\[\(null d\) or not v like "\[0-9\]\[0-9\]\[0-9\]\[0-9\]-\[0-9\]\[0-9\]-\[0-9\]\[0-9\]"; \.c\.fail /);
  });

  test('told thenCurrentDay, it writes the day\'s slice and subscribes again before it would report rolled', () => {
    const at = (s: string) => assign.indexOf(s);
    expect(assign).toMatch(/before:\(`rolled=a`role\) and \$\[`currentDay in key a; a\[`currentDay\]>a`day; 0b\];/);
    expect(assign).toMatch(/if\[before and 1b~a`thenCurrentDay; :\.rdb\.thenToday\[a`day;a`currentDay\]\];/);
    expect(at(':.rdb.thenToday[')).toBeGreaterThan(at('.rdb.replay['));
    expect(at(':.rdb.thenToday[')).toBeLessThan(at('.rdb.set $[`live=a`role;`live;`rolled]'));
    expect(at('if[before; :.rdb.eod[a`day;a`currentDay]];')).toBeGreaterThan(at('.rdb.set $[`live=a`role;`live;`rolled]'));
    // A key an assignment lacks indexes to a null of another type: compared bare, it is a type error.
    expect(assign.replace('$[`currentDay in key a; a[`currentDay]>a`day; 0b]', '')).not.toMatch(/a\[`currentDay\]>/);
  });

  test('in between it reports replaying, never flushed, and subscribes again with no replaces-day, holding nothing', () => {
    expect(params(then)).toEqual(['d', 'nd']);
    expect(then).not.toMatch(/`flushed|\.rdb\.eod|\.rdb\.leave/);
    expect(then).toMatch(/path:\.rdb\.writeSlice\[d;\.rdb\.firstI;\.rdb\.lastProcessed\^\.rdb\.lastI\];/);
    expect(then).toMatch(/\.rdb\.flushed,:enlist `day`rows`path!\(\.c\.day d;sum count each value each \.rdb\.tables;path\);/);
    expect(then).toMatch(/\.rdb\.clear\[\]; \.rdb\.holding:0b; \.rdb\.replacesDay:0Nd;/);
    expect(then).toMatch(/\.rdb\.day:nd; \.rdb\.firstI:0; \.rdb\.lastI:0N; \.rdb\.lastProcessed:0;\n\s*\.rdb\.set`replaying;\n\s*\.rdb\.subscribe \.rdb\.h\};\n?$/);
  });

  test('a replacement assigned an empty rolled window writes its empty slice at once and reports flushed', () => {
    expect(assign).toMatch(/if\[\(not null \.rdb\.replaces\) and \(`rolled=a`role\) and a\[`lastI\]=a`firstI; \.rdb\.eod\[a`day;a`day\]\]\};\n?$/);
    // A rolled RDB's end of day writes (firstI;lastI] and reports flushed: here that is (lastI;lastI].
    expect(definition(rdbQ, '.rdb.eod')).toMatch(/if\[not goesOn; \.rdb\.lastI:\.rdb\.lastProcessed\^\.rdb\.lastI; \.rdb\.set`flushed\]/);
  });
});
