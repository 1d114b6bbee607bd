import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { appendFileSync, readFileSync, statSync, truncateSync } from 'node:fs';
import net from 'node:net';
import { runFeed } from '../../images/sim/src/feed/feed.ts';
import { logPathFor, scanLog } from '../../images/sim/src/log/tplog.ts';
import { encodeControl, encodeFrame, FrameReader, FrameType, parseControl } from '../../images/sim/src/protocol/framing.ts';
import { DataPlane, HOST, waitFor } from './harness.ts';

jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

const SYMS = ['AAPL', 'MSFT'];

/** A raw feed connection: sends frames, collects the tickerplant's control answers. */
const rawFeed = async (port: number) => {
  const socket = net.connect({ host: HOST, port });
  await new Promise((r) => socket.once('connect', r));
  const got: Array<Record<string, unknown>> = [];
  const reader = new FrameReader();
  socket.on('data', (c) => reader.push(c).forEach((f) => got.push(parseControl(f.body))));
  const json = (v: unknown) => encodeFrame(FrameType.UPDATE, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
  const sync = async () => {
    socket.write(encodeControl({ op: 'sync', id: 9 }));
    return waitFor('synced', () => got.find((m) => m.op === 'synced'));
  };
  return { socket, got, json, sync };
};

describe('tickerplant', () => {
  test('malformed updates are refused with an error to that feed and never reach the log', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    await dp.startRdb('r1');
    await dp.waitStatus('r1', (s) => s.state === 'live');
    const f = await rawFeed(dp.tpPort);
    const t0 = Date.now();
    f.socket.write(
      Buffer.concat([
        f.json({ t: 'trade', c: [[t0], ['AAPL'], [10.5], [100]] }), // 1 ok
        f.json('{"t":"trade","c":[[1],'), // 2 not JSON
        f.json({ t: 'nope', c: [[t0], ['AAPL']] }), // 3 unknown table
        f.json({ t: 'trade', c: [[t0], ['AAPL']] }), // 4 too few columns
        f.json({ t: 'trade', c: [[t0], ['AAPL'], ['10.5'], [100]] }), // 5 wrong type
        f.json({ t: 'trade', c: [[t0, t0], ['AAPL'], [10.5], [100]] }), // 6 ragged
        f.json({ t: 'trade', c: [[], [], [], []] }), // 7 no rows
        f.json({ t: 'trade', c: [['MSFT'], [11.25], [200]] }), // 8 ok, the tickerplant stamps time
        f.json({ t: 'trade', c: [[t0], ['AAPL'], [1.5], [1.5]] }), // 9 long that is not whole
        f.json(['trade']), // 10 not an object
      ]),
    );
    const synced = await f.sync();
    expect(synced).toMatchObject({ count: 2, refused: 8 });
    const errors = f.got.filter((m) => m.op === 'error');
    expect(errors.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 9, 10]);
    expect(String(errors[1]!.message)).toMatch(/unknown table/);
    const { day } = await dp.subscribers();
    expect(scanLog(logPathFor(dp.logDir, day))).toMatchObject({ count: 2, corruption: null });
    await dp.waitRows(['r1'], 2);
    const rows = await dp.query<{ data: unknown[][] }>('r1', '/rows?table=trade');
    expect(rows.data[1]).toEqual(['AAPL', 'MSFT']);
    expect(rows.data[0]![1]).toBeGreaterThanOrEqual(t0);
    // A frame that breaks the framing closes that feed only.
    const bad = await rawFeed(dp.tpPort);
    bad.socket.write(Buffer.from([0, 0, 0, 0, 1]));
    await waitFor('bad feed closed', () => bad.socket.destroyed || bad.socket.readableEnded);
    const ok = await f.sync();
    expect(ok).toMatchObject({ count: 2 });
    f.socket.destroy();
  });

  test('a torn tail after the last commit is cut at start; a corrupt committed part stops the tickerplant with the truncate command, and truncating it never reuses a number', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    const a = await runFeed({ host: HOST, port: dp.tpPort, syms: SYMS, rows: 500, seed: 81, day: '2025-03-03', tz: 'UTC', batch: 10, dayMs: 0 });
    const { day } = await dp.subscribers();
    await dp.tp!.kill('SIGTERM');
    const log = logPathFor(dp.logDir, day);
    const good = statSync(log).size;

    // A torn entry after the last commit (what a crash mid-write leaves): never published, cut with a warning.
    appendFileSync(log, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]));
    await dp.startTickerplant();
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log "cutting the uncommitted log tail"', () => dp.tp!.output.includes('cutting the uncommitted log tail'));
    expect(statSync(log).size).toBe(good);
    expect((await dp.subscribers()).count).toBe(a.tickerplantCount);
    await dp.tp!.kill('SIGTERM');

    // Garbled bytes inside the last committed entry: published data is damaged, so the tickerplant stops.
    const buf = readFileSync(log);
    truncateSync(log, buf.length - 3);
    appendFileSync(log, Buffer.from('zzz'));
    const failed = dp.run(['tickerplant'], { ...tpEnv(dp) });
    expect((await failed.exited).code).toBe(3);
    const cmd = /node images\/sim\/src\/main\.ts (truncate-log \S+ \d+)/.exec(failed.output)![1]!.split(' ');
    expect(failed.output).toContain(`Truncate to length ${cmd[2]}`);
    expect(statSync(log).size).toBe(good); // left as it was

    // Cut by hand: the log now lacks the last published message. Its number is not used again.
    const fix = dp.run(cmd);
    expect((await fix.exited).code).toBe(0);
    await dp.startTickerplant();
    // Through the tickerplant's stdout pipe, on its own schedule: awaited, not read at once.
    await waitFor('the tickerplant to log "the tickerplant log lost published messages"', () => dp.tp!.output.includes('the tickerplant log lost published messages'));
    const after = await dp.subscribers();
    expect(after).toMatchObject({ count: a.tickerplantCount, epoch: 1, lost: [[a.tickerplantCount, a.tickerplantCount]] });
    const b = await runFeed({ host: HOST, port: dp.tpPort, syms: SYMS, rows: 50, seed: 82, day: '2025-03-03', tz: 'UTC', batch: 10, dayMs: 0 });
    expect(b.tickerplantCount).toBe(a.tickerplantCount + b.messages);
    expect(scanLog(log)).toMatchObject({ count: b.tickerplantCount, corruption: null, epoch: 1, lost: [[a.tickerplantCount, a.tickerplantCount]] });
  });

  test('bad configuration names the variable', async () => {
    dp = new DataPlane();
    const p = dp.run(['tickerplant'], { ...tpEnv(dp), KDB_TZ: 'Mars/Olympus' });
    expect((await p.exited).code).toBe(2);
    expect(p.output).toMatch(/KDB_TZ is invalid .*Mars\/Olympus/);
    const r = dp.run(['rdb'], { KDB_RDB_NAME: 'x', KDB_POOL: 'p', KDB_MEMORY_LIMIT_BYTES: 'lots', KDB_HDB_DIR: '/tmp', KDB_STAGING_DIR: '/tmp' });
    expect((await r.exited).code).toBe(2);
    expect(r.output).toMatch(/KDB_MEMORY_LIMIT_BYTES is invalid/);
  });
});

const tpEnv = (dp: DataPlane): Record<string, string> => ({
  KDB_TP_PORT: String(dp.tpPort || 1),
  KDB_LOG_DIR: dp.logDir,
  KDB_STATE_DIR: `${dp.dir}/tp-state`,
});
