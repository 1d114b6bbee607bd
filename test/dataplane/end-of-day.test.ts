import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checksumColumns } from '../../images/sim/src/checksum.ts';
import { readPartitionTable } from '../../images/sim/src/merge/merge.ts';
import { DataPlane, HOST, feed, sums, waitFor } from './harness.ts';

jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

/** A day so far: r1 was live until it rolled at 400 kB, r2 is live behind it; 5,000 rows fed. */
const dayWithARoll = async (seed: number) => {
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1', { capacityBytes: 400_000 });
  await dp.waitStatus('r1', (s) => s.state === 'live');
  await dp.startRdb('r2');
  await dp.waitStatus('r2', (s) => s.state === 'queued');
  const a = await feed(dp, 5_000, seed);
  const r1 = await dp.waitStatus('r1', (s) => s.state === 'rolled');
  await dp.waitRows(['r1', 'r2'], 5_000);
  return { a, r1 };
};

describe('end of day', () => {
  test('slices flushed, merged into the HDB partition, merge idempotent and refused when incomplete', async () => {
    const { a } = await dayWithARoll(71);
    await dp.startRdb('r3');
    await dp.waitStatus('r3', (s) => s.state === 'queued');
    const { day } = await dp.subscribers();

    const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
    expect((await eod.exited).code).toBe(0);
    const done = JSON.parse(eod.output) as { day: string; nextDay: string; count: number };
    expect(done).toMatchObject({ op: 'end-of-day-done', day, count: a.tickerplantCount });

    const r1 = await dp.waitStatus('r1', (s) => s.state === 'flushed');
    const r2 = await dp.waitStatus('r2', (s) => s.flushed.length === 1 && s.state === 'live');
    const r3 = await dp.waitStatus('r3', (s) => s.state === 'flushed');
    expect(r1.rows).toEqual({ trade: 0, quote: 0 });
    expect(r2).toMatchObject({ day: done.nextDay, window: { firstI: 0, lastI: null, lastProcessed: 0 }, rows: { trade: 0, quote: 0 } });
    // The queued RDB held nothing: it flushes an empty slice and leaves, so its server can go.
    expect(r3.flushed).toEqual([{ day, rows: 0, path: join(dp.stagingDir, day, 'r3.slice.jsonl') }]);
    expect(r1.flushed[0]!.day).toBe(day);
    expect(r1.flushed[0]!.rows + r2.flushed[0]!.rows).toBe(5_000);
    expect(readdirSync(join(dp.stagingDir, day)).sort()).toEqual(['r1.slice.jsonl', 'r2.slice.jsonl', 'r3.slice.jsonl']);
    // The tickerplant forgets rolled RDBs at end of day; the live one starts the new day at 0.
    const t = await dp.subscribers();
    await waitFor('the tickerplant to drop the queued RDB that left', async () => (await dp.subscribers()).subscribers.length === 1);
    expect((await dp.subscribers()).subscribers.map((s) => [s.name, s.state, s.firstI])).toEqual([['r2', 'live', 0]]);
    expect(t).toMatchObject({ day: done.nextDay, count: 0 });

    const refused = dp.run(['merge', '--day', day, '--expect', '4'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await refused.exited).code).not.toBe(0);
    expect(refused.output).toMatch(/expected 4 slices .* found 3/);

    const merge = dp.run(['merge', '--day', day, '--expect', '3'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await merge.exited).code).toBe(0);
    expect(JSON.parse(merge.output)).toMatchObject({ alreadyComplete: false, tables: sums(a.tables) });
    for (const table of ['trade', 'quote']) {
      const { data } = readPartitionTable(dp.hdbDir, day, table);
      expect(checksumColumns(data)).toEqual(sums(a.tables)[table]);
      const time = data[0] as number[];
      const sym = data[1] as string[];
      for (let r = 1; r < sym.length; r++) expect(sym[r - 1]! < sym[r]! || (sym[r - 1] === sym[r] && time[r - 1]! <= time[r]!)).toBe(true);
    }
    const col = join(dp.hdbDir, day, 'trade', 'price.json');
    const mtime = statSync(col).mtimeMs;
    const again = dp.run(['merge', '--day', day, '--expect', '3'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await again.exited).code).toBe(0);
    expect(JSON.parse(again.output)).toMatchObject({ alreadyComplete: true, tables: sums(a.tables) });
    expect(statSync(col).mtimeMs).toBe(mtime);

    // The next day goes to the RDB that stayed live.
    const b = await feed(dp, 1_000, 72, { day: '2025-03-04' });
    expect(b.tickerplantCount).toBe(b.messages);
    await dp.waitRows(['r2'], 1_000);
    expect(await dp.checksums(['r2'])).toEqual(sums(b.tables));
  });
});

describe('an RDB lost around end of day', () => {
  test('lost before it flushed: its replacement replays that day from its log and flushes it; the merged day holds every row', async () => {
    const { a, r1 } = await dayWithARoll(73);
    const { day } = await dp.subscribers();
    // r1 holds its window and is lost before end of day reaches it.
    await dp.rdbs.get('r1')!.proc.kill('SIGKILL');

    const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
    expect((await eod.exited).code).toBe(0);
    await dp.waitStatus('r2', (s) => s.flushed.length === 1 && s.state === 'live');

    await dp.startRdb('r1-replacement', { replaces: 'r1' });
    const rep = await dp.waitStatus('r1-replacement', (s) => s.state === 'flushed');
    expect(rep.day).toBe(day);
    expect(rep.window).toMatchObject({ firstI: r1.window.firstI, lastI: r1.window.lastI });
    expect(rep.flushed).toEqual([{ day, rows: expect.any(Number), path: join(dp.stagingDir, day, 'r1-replacement.slice.jsonl') }]);
    const t = await dp.subscribers();
    expect(t.subscribers.map((s) => s.name)).toEqual(['r2']);

    const merge = dp.run(['merge', '--day', day, '--expect', '2'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await merge.exited).code).toBe(0);
    expect(JSON.parse(merge.output)).toMatchObject({ tables: sums(a.tables) });
  });

  test('the live RDB lost after end of day, before it flushed: its replacement writes the finished day, then takes what it held of the new day; both days merge whole', async () => {
    const { a } = await dayWithARoll(79);
    const { day } = await dp.subscribers();
    // r2, the live RDB, stops before it can hear of the end of day (SIGSTOP),
    // is sent new-day messages it never applies, and dies.
    const r2 = dp.rdbs.get('r2')!;
    r2.proc.child.kill('SIGSTOP');
    const eod = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
    expect((await eod.exited).code).toBe(0);
    const { day: next } = await dp.subscribers();
    expect(next > day).toBe(true);
    // The next day's queued RDB (the one queued at end of day flushed and left, as in the paper).
    await dp.startRdb('r3');
    await dp.waitStatus('r3', (s) => s.state === 'queued');
    const b = await feed(dp, 600, 80);
    await r2.proc.kill('SIGKILL');
    const lastReport = JSON.parse(readFileSync(r2.statusFile, 'utf8')) as { day: string; state: string; flushed: unknown[] };
    expect(lastReport).toMatchObject({ day, state: 'live', flushed: [] });
    // r3 took over live from what had been sent to r2.
    await dp.waitStatus('r3', (s) => s.state === 'live');

    // The operator asks for the day of the lost RDB's last report.
    await dp.startRdb('r2-replacement', { replaces: 'r2', replacesDay: lastReport.day });
    const rep = await dp.waitStatus('r2-replacement', (s) => s.state === 'rolled' && s.day === next);
    expect(rep.flushed).toEqual([{ day, rows: expect.any(Number), path: join(dp.stagingDir, day, 'r2-replacement.slice.jsonl') }]);
    const t = await dp.subscribers();
    const r2Today = t.subscribers.find((s) => s.name === 'r2')!;
    expect(t.subscribers.find((s) => s.name === 'r2-replacement')).toMatchObject({ state: 'rolled', firstI: 0, lastI: r2Today.lastI });
    await dp.waitRows(['r3', 'r2-replacement'], 600);

    const merged = dp.run(['merge', '--day', day, '--expect', '2'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await merged.exited).code).toBe(0);
    expect(JSON.parse(merged.output)).toMatchObject({ tables: sums(a.tables) });

    const eod2 = dp.run(['eod', '--host', HOST, '--port', String(dp.tpPort)]);
    expect((await eod2.exited).code).toBe(0);
    await dp.waitStatus('r2-replacement', (s) => s.state === 'flushed');
    await dp.waitStatus('r3', (s) => s.flushed.some((f) => f.day === next));
    const merged2 = dp.run(['merge', '--day', next, '--expect', '2'], { KDB_STAGING_DIR: dp.stagingDir, KDB_HDB_DIR: dp.hdbDir });
    expect((await merged2.exited).code).toBe(0);
    expect(JSON.parse(merged2.output)).toMatchObject({ tables: sums(b.tables) });
  });
});
