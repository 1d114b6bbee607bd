// Prints the codec's speed on a trade table: encode, decode, compress,
// decompress and frame splitting, in MB/s and rows/s. Figures only; nothing
// here asserts a time. Run: node ipc/bench/codec.ts [rows]
import { compress, decodeMessage, decompress, encodeMessage, FrameSplitter, q } from '../src/index.ts';

const rows = Number(process.argv[2] ?? 100_000);
const syms = ['AAPL', 'MSFT', 'IBM', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA'];
const trade = q.table({
  time: q.timestamps(Array.from({ length: rows }, (_, i) => 851213371000000000n + BigInt(i) * 1_000_000n)),
  sym: q.symbols(Array.from({ length: rows }, (_, i) => syms[i % syms.length]!)),
  price: q.floats(Array.from({ length: rows }, (_, i) => 100 + ((i * 7919) % 1000) / 100)),
  size: q.longs(Array.from({ length: rows }, (_, i) => BigInt(100 * (1 + (i % 9))))),
});

function time(label: string, bytes: number, reps: number, f: () => unknown, rowsPerCall = rows): void {
  f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) f();
  const s = Number(process.hrtime.bigint() - t0) / 1e9 / reps;
  console.log(`${label.padEnd(34)} ${(s * 1000).toFixed(2).padStart(9)} ms  ${(bytes / s / 1e6).toFixed(0).padStart(6)} MB/s  ${(rowsPerCall / s / 1e6).toFixed(2).padStart(6)} M rows/s`);
}

const plain = encodeMessage(trade);
const packed = compress(plain)!;
console.log(`trade table: ${rows} rows, ${plain.length} bytes plain, ${packed.length} compressed (${((100 * packed.length) / plain.length).toFixed(1)}%)`);
time('encode', plain.length, 10, () => encodeMessage(trade));
time('decode', plain.length, 10, () => decodeMessage(plain));
time('compress (q algorithm)', plain.length, 5, () => compress(plain));
time('decompress', plain.length, 5, () => decompress(packed, 1 << 30));
time('decode compressed', plain.length, 5, () => decodeMessage(packed));
const stream = Buffer.concat(Array.from({ length: 20 }, () => plain));
time('frame split, 64 KiB chunks (x20 msgs)', stream.length, 3, () => {
  const s = new FrameSplitter();
  for (let at = 0; at < stream.length; at += 65536) s.push(stream.subarray(at, at + 65536));
}, rows * 20);
