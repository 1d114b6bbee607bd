import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { CONDITION, reportFor } from '../../operator/src/agent/report.ts';
import { RdbStatusFile } from '../../operator/src/api/rdb-status.ts';
import type { RdbConfig } from '../../images/sim/src/config.ts';
import { Rdb } from '../../images/sim/src/rdb/rdb.ts';

/**
 * The reference RDB at end of day, every status file it writes recorded (the
 * agent may read any of them): the live RDB must never say `flushed`, the
 * rolled one must end up flushed. q's rdb.q once wrote `flushed` and only
 * then `live`, and the live RDB was scaled in at that moment.
 */
const dir = mkdtempSync(join(tmpdir(), 'rdb-eod-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = '2026-03-02';
const NEXT = '2026-03-03';

const rdbIn = (name: string, state: 'live' | 'rolled' | 'queued', holding: boolean) => {
  const cfg: RdbConfig = {
    name,
    pool: 'main',
    tpHost: '127.0.0.1',
    tpPort: 1,
    tables: [],
    syms: [],
    scaleThreshold: 60,
    rollThreshold: 80,
    memoryLimitBytes: 256 * 2 ** 20,
    baselineBytes: 64 * 2 ** 20,
    statusFile: join(dir, name, 'status.json'),
    hdbDir: join(dir, 'hdb'),
    stagingDir: join(dir, 'staging'),
    queryHost: '127.0.0.1',
    queryPort: 0,
    replaces: null,
    replacesDay: null,
  };
  const rdb = new Rdb(cfg, winston.createLogger({ silent: true }));
  const writes: RdbStatusFile[] = [];
  const inner = rdb as unknown as {
    status: { write(s: RdbStatusFile): void };
    holding: boolean;
    onEndOfDay(e: { op: 'eod'; day: string; nextDay: string }): void;
  };
  inner.status = { write: (s) => writes.push(structuredClone(s)) };
  rdb.day = DAY;
  rdb.state = state;
  rdb.firstI = 100;
  rdb.lastProcessed = 250;
  rdb.lastI = state === 'rolled' ? 250 : null;
  inner.holding = holding;
  if (holding) rdb.store.apply('trade', [[1, 2, 3], ['A', 'B', 'C'], [1.5, 2.5, 3.5], [10, 20, 30]]);
  return { rdb, writes, eod: () => inner.onEndOfDay({ op: 'eod', day: DAY, nextDay: NEXT }) };
};

const dataFlushed = (s: RdbStatusFile) => reportFor(s).conditions.find((c) => c.type === CONDITION.dataFlushed)?.status;

describe('reference RDB at end of day', () => {
  test('the live RDB goes live -> flushing -> live, never flushed, never DataFlushed', () => {
    const { rdb, writes, eod } = rdbIn('live-1', 'live', true);
    eod();
    rdb.stop();
    expect(writes.map((s) => s.state)).toEqual(['flushing', 'live']);
    for (const s of writes) {
      expect(RdbStatusFile.safeParse(s).success).toBe(true);
      expect(dataFlushed(s)).toBe('False');
    }
    expect(writes.at(-1)).toMatchObject({ day: NEXT, window: { firstI: 0, lastI: null }, flushed: [{ day: DAY, rows: 3 }] });
  });

  test('the rolled RDB ends flushed with a closed window: DataFlushed', () => {
    const { rdb, writes, eod } = rdbIn('rolled-1', 'rolled', true);
    eod();
    rdb.stop();
    expect(writes.map((s) => s.state)).toEqual(['flushing', 'flushed']);
    expect(writes.at(-1)).toMatchObject({ window: { firstI: 100, lastI: 250 }, rows: { trade: 0 } });
    expect(dataFlushed(writes.at(-1)!)).toBe('True');
  });
});
