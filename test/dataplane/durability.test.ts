import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { logPathFor, readCommit, commitPathFor, scanLog } from '../../images/sim/src/log/tplog.ts';
import { expectExactlyOnce } from './exactly-once.ts';
import { DataPlane, feed, waitFor } from './harness.ts';

jest.setTimeout(180_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

/** The `error` field the RDB writes beside the reporting contract (see rdb.ts `problem`). */
const rdbError = (dp: DataPlane, name: string): { reason: string; message: string } | undefined => {
  try {
    return (JSON.parse(readFileSync(dp.rdbs.get(name)!.statusFile, 'utf8')) as { error?: { reason: string; message: string } }).error;
  } catch {
    return undefined;
  }
};

/** Byte offset where message k+1 starts (the log holds no epoch mark yet). */
const offsetOf = (log: string, k: number): number => {
  const buf = readFileSync(log);
  let pos = 8;
  for (let i = 0; i < k; i++) pos += 8 + buf.readUInt32LE(pos);
  return pos;
};

describe('no renumbering, ever', () => {
  test('the tickerplant killed (SIGKILL) mid-feed and restarted: the feed reconnects and resends what was not acknowledged; every row in exactly one RDB', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 400_000 });
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.startRdb('r2', { capacityBytes: 400_000 });
    await dp.startRdb('r3');
    let killed = false;
    const running = feed(dp, 20_000, 71, {
      onMessage: (sent) => {
        if (sent !== 150) return;
        void dp.tp!.kill('SIGKILL').then(() => (killed = true));
      },
    });
    await waitFor('the tickerplant killed mid-feed', () => killed);
    await dp.startTickerplant();
    const report: FeedReport = await running;
    expect(report.reconnects).toBeGreaterThanOrEqual(1);
    expect(report.refused).toBe(0);
    // Numbers 1..count, no gap, no reuse: the log holds exactly the messages the feed sent.
    expect(report.tickerplantCount).toBe(report.messages);
    const t = await dp.subscribers();
    expect(scanLog(logPathFor(dp.logDir, t.day))).toMatchObject({ count: report.messages, corruption: null, lost: [] });
    await expectExactlyOnce(dp, ['r1', 'r2', 'r3'], [report]);
  });

  test('a log that lost published messages (its tail cut, as EFS losing it would) never reuses their numbers; the live RDB carries on above them and a replacement that needs them is refused loudly', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1', { capacityBytes: 200_000 });
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.startRdb('r2');
    const a = await feed(dp, 3_000, 72);
    const r1 = await dp.waitStatus('r1', (s) => s.state === 'rolled');
    await dp.waitStatus('r2', (s) => s.window.lastProcessed === a.tickerplantCount);
    const before = await dp.subscribers();
    const log = logPathFor(dp.logDir, before.day);

    await dp.tp!.kill('SIGKILL');
    await dp.rdbs.get('r1')!.proc.kill('SIGKILL');
    // Lose the tail back into r1's window, mid-entry: published messages the live r2 and the dead r1 held.
    truncateSync(log, offsetOf(log, Math.floor(r1.window.lastI! / 2)) + 3);
    const left = scanLog(log).count;
    expect(left).toBeLessThan(r1.window.lastI!);
    expect(readCommit(commitPathFor(dp.logDir, before.day))!.count).toBe(a.tickerplantCount);

    await dp.startTickerplant({ KDB_TRUNCATE_CORRUPT_LOG: '1' });
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log "the tickerplant log lost published messages"', () => dp.tp!.output.includes('the tickerplant log lost published messages'));
    const after = await dp.subscribers();
    expect(after).toMatchObject({ count: a.tickerplantCount, epoch: 1, lost: [[left + 1, a.tickerplantCount]] });

    // New messages are numbered above everything handed out; r2 (live, holding up to the old count) takes them all.
    const b = await feed(dp, 1_000, 73);
    expect(b.tickerplantCount).toBe(a.tickerplantCount + b.messages);
    const r2 = await dp.waitStatus('r2', (s) => s.window.lastProcessed === b.tickerplantCount);
    expect(r2.state).toBe('live');
    expect(rdbError(dp, 'r2')).toBeUndefined();
    const r2Rows = Object.values(r2.rows).reduce((x, y) => x + y, 0);
    const r1Rows = Object.values(r1.rows).reduce((x, y) => x + y, 0);
    expect(r1Rows + r2Rows).toBe(a.rows + b.rows);

    // r1's window needs messages the log lost: its replacement is refused, and says so in its status file.
    await dp.startRdb('r1-replacement', { replaces: 'r1' });
    await waitFor('the replacement to report WindowPastLog', () => rdbError(dp, 'r1-replacement')?.reason === 'WindowPastLog');
    expect(rdbError(dp, 'r1-replacement')!.message).toMatch(new RegExp(`needs messages ${left + 1}\\.\\.`));
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log "replay window refused: it needs lost messages"', () => dp.tp!.output.includes('replay window refused: it needs lost messages'));
    expect(dp.status('r1-replacement')!.window.lastProcessed).toBe(0);
    expect(statSync(log).size).toBeGreaterThan(0);
  });

  test('an RDB holding messages the log and its commit record never had is refused loudly, not fed duplicates', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    const a = await feed(dp, 1_000, 74);
    await dp.waitStatus('r1', (s) => s.window.lastProcessed === a.tickerplantCount);
    const { day } = await dp.subscribers();
    await dp.tp!.kill('SIGKILL');
    // Both the log and its commit record gone (a wiped volume): only the RDB remembers.
    truncateSync(logPathFor(dp.logDir, day), 0);
    truncateSync(commitPathFor(dp.logDir, day), 0);
    await dp.startTickerplant({ KDB_TRUNCATE_CORRUPT_LOG: '1' });
    await waitFor('r1 to report WindowPastLog', () => rdbError(dp, 'r1')?.reason === 'WindowPastLog');
    expect(rdbError(dp, 'r1')!.message).toContain(`holds messages up to ${a.tickerplantCount}`);
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log "subscriber beyond the log refused"', () => dp.tp!.output.includes('subscriber beyond the log refused'));
    const s = dp.status('r1')!;
    expect(s.window.lastProcessed).toBe(a.tickerplantCount);
  });
});
