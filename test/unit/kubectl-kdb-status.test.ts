import { formatStatus, statusJson, table, unusualConditions, type WireStatus } from '../../kubectl-kdb/src/status-format.ts';

const cond = (type: string, status: 'True' | 'False' | 'Unknown', reason = 'R', message = 'm') => ({ type, status, reason, message, lastTransitionTime: '2026-12-02T10:00:00Z' });

const status: WireStatus = {
  phase: 'Running',
  conditions: [cond('Ready', 'True'), cond('ScalingOut', 'True', 'MemoryHigh', 'rdb-1 at 81%'), cond('StorageReady', 'True'), cond('Degraded', 'False')],
  pools: [
    {
      name: 'main',
      live: 'main-rdb-1',
      queued: ['main-rdb-2'],
      rolled: [{ name: 'main-rdb-0', firstI: 0, lastI: 999 }],
      desiredCapacity: 3,
      rdbs: [
        { name: 'main-rdb-0', state: 'rolled', node: 'ip-10-0-1-5', instanceId: 'i-0aaa', memoryPercent: 64, firstI: 0, lastI: 999, day: '2026-12-02' },
        { name: 'main-rdb-1', state: 'live', node: 'ip-10-0-1-77', instanceId: 'i-0bbbbbbbbb', memoryPercent: 81, firstI: 1000, day: '2026-12-02' },
        { name: 'main-rdb-2', state: 'waitingForNode' },
      ],
    },
  ],
  windDown: { reason: 'Hibernation', step: 'WritingDown', since: '2026-12-02T17:00:00Z', day: '2026-12-02', writeDown: true, waitingFor: 'main-rdb-1 to flush 2026-12-02' },
  pendingChanges: [{ component: 'pool/main', reason: 'image changed', appliesAt: '2026-12-02T22:00:00Z', rdbs: ['main-rdb-0'] }],
};

test('table pads every column to its widest cell', () => {
  const lines = table(['A', 'LONGER'], [['wide-cell', 'x'], ['y', 'z']]);
  expect(lines).toEqual(['A          LONGER', 'wide-cell  x', 'y          z']);
});

test('the RDB table has the columns in order, aligned, with windows and dashes for the unknown', () => {
  const lines = formatStatus({ name: 'demo', namespace: 'kdb', status });
  const h = lines.findIndex((l) => l.startsWith('NAME'));
  expect(lines[h]).toMatch(/^NAME\s+STATE\s+NODE\s+INSTANCE\s+MEM%\s+WINDOW\s+DAY$/);
  const rows = lines.slice(h, h + 4);
  // Each column starts at the same offset on every row.
  const starts = (l: string) => [...l.matchAll(/(?<=^|\s\s)\S/g)].map((m) => m.index);
  const header = starts(rows[0] as string);
  expect(starts(rows[1] as string)).toEqual(header);
  expect(starts(rows[2] as string)).toEqual(header);
  expect(rows[1]).toMatch(/main-rdb-0\s+rolled\s+ip-10-0-1-5\s+i-0aaa\s+64\s+0\.\.999\s+2026-12-02/);
  expect(rows[2]).toMatch(/main-rdb-1\s+live\s+.*1000\.\.\s+2026-12-02/);
  expect(rows[3]).toMatch(/^main-rdb-2\s+waitingForNode\s+-\s+-\s+-\s+-\s+-$/);
});

test('the pool table, unusual conditions only, wind-down and pending changes are printed', () => {
  const text = formatStatus({ name: 'demo', namespace: 'kdb', status }).join('\n');
  expect(text).toMatch(/^KdbCluster kdb\/demo  phase: Running/);
  expect(text).toMatch(/POOL\s+LIVE\s+QUEUED\s+ROLLED\s+RDBS\s+DESIRED/);
  expect(text).toMatch(/main\s+main-rdb-1\s+main-rdb-2\s+1\s+3\s+3/);
  expect(text).toContain('ScalingOut=True MemoryHigh: rdb-1 at 81%');
  expect(text).not.toContain('Ready=True');
  expect(text).not.toContain('Degraded=False');
  expect(text).toContain('step WritingDown');
  expect(text).toContain('waiting for: main-rdb-1 to flush 2026-12-02');
  expect(text).toContain('pool/main: image changed (applies at 2026-12-02T22:00:00Z) [main-rdb-0]');
});

test('a condition type this version does not know is always shown', () => {
  expect(unusualConditions([cond('Ready', 'False'), cond('NewThing', 'False')]).map((c) => c.type)).toEqual(['Ready', 'NewThing']);
});

test('no status yet says so', () => {
  expect(formatStatus({ name: 'x', namespace: 'y', status: undefined })).toEqual(['KdbCluster y/x: no status yet (is the operator running?)']);
});

test('-o json is one object with the derived fields and the whole status', () => {
  const j = JSON.parse(JSON.stringify(statusJson({ name: 'demo', namespace: 'kdb', status })));
  expect(Object.keys(j)).toEqual(['name', 'namespace', 'phase', 'pools', 'unusualConditions', 'windDown', 'pendingChanges', 'mergedDay', 'mergePending', 'status']);
  expect(j.phase).toBe('Running');
  expect(j.unusualConditions.map((c: { type: string }) => c.type)).toEqual(['ScalingOut']);
  expect(j.pools[0].rdbs).toHaveLength(3);
  expect(j.status.windDown.step).toBe('WritingDown');
});
