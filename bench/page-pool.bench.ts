/**
 * V8's page pool: how much RSS a Node process keeps after its heap shrank, and what the memory
 * guard's collection gives back (bench/RESULTS.md "What RSS holds beyond the heaps").
 *
 *   node_modules/.bin/node bench/page-pool.bench.ts
 *
 * Each case runs in a child of its own:
 * - `drop`: ~300 MB of small objects built and dropped, then an ordinary full collection (`gc()`), or
 *   the guard's memory-reducing one;
 * - `burst`: 8 s of allocation flat out, then 30 s at ~6 MB/s (a task that caught up a backlog, then
 *   follows live traffic), without and with the memory guard (limit 300 MB: collects above 255 MB).
 * Reported: RSS, heap reserved, and the resident 256 KiB mappings (V8's heap pages) from /proc/self/smaps.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MiB = 2 ** 20;

function snapshot() {
  let pages = 0;
  let current = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) current = parseInt(range[2] as string, 16) - parseInt(range[1] as string, 16) === 256 * 1024;
    else if (current && line.startsWith('Rss:')) pages += Number(line.split(/\s+/)[1]) * 1024;
  }
  const m = process.memoryUsage();
  return { rssMb: Math.round(m.rss / MiB), heapMb: Math.round(m.heapTotal / MiB), pagesMb: Math.round(pages / MiB) };
}

async function child(mode: string): Promise<void> {
  const { MemoryGuard, memoryReducingCollection } = await import('../src/runtime/memory-guard.ts');
  const collect = memoryReducingCollection();
  if (mode === 'drop-gc' || mode === 'drop-guard') {
    let ring: object[][] = [];
    for (let r = 0; r < 20; r++) {
      const a: object[] = [];
      for (let i = 0; i < 200_000; i++) a.push({ i, s: `x${i}`, o: { y: i } });
      ring.push(a);
      if (ring.length > 8) ring.shift();
    }
    const peak = snapshot();
    ring = [];
    if (mode === 'drop-gc') (globalThis as unknown as { gc: () => void }).gc();
    else await collect();
    console.log(JSON.stringify({ peak, after: snapshot() }));
    return;
  }
  const guard = mode === 'burst-guard' ? new MemoryGuard({ limitBytes: 300 * MiB, collect }) : undefined;
  const ring: object[] = new Array(200_000);
  const t0 = performance.now();
  let k = 0;
  let peak = snapshot();
  while (performance.now() - t0 < 38_000) {
    const burst = performance.now() - t0 < 8_000;
    for (let i = 0; i < (burst ? 20_000 : 600); i++) ring[k++ % ring.length] = { k, s: `x${k}`, o: { b: [k, k + 1] } };
    if (burst) peak = snapshot();
    await guard?.check();
    await new Promise((resolve) => setTimeout(resolve, burst ? 0 : 10));
  }
  console.log(JSON.stringify({ peak, after: snapshot() }));
}

if (process.argv[2] !== undefined) await child(process.argv[2]);
else {
  console.log(`Node ${process.version}: RSS / heap reserved / resident 256 KiB pages, MB\n`);
  console.log('| case | at the peak | afterwards |\n|---|---:|---:|');
  for (const mode of ['drop-gc', 'drop-guard', 'burst-plain', 'burst-guard']) {
    const run = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=8', import.meta.filename, mode], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${mode}: ${run.stderr}`);
    const { peak, after } = JSON.parse(run.stdout) as Record<'peak' | 'after', ReturnType<typeof snapshot>>;
    const cell = (s: ReturnType<typeof snapshot>) => `${s.rssMb} / ${s.heapMb} / ${s.pagesMb}`;
    console.log(`| ${mode} | ${cell(peak)} | ${cell(after)} |`);
  }
}
