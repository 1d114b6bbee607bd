// Interoperability with KX's own Python client: PyKX 4.2.0 (PyPI, pinned in
// test/stack/requirements.txt, unlicensed mode) connects to the reference
// RDB's query port over kdb+ IPC, reads its purview and its tables, filters
// by sym, and is refused free-form q.

import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { DataPlane, REPO, SYMS, feed } from './harness.ts';

jest.setTimeout(120_000);
const PYTHON = join(REPO, '.venv/bin/python');

let dp: DataPlane;
let report: FeedReport;
let got: {
  purview: Record<string, unknown>;
  trade: { rows: number; columns: string[]; syms: string[] };
  quote: { rows: number; columns: string[]; syms: string[] };
  aaplRows: number;
  aaplSyms: string[];
  freeForm: string;
};

beforeAll(async () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run make deps (it installs test/stack/requirements.txt, PyKX among them)`);
  dp = new DataPlane();
  await dp.startTickerplant();
  await dp.startRdb('r1');
  await dp.waitStatus('r1', (s) => s.state === 'live');
  report = await feed(dp, 2000, 11);
  await dp.waitRows(['r1'], 2000);
  const { stdout } = await promisify(execFile)(PYTHON, [join(REPO, 'test/dataplane/pykx-client.py'), String(dp.rdbs.get('r1')!.queryPort)], { timeout: 90_000 });
  got = JSON.parse(stdout.trim().split('\n').at(-1)!);
});

afterAll(async () => dp?.close());

test('PyKX reads every row of each table the feed published, with the schema columns', () => {
  expect(got.trade.rows).toBe(report.tables.trade!.rows);
  expect(got.quote.rows).toBe(report.tables.quote!.rows);
  expect(got.trade.columns).toEqual(['time', 'sym', 'price', 'size']);
  expect(got.quote.columns).toEqual(['time', 'sym', 'bid', 'ask', 'bsize', 'asize']);
  for (const t of [got.trade, got.quote]) for (const s of t.syms) expect(SYMS).toContain(s);
});

test('PyKX filters by sym through getData and reads the purview dictionary', () => {
  expect(got.aaplSyms).toEqual(['AAPL']);
  expect(got.aaplRows).toBeGreaterThan(0);
  expect(got.aaplRows).toBeLessThan(got.trade.rows);
  expect(Object.keys(got.purview).length).toBeGreaterThan(0);
});

test('free-form q from PyKX is refused with a kdb+ error, not evaluated', () => {
  expect(got.freeForm).toMatch(/^refused: free-form q is not evaluated here/);
});
