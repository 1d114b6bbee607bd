import { afterEach, describe, expect, jest, test } from '@jest/globals';
import net from 'node:net';
import { encodeControl, encodeUpdate, FrameReader, parseControl } from '../../images/sim/src/protocol/framing.ts';
import { DataPlane, HOST, waitFor } from './harness.ts';
import { rowBytes } from '../../images/sim/src/rdb/memory.ts';
import { DEFAULT_SCHEMA } from '../../images/sim/src/schema.ts';

jest.setTimeout(120_000);
let dp: DataPlane;
afterEach(async () => dp?.close());

/** Sends n one-row trades whose size is the message number (this is the only feed, so numbering starts at 1). */
const numberedMessages = async (port: number, from: number, to: number): Promise<void> => {
  const socket = net.connect({ host: HOST, port });
  await new Promise((r) => socket.once('connect', r));
  const reader = new FrameReader();
  const synced = new Promise<void>((res) => socket.on('data', (c) => reader.push(c).forEach((f) => parseControl(f.body).op === 'synced' && res())));
  for (let i = from; i <= to; i++) socket.write(encodeUpdate('trade', [[1_700_000_000_000 + i], ['A'], [1.5], [i]]));
  socket.write(encodeControl({ op: 'sync', id: 1 }));
  await synced;
  socket.destroy();
};

const sizes = async (name: string): Promise<number[]> => (await dp.query<{ data: number[][] }>(name, '/rows?table=trade')).data[3]!;

describe('window edges: (firstI, lastI] holds firstI < i <= lastI', () => {
  test('the first message after a roll is in the next RDB and the roll message in the rolled one', async () => {
    dp = new DataPlane();
    await dp.startTickerplant();
    // Each of r1, r2 rolls on its 10th one-row message.
    const row = rowBytes(DEFAULT_SCHEMA.find((t) => t.name === 'trade')!);
    const cap = row * 10 - row / 2;
    await dp.startRdb('r1', { capacityBytes: cap });
    await dp.waitStatus('r1', (s) => s.state === 'live');
    await dp.startRdb('r2', { capacityBytes: cap });
    await dp.waitStatus('r2', (s) => s.state === 'queued');
    await numberedMessages(dp.tpPort, 1, 15);
    const r1 = await dp.waitStatus('r1', (s) => s.state === 'rolled');
    expect(r1.window).toEqual({ firstI: 0, lastI: 10, lastProcessed: 10 });
    expect(await sizes('r1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await waitFor('r2 to hold 11..15', async () => (await sizes('r2')).length === 5);
    expect(await sizes('r2')).toEqual([11, 12, 13, 14, 15]);

    // r2 rolls at 20 with nobody queued; r3 arrives later and recovers (20, 25] from the log.
    await numberedMessages(dp.tpPort, 16, 25);
    const r2 = await dp.waitStatus('r2', (s) => s.state === 'rolled');
    expect(r2.window).toEqual({ firstI: 10, lastI: 20, lastProcessed: 20 });
    await dp.startRdb('r3');
    await dp.waitStatus('r3', (s) => s.state === 'live');
    await numberedMessages(dp.tpPort, 26, 27);
    await waitFor('r3 to hold 21..27', async () => (await sizes('r3')).length === 7);
    expect(await sizes('r3')).toEqual([21, 22, 23, 24, 25, 26, 27]);
    expect(await sizes('r2')).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  });
});
