import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumColumns, type TableSum } from '../../images/sim/src/checksum.ts';
import { COMPLETE_MARKER, MergeError, mergeDay, readPartitionTable, type MergeMarker } from '../../images/sim/src/merge/merge.ts';
import { CHUNK, writeSlice, writeSliceFile } from '../../images/sim/src/rdb/flush.ts';
import { TableStore } from '../../images/sim/src/rdb/table-store.ts';
import { DEFAULT_SCHEMA, type Column } from '../../images/sim/src/schema.ts';
import { MAIN, REPO } from './harness.ts';

// The streamed merge on real slice files: the same partition, byte for byte,
// as the merge that loaded the whole day (kept below as the reference), each
// window of a pool taken once, and its memory independent of the day's size.
jest.setTimeout(120_000);

const DAY = '2026-03-02';
let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = '';
});
const dirs = () => {
  root = mkdtempSync(join(tmpdir(), 'merge-'));
  return { staging: join(root, 'staging'), hdb: join(root, 'hdb') };
};

/** A seeded day of update messages: many rows share a sym and a time, so the sort's stability shows. */
const messages = (n: number, seed: number): { t: string; c: Column[] }[] => {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const syms = Array.from({ length: 30 }, (_, k) => `S${String(k).padStart(2, '0')}`);
  const out: { t: string; c: Column[] }[] = [];
  for (let i = 0; i < n; i++) {
    const rows = 1 + Math.floor(rnd() * 20);
    const time = Array.from({ length: rows }, () => 1_772_000_000_000 + Math.floor(i / 7));
    const sym = Array.from({ length: rows }, () => syms[Math.floor(rnd() * syms.length)]!);
    if (rnd() < 0.5) out.push({ t: 'trade', c: [time, sym, sym.map(() => Math.round(rnd() * 1e4) / 100), sym.map(() => Math.floor(rnd() * 1000))] });
    else out.push({ t: 'quote', c: [time, sym, sym.map(() => rnd()), sym.map(() => rnd() + 1), sym.map(() => Math.floor(rnd() * 100)), sym.map(() => Math.floor(rnd() * 100))] });
  }
  return out;
};

const copy = (m: { t: string; c: Column[] }) => ({ t: m.t, c: m.c.map((col) => [...col]) });

/** What an RDB of `pool` holding messages (firstI, lastI] flushes, through the RDB's own store and writer. */
const flush = (staging: string, rdb: string, pool: string, msgs: { t: string; c: Column[] }[], firstI: number, lastI: number, sub = { tables: [] as string[], syms: [] as string[] }) => {
  const store = new TableStore(DEFAULT_SCHEMA, sub.tables, sub.syms);
  for (let i = firstI; i < lastI; i++) store.apply(msgs[i]!.t, copy(msgs[i]!).c);
  const data = Object.fromEntries(store.names.map((n) => [n, store.get(n)!.columns.map((c) => [...c])]));
  writeSlice(staging, DAY, rdb, pool, { firstI, lastI }, store);
  return { rdb, firstI, data };
};

/** The merge before streaming, on the same rows: concatenated in window order, then a stable sort by sym then time. */
const oldMerge = (slices: { rdb: string; firstI: number; data: Record<string, Column[]> }[]): Record<string, Column[]> => {
  const ordered = [...slices].sort((a, b) => a.firstI - b.firstI || a.rdb.localeCompare(b.rdb));
  const out: Record<string, Column[]> = {};
  for (const table of [...new Set(ordered.flatMap((s) => Object.keys(s.data)))].sort()) {
    const merged: Column[] = [];
    for (const s of ordered) {
      const t = s.data[table];
      if (!t) continue;
      if (merged.length === 0) for (let k = 0; k < t.length; k++) merged.push([]);
      for (let k = 0; k < t.length; k++) for (const v of t[k]!) merged[k]!.push(v);
    }
    const time = merged[0] as number[];
    const sym = merged[1] as string[];
    const order = Array.from(time.keys()).sort((a, b) => (sym[a]! < sym[b]! ? -1 : sym[a]! > sym[b]! ? 1 : time[a]! - time[b]!));
    out[table] = merged.map((col) => order.map((r) => col[r]));
  }
  return out;
};

const expectPartition = (hdb: string, expected: Record<string, Column[]>) => {
  for (const [table, cols] of Object.entries(expected)) {
    const spec = DEFAULT_SCHEMA.find((t) => t.name === table)!;
    expect(readFileSync(join(hdb, DAY, table, '.d'), 'utf8')).toBe(JSON.stringify(spec.columns));
    spec.columns.forEach((c, k) => expect(readFileSync(join(hdb, DAY, table, `${c.name}.json`), 'utf8')).toBe(JSON.stringify(cols[k])));
  }
};

/** Rows out of sym-then-time order. */
const unsorted = (data: Column[]): number => {
  const [time, sym] = data as [number[], string[]];
  let bad = 0;
  for (let k = 1; k < sym.length; k++) if (!(sym[k - 1]! < sym[k]! || (sym[k - 1] === sym[k] && time[k - 1]! <= time[k]!))) bad++;
  return bad;
};

const sumsOf = (tables: Record<string, Column[]>): Record<string, TableSum> => Object.fromEntries(Object.entries(tables).map(([t, c]) => [t, checksumColumns(c)]));

/** One pool's day: r1 rolled at 900, r2 at 2100, r3 live to the end (3000), r4 queued (an empty slice). */
const poolDay = (staging: string, msgs: { t: string; c: Column[] }[]) => [
  flush(staging, 'r1', 'main', msgs, 0, 900),
  flush(staging, 'r2', 'main', msgs, 900, 2100),
  flush(staging, 'r3', 'main', msgs, 2100, 3000),
  flush(staging, 'r4', 'main', msgs, 0, 0),
];

describe('the streamed merge', () => {
  const msgs = messages(3000, 7);

  test('a multi-slice day: the same partition as the old merge, byte for byte, sorted by sym then time, marker with checksums, idempotent', () => {
    const { staging, hdb } = dirs();
    const slices = poolDay(staging, msgs);
    // Each slice has more than a chunk of rows of a table: the merge crosses chunk boundaries.
    expect(slices[1]!.data.trade![0]!.length).toBeGreaterThan(CHUNK);
    const expected = oldMerge(slices);
    const r = mergeDay(staging, hdb, DAY);
    expect(r).toMatchObject({ alreadyComplete: false, slices: ['r1.slice.jsonl', 'r2.slice.jsonl', 'r3.slice.jsonl', 'r4.slice.jsonl'], skipped: [{ file: 'r4.slice.jsonl', reason: 'empty window' }] });
    expectPartition(hdb, expected);
    for (const table of ['trade', 'quote']) {
      const { data } = readPartitionTable(hdb, DAY, table);
      expect(unsorted(data)).toBe(0);
    }
    const marker = JSON.parse(readFileSync(join(hdb, DAY, COMPLETE_MARKER), 'utf8')) as MergeMarker;
    expect(marker).toMatchObject({ day: DAY, tables: sumsOf(expected), merged: ['r1.slice.jsonl', 'r2.slice.jsonl', 'r3.slice.jsonl'], lastI: 3000 });
    // Every row of the day once: the feed's checksums.
    expect(marker.tables).toEqual(sumsOf(oldMerge([{ rdb: 'all', firstI: 0, data: flush(join(root, 'x'), 'all', 'main', msgs, 0, 3000).data }])));

    const mtime = statSync(join(hdb, DAY, 'trade', 'price.json')).mtimeMs;
    expect(mergeDay(staging, hdb, DAY)).toMatchObject({ alreadyComplete: true, tables: sumsOf(expected) });
    expect(statSync(join(hdb, DAY, 'trade', 'price.json')).mtimeMs).toBe(mtime);
    expect(existsSync(join(hdb, `.${DAY}.merge-${process.pid}`))).toBe(false);
  });

  test('slices of the same names with other rows (a cluster re-created under its name the same day): refused, never taken for the day merged', () => {
    const { staging, hdb } = dirs();
    flush(staging, 'r1', 'main', msgs, 0, 1500);
    flush(staging, 'r2', 'main', msgs, 1500, 3000);
    expect(mergeDay(staging, hdb, DAY)).toMatchObject({ alreadyComplete: false });
    // The re-created cluster's RDBs start at ordinal 0 again and flush their own day under the old names.
    const other = messages(1000, 99);
    flush(staging, 'r1', 'main', other, 0, 600);
    flush(staging, 'r2', 'main', other, 600, 1000);
    expect(() => mergeDay(staging, hdb, DAY)).toThrow(MergeError);
    expect(() => mergeDay(staging, hdb, DAY)).toThrow(/r1\.slice\.jsonl holding \(0, 1500\].*now holds \(0, 600\].*move .* aside/);
  });

  test('a lost RDB and its replacement both flushed: the same window once, the partitioned prefix left out; the partition is the same', () => {
    const { staging, hdb } = dirs();
    const slices = poolDay(staging, msgs);
    // r1 was lost holding (0, 900] and flushed it anyway (its node was cut off, its process ran on) beside its
    // replacement; r2's stale process, cut off at 1500 while live, flushed a prefix of r2's window.
    flush(staging, 'r1-replacement', 'main', msgs, 0, 900);
    flush(staging, 'r2-stale', 'main', msgs, 900, 1500);
    const r = mergeDay(staging, hdb, DAY);
    expect(r.skipped).toEqual([
      { file: 'r1.slice.jsonl', reason: 'the same window as r1-replacement.slice.jsonl' },
      { file: 'r2-stale.slice.jsonl', reason: 'its window lies inside r2.slice.jsonl (900, 2100]' },
      { file: 'r4.slice.jsonl', reason: 'empty window' },
    ]);
    expectPartition(hdb, oldMerge(slices));
  });

  test('slices of version 1 (before the RDB sorted) merge to the same partition', () => {
    const { staging, hdb } = dirs();
    const slices = poolDay(staging, msgs);
    // Rewrite r2 as the RDB wrote it before: one JSON object, rows in message order.
    rmSync(join(staging, DAY, 'r2.slice.jsonl'));
    const s2 = slices[1]!;
    const v1 = { version: 1, day: DAY, rdb: 'r2', pool: 'main', window: { firstI: 900, lastI: 2100 }, tables: Object.fromEntries(DEFAULT_SCHEMA.map((t) => [t.name, { columns: t.columns, rows: s2.data[t.name]![0]!.length, data: s2.data[t.name] }])) };
    writeFileSync(join(staging, DAY, 'r2.slice.json'), JSON.stringify(v1));
    const r = mergeDay(staging, hdb, DAY);
    expect(r.slices).toEqual(['r1.slice.jsonl', 'r2.slice.json', 'r3.slice.jsonl', 'r4.slice.jsonl']);
    expectPartition(hdb, oldMerge(slices));
  });

  test('a pool\'s windows with a gap: refused naming the slices, nothing written', () => {
    const { staging, hdb } = dirs();
    poolDay(staging, msgs);
    rmSync(join(staging, DAY, 'r2.slice.jsonl'));
    expect(() => mergeDay(staging, hdb, DAY)).toThrow(MergeError);
    expect(() => mergeDay(staging, hdb, DAY)).toThrow('no slice holds messages (900, 2100] (between r1.slice.jsonl (0, 900] and r3.slice.jsonl (2100, 3000])');
    expect(existsSync(join(hdb, DAY))).toBe(false);
    // The CLI the merge Job runs exits non-zero with the same words.
    const cli = spawnSync(process.execPath, [MAIN, 'merge', '--day', DAY, '--staging', staging, '--hdb', hdb], { cwd: REPO, encoding: 'utf8' });
    expect(cli.status).not.toBe(0);
    expect(cli.stdout + cli.stderr).toContain('no slice holds messages (900, 2100]');
  });

  test('same window, different rows: refused naming both slices', () => {
    const { staging, hdb } = dirs();
    poolDay(staging, msgs);
    flush(staging, 'r1-replacement', 'main', msgs.slice(0, 899), 0, 899);
    // The replacement claims (0, 900] but holds one message less.
    const path = join(staging, DAY, 'r1-replacement.slice.jsonl');
    const [head, ...rest] = readFileSync(path, 'utf8').split('\n');
    const h = JSON.parse(head!);
    h.window = { firstI: 0, lastI: 900 };
    writeFileSync(path, [JSON.stringify(h), ...rest].join('\n'));
    expect(() => mergeDay(staging, hdb, DAY)).toThrow(/r1(-replacement)?\.slice\.jsonl and r1(-replacement)?\.slice\.jsonl hold the same window \(0, 900\] but (trade|quote) has \d+ rows in/);
  });

  test('a pool removed from the spec drains beside the pools that split its feed: every row in the HDB once', () => {
    const { staging, hdb } = dirs();
    const old = [flush(staging, 'old-1', 'a-old', msgs, 0, 1700), flush(staging, 'old-2', 'a-old', msgs, 1700, 3000)];
    flush(staging, 'trade-1', 'b-trade', msgs, 0, 3000, { tables: ['trade'], syms: [] });
    flush(staging, 'quote-1', 'c-quote', msgs, 0, 2500, { tables: ['quote'], syms: [] });
    flush(staging, 'quote-2', 'c-quote', msgs, 2500, 3000, { tables: ['quote'], syms: [] });
    const r = mergeDay(staging, hdb, DAY);
    // a-old sorts first and holds everything: the others' rows are left out, the partition is a-old's.
    expectPartition(hdb, oldMerge(old));
    const marker = JSON.parse(readFileSync(join(hdb, DAY, COMPLETE_MARKER), 'utf8')) as MergeMarker;
    expect(marker.overlapLeftOut).toBeUndefined();
    expect(r.tables).toEqual(sumsOf(oldMerge(old)));
  });

  test('overlapping pools where the first by name holds only some syms: the rest come from the next, each row once', () => {
    const { staging, hdb } = dirs();
    const all = [flush(staging, 'all', 'b-all', msgs, 0, 3000)];
    flush(staging, 'fx', 'a-some', msgs, 0, 3000, { tables: ['trade'], syms: ['S01', 'S02'] });
    const r = mergeDay(staging, hdb, DAY);
    expect(r.tables).toEqual(sumsOf(oldMerge(all)));
    const marker = JSON.parse(readFileSync(join(hdb, DAY, COMPLETE_MARKER), 'utf8')) as MergeMarker;
    const someRows = (all[0]!.data.trade![1] as string[]).filter((s) => s === 'S01' || s === 'S02').length;
    expect(marker.overlapLeftOut).toEqual({ trade: someRows });
  });
});

describe('the merge\'s memory', () => {
  const HEAP_MIB = 32;
  /** A day of `slices` slices of `rows` trade rows each, written by the RDB's writer (in a child: jest's module sandbox makes it slow). */
  const bigDay = (staging: string, rowsPerSlice: number, slices: number) => {
    const code = `import { mkdirSync } from 'node:fs';
      import { writeSliceFile } from ${JSON.stringify(join(REPO, 'images/sim/src/rdb/flush.ts'))};
      import { DEFAULT_SCHEMA } from ${JSON.stringify(join(REPO, 'images/sim/src/schema.ts'))};
      const dir = ${JSON.stringify(join(staging, DAY))};
      mkdirSync(dir, { recursive: true });
      const spec = DEFAULT_SCHEMA.find((t) => t.name === 'trade');
      for (let s = 0; s < ${slices}; s++) {
        const time = Array.from({ length: ${rowsPerSlice} }, (_, r) => 1772000000000 + s * ${rowsPerSlice} + r);
        const sym = time.map((_, r) => 'S' + ((r * 7 + s) % 500));
        writeSliceFile(dir + '/r' + s + '.slice.jsonl',
          { day: '${DAY}', rdb: 'r' + s, pool: 'main', window: { firstI: s * 10, lastI: s * 10 + 10 }, subscription: { tables: [], syms: [] } },
          [{ name: 'trade', columns: spec.columns, data: [time, sym, time.map((t) => (t % 997) / 10), time.map((t) => t % 1000)] }]);
      }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  const inChild = (code: string) => spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, '--input-type=module', '-e', code], { encoding: 'utf8' });

  test(`a day of 1.2 million rows merges with the heap capped at ${HEAP_MIB} MiB, which cannot hold the day`, () => {
    const { staging, hdb } = dirs();
    bigDay(staging, 300_000, 4);
    const merge = inChild(`import { mergeDay } from ${JSON.stringify(join(REPO, 'images/sim/src/merge/merge.ts'))};
      const t = Date.now();
      const r = mergeDay(${JSON.stringify(staging)}, ${JSON.stringify(hdb)}, '${DAY}');
      process.stdout.write(JSON.stringify({ rows: r.tables.trade.rows, ms: Date.now() - t, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));`);
    expect(merge.stderr).toBe('');
    const r = JSON.parse(merge.stdout) as { rows: number; ms: number; maxRssMiB: number };
    expect(r.rows).toBe(1_200_000);
    process.stdout.write(`streamed merge of 1.2M rows under a ${HEAP_MIB} MiB heap: ${r.ms} ms, peak RSS ${r.maxRssMiB} MiB\n`);
    const { data } = readPartitionTable(hdb, DAY, 'trade');
    expect(unsorted(data)).toBe(0);

    // The control: what the old merge did first, the day's rows in memory at once, does not fit that heap.
    const whole = inChild(`import { readdirSync, readFileSync } from 'node:fs';
      const dir = ${JSON.stringify(join(staging, DAY))};
      const held = readdirSync(dir).map((f) => readFileSync(dir + '/' + f, 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l)));
      process.stdout.write(String(held.length));`);
    expect(whole.status).not.toBe(0);
    expect(whole.stderr).toContain('heap out of memory');
  });
});
