import { reportChanged, reportFor, CONDITION } from '../../operator/src/agent/report.ts';
import type { RdbStatusFile } from '../../operator/src/api/rdb-status.ts';

const base: RdbStatusFile = {
  version: 1,
  name: 'rdb-a',
  pool: 'main',
  state: 'live',
  memory: { usedBytes: 500, limitBytes: 1000 },
  window: { firstI: 0, lastI: null, lastProcessed: 42 },
  rows: { trade: 10, quote: 20 },
  day: '2026-11-27',
  flushed: [],
  updatedAt: '2026-11-27T10:00:00Z',
};
const status = (o: Partial<RdbStatusFile>): RdbStatusFile => ({ ...base, ...o });
const condition = (s: RdbStatusFile, type: string) => reportFor(s).conditions.find((c) => c.type === type)?.status;

describe('agent report', () => {
  test.each([
    ['live', status({}), 'True', 'False', 'False'],
    ['queued', status({ state: 'queued', rows: {} }), 'False', 'False', 'False'],
    ['rolled holding data', status({ state: 'rolled', window: { firstI: 0, lastI: 42, lastProcessed: 42 } }), 'False', 'True', 'False'],
    ['flushing', status({ state: 'flushing', window: { firstI: 0, lastI: 42, lastProcessed: 42 } }), 'False', 'True', 'False'],
    [
      'flushed, empty',
      status({ state: 'flushed', rows: { trade: 0 }, window: { firstI: 0, lastI: 42, lastProcessed: 42 }, flushed: [{ day: '2026-11-27', rows: 30, path: '/hdb/x' }] }),
      'False',
      'True',
      'True',
    ],
    // A status file that claims flushed while still counting rows is not safe to scale in.
    ['flushed but rows left', status({ state: 'flushed', rows: { trade: 1 } }), 'False', 'False', 'False'],
  ])('%s', (_name, s, live, rolled, flushed) => {
    expect(condition(s, CONDITION.live)).toBe(live);
    expect(condition(s, CONDITION.rolled)).toBe(rolled);
    expect(condition(s, CONDITION.dataFlushed)).toBe(flushed);
  });

  test('memory percent is whole and floored', () => {
    expect(reportFor(status({ memory: { usedBytes: 599, limitBytes: 1000 } })).memoryPercent).toBe(59);
  });

  test('writes only on a state change or a whole-percent memory move', () => {
    const a = reportFor(status({ memory: { usedBytes: 500, limitBytes: 1000 } }));
    expect(reportChanged(undefined, a)).toBe(true);
    expect(reportChanged(a, reportFor(status({ memory: { usedBytes: 509, limitBytes: 1000 }, window: { firstI: 0, lastI: null, lastProcessed: 99 } })))).toBe(false);
    expect(reportChanged(a, reportFor(status({ memory: { usedBytes: 510, limitBytes: 1000 } })))).toBe(true);
    expect(reportChanged(a, reportFor(status({ state: 'rolled', window: { firstI: 0, lastI: 42, lastProcessed: 42 } })))).toBe(true);
  });
});
