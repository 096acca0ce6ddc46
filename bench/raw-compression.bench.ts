/**
 * The raw tier's codecs over generated record lines (the `format: record` JSON lines of 300k
 * events, ~130 MB) in 4 MB blocks: milliseconds per pass and compression ratio, three rounds
 * interleaved. Chose zstd level 1 for `s3-raw` (src/sinks/s3-raw-files.ts).
 *
 *   node_modules/.bin/node bench/raw-compression.bench.ts
 */
import { constants, gzipSync, zstdCompressSync } from 'node:zlib';

const lines: string[] = [];
for (let i = 0; i < 300_000; i++) {
  const value = JSON.stringify({
    event_id: crypto.randomUUID(),
    user_id: `user-${i % 5000}`,
    event_type: 'game_start',
    timestamp: new Date(1733000000000 + i * 10).toISOString(),
    game_id: `game-${i % 200}`,
    platform: 'ios',
    game_version: '1.2.3',
    event_data: { level: i % 50, score: i * 7 },
  });
  lines.push(`${JSON.stringify({ topic: 'game-events', partition: i % 3, offset: i, timestamp: 1733000000000 + i, key: `user-${i % 5000}`, headers: { 'tributary.produced_at': String(1733000000000 + i) }, value })}\n`);
}
const all = Buffer.from(lines.join(''));
const blocks: Buffer[] = [];
for (let i = 0; i < all.length; i += 4 << 20) blocks.push(all.subarray(i, i + (4 << 20)));

const codecs: Record<string, (b: Buffer) => Buffer> = {
  'zstd level 3 (default)': (b) => zstdCompressSync(b),
  'zstd level 1': (b) => zstdCompressSync(b, { params: { [constants.ZSTD_c_compressionLevel]: 1 } }),
  'zstd level -1': (b) => zstdCompressSync(b, { params: { [constants.ZSTD_c_compressionLevel]: -1 } }),
  'zstd level -3': (b) => zstdCompressSync(b, { params: { [constants.ZSTD_c_compressionLevel]: -3 } }),
  'gzip level 1': (b) => gzipSync(b, { level: 1 }),
  'gzip level 6 (default)': (b) => gzipSync(b),
};
const results = new Map<string, { ms: number[]; ratio: number }>();
for (let round = 0; round < 3; round++) {
  for (const [name, compress] of Object.entries(codecs)) {
    const started = performance.now();
    let out = 0;
    for (const block of blocks) out += compress(block).length;
    const entry = results.get(name) ?? { ms: [], ratio: all.length / out };
    entry.ms.push(Math.round(performance.now() - started));
    results.set(name, entry);
  }
}
console.log(`input ${(all.length / 1e6).toFixed(0)} MB of record lines in ${blocks.length} blocks\n`);
console.log('| codec | ms per pass (3 rounds) | ratio |\n|---|---:|---:|');
for (const [name, { ms, ratio }] of results) console.log(`| ${name} | ${ms.join(' / ')} | ${ratio.toFixed(1)} |`);
