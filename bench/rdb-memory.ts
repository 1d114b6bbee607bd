/**
 * Memory per row held by the RDB: the deterministic accounting the roll
 * threshold uses (bytes per column type, see images/sim/src/rdb/memory.ts)
 * next to what the reference RDB's JS heap really grows by per row.
 *   node --expose-gc bench/rdb-memory.ts     (BENCH_ROWS=1000000)
 */
import { generateDay } from '../images/sim/src/feed/generator.ts';
import { MemoryAccount, rowBytes } from '../images/sim/src/rdb/memory.ts';
import { TableStore } from '../images/sim/src/rdb/table-store.ts';
import { DEFAULT_SCHEMA } from '../images/sim/src/schema.ts';
import { fmt } from './lib.ts';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('(run with node --expose-gc for a steadier heap figure)');
for (const t of DEFAULT_SCHEMA) console.log(`accounted bytes per ${t.name} row: ${rowBytes(t)}`);

const messages: Array<{ t: string; c: unknown[][] }> = [];
const buf: Record<string, unknown[][]> = {};
for (const r of generateDay({ syms: ['AAPL', 'MSFT', 'GOOG', 'IBM', 'KX', 'AMZN'], rows, seed: 3, day: '2025-03-03', tz: 'UTC' })) {
  const cols = (buf[r.table] ??= r.values.map(() => []));
  r.values.forEach((v, k) => cols[k]!.push(v));
  if (cols[0]!.length === 100) {
    messages.push({ t: r.table, c: cols });
    buf[r.table] = r.values.map(() => []);
  }
}
// Serialize so the store holds fresh values (as from the wire), not the generator's.
const wire = messages.map((m) => JSON.stringify(m));
messages.length = 0;
gc?.();
const before = process.memoryUsage().heapUsed;
const store = new TableStore(DEFAULT_SCHEMA, [], []);
const memory = new MemoryAccount(0, Number.MAX_SAFE_INTEGER);
for (const w of wire) {
  const m = JSON.parse(w) as { t: string; c: unknown[][] };
  memory.add(store.apply(m.t, m.c));
}
gc?.();
const after = process.memoryUsage().heapUsed;
const held = store.totalRows();
console.log(`rows held: ${fmt(held)} (${JSON.stringify(store.rowCounts())})`);
console.log(`accounted: ${(memory.usedBytes / held).toFixed(1)} bytes/row (deterministic, drives the roll threshold)`);
console.log(`JS heap:   ${((after - before) / held).toFixed(1)} bytes/row (reference RDB in V8; kdb+ holds about the accounted figure)`);
