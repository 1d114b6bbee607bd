import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportChanged, reportFor, CONDITION } from '../../operator/src/agent/report.ts';
import { MAX_STATUS_FILE_BYTES, parseStatusFile, readStatusFile } from '../../operator/src/agent/status-file.ts';
import { RdbSummary, SUMMARY_FLUSHED_DAYS, parseReportAnnotations } from '../../operator/src/api/rdb-status.ts';
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
  test('a data-plane error in the status file is carried in the summary, its message capped, and is a change worth a write', () => {
    const since = '2026-11-27T10:00:01Z';
    const bad = status({ error: { reason: 'WindowPastLog', message: 'm'.repeat(2000), since } });
    const s = reportFor(bad).summary;
    expect(s.error).toEqual({ reason: 'WindowPastLog', message: 'm'.repeat(512) });
    expect(RdbSummary.safeParse(s).success).toBe(true);
    expect(reportChanged(reportFor(status({})), reportFor(bad))).toBe(true);
    expect(reportChanged(reportFor(bad), reportFor(status({})))).toBe(true);
    expect(reportChanged(reportFor(bad), reportFor(bad))).toBe(false);
    expect(parseStatusFile(bad).ok).toBe(true);
    expect(parseStatusFile({ ...bad, error: { reason: 'Other', message: 'x', since } }).ok).toBe(false);
  });

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

  describe('the live RDB never reports flushed', () => {
    // q once wrote `flushed` and only then `live` at end of day: the agent must not pass that moment on.
    test.each([
      ['state flushed, no rows, window open', status({ state: 'flushed', rows: { trade: 0 }, window: { firstI: 0, lastI: null, lastProcessed: 42 } })],
      ['live, no rows (just flushed yesterday)', status({ state: 'live', rows: { trade: 0 }, flushed: [{ day: '2026-11-26', rows: 30, path: '/s/x' }] })],
      ['flushing, window open', status({ state: 'flushing', rows: { trade: 0 }, window: { firstI: 0, lastI: null, lastProcessed: 42 } })],
    ])('%s: DataFlushed False', (_name, s) => {
      const c = reportFor(s).conditions.find((x) => x.type === CONDITION.dataFlushed);
      expect(c?.status).toBe('False');
    });

    test('a flushed report with an open window says why it is not believed', () => {
      const c = reportFor(status({ state: 'flushed', rows: {}, window: { firstI: 7, lastI: null, lastProcessed: 42 } })).conditions.find(
        (x) => x.type === CONDITION.dataFlushed,
      );
      expect(c).toMatchObject({ status: 'False', reason: 'WindowOpen' });
      expect(c?.message).toMatch(/window still open \(7, open\]/);
    });

    test('a finished RDB (closed window, no rows) is flushed', () => {
      const c = reportFor(status({ state: 'flushed', rows: {}, window: { firstI: 0, lastI: 0, lastProcessed: 0 } })).conditions.find(
        (x) => x.type === CONDITION.dataFlushed,
      );
      expect(c?.status).toBe('True');
    });
  });

  describe('what the agent publishes is what the operator accepts', () => {
    const publish = (s: RdbStatusFile) => {
      const r = reportFor(s);
      return parseReportAnnotations({ rdbStatus: JSON.stringify(r.summary), memoryPercent: String(r.memoryPercent), reportedAt: s.updatedAt });
    };

    test('every state round-trips through the annotation schema', () => {
      for (const state of ['queued', 'replaying', 'live', 'rolled', 'flushing', 'flushed'] as const) {
        const r = publish(status({ state, window: { firstI: 0, lastI: state === 'live' ? null : 42, lastProcessed: 42 } }));
        expect(r).toMatchObject({ ok: true, value: { summary: { state } } });
      }
    });

    test('a long flush history is cut to the newest days the annotation holds', () => {
      const days = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10));
      const s = status({ flushed: days.map((day) => ({ day, rows: 1, path: `/s/${day}` })) });
      const summary = reportFor(s).summary;
      expect(summary.flushedDays).toEqual(days.slice(-SUMMARY_FLUSHED_DAYS));
      expect(RdbSummary.safeParse(summary).success).toBe(true);
    });

    test('a runaway RDB reports as 1000% at most, which the operator still believes', () => {
      const r = reportFor(status({ memory: { usedBytes: 10 ** 12, limitBytes: 1000 } }));
      expect(r.memoryPercent).toBe(1000);
      expect(publish(status({ memory: { usedBytes: 10 ** 12, limitBytes: 1000 } })).ok).toBe(true);
    });
  });
});

describe('status file', () => {
  const refusal = (o: Record<string, unknown>) => {
    const r = parseStatusFile({ ...base, ...o });
    return r.ok ? 'accepted' : r.error;
  };

  test('a valid file is accepted', () => {
    expect(parseStatusFile(base)).toEqual({ ok: true, status: base });
  });

  test.each([
    ["q's date form is refused by name", { day: '2026.03.02' }, /^day: "2026\.03\.02" is q's date form; write the day as YYYY-MM-DD/],
    ["q's date form in a flushed day", { flushed: [{ day: '2026.03.02', rows: 1, path: '/s' }] }, /^flushed\.0\.day: .*q's date form/],
    ['not a calendar day', { day: '2026-02-30' }, /^day: 2026-02-30 is not a calendar day/],
    ['unknown state (a newer RDB)', { state: 'hibernating' }, /^state: /],
    ['negative memory', { memory: { usedBytes: -1, limitBytes: 1000 } }, /^memory\.usedBytes: /],
    ['zero limit', { memory: { usedBytes: 1, limitBytes: 0 } }, /^memory\.limitBytes: /],
    ['window closed below its start', { window: { firstI: 10, lastI: 5, lastProcessed: 5 } }, /^window\.lastI: lastI is below firstI/],
    ['a huge name', { name: 'x'.repeat(300) }, /^name: /],
    ['a huge day string', { day: '2'.repeat(100_000) }, /^day: must be a day YYYY-MM-DD, got "2{24}\.\.\."$/],
    ['an unreadable time', { updatedAt: 'yesterday' }, /^updatedAt: must be an ISO 8601 time/],
    ['a fractional row count', { rows: { trade: 1.5 } }, /^rows\.trade: /],
  ])('%s', (_name, o, message) => {
    expect(refusal(o)).toMatch(message);
  });

  describe('read from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'status-file-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('NaN is not JSON: refused, not read as a number', async () => {
      const f = join(dir, 'nan.json');
      writeFileSync(f, JSON.stringify(base).replace('"usedBytes":500', '"usedBytes":NaN'));
      expect(await readStatusFile(f)).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/^not JSON/) });
    });

    test('a file larger than the bound is refused without parsing it', async () => {
      const f = join(dir, 'big.json');
      writeFileSync(f, JSON.stringify({ ...base, pad: 'x'.repeat(MAX_STATUS_FILE_BYTES) }));
      expect(await readStatusFile(f)).toEqual({ kind: 'invalid', error: `(root): larger than ${MAX_STATUS_FILE_BYTES} bytes` });
    });

    test('a valid file reads back; a missing one is missing', async () => {
      const f = join(dir, 'ok.json');
      writeFileSync(f, JSON.stringify(base));
      expect(await readStatusFile(f)).toEqual({ kind: 'ok', status: base });
      expect(await readStatusFile(join(dir, 'none.json'))).toEqual({ kind: 'missing' });
    });
  });
});
