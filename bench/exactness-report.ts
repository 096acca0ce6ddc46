/** The Markdown report of one exactness-at-scale run (bench/exactness.bench.ts). */
import { isExact, type TableDiff } from '../test/support/exactness-check.ts';
import type { ExactnessResult } from './exactness.bench.ts';

const n = (v: number | undefined, digits = 0) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const s = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${n(ms / 1000, 1)} s`);

function diffRows(diffs: readonly TableDiff[]): string[] {
  const rows = ['| output | expected | actual | missing | unexpected | different (Parquet: duplicated) | exact |', '|---|---:|---:|---:|---:|---:|:---:|'];
  for (const d of diffs) rows.push(`| ${d.table} | ${n(d.expected)} | ${n(d.actual)} | ${n(d.missing)} | ${n(d.unexpected)} | ${n(d.different)} | ${isExact(d) ? 'yes' : '**no**'} |`);
  return rows;
}

export function markdown(r: ExactnessResult): string {
  const k = r.kill;
  const m = r.machine;
  const lines = [
    `Run ${r.run}, ${r.startedAt} to ${r.finishedAt}. Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb} GB, Node ${m.node}; load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' / ')}, at end ${m.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
    `Reproduce: \`${r.command}\` (local stack running). Input: ${n(r.input.records)} records (${n(r.input.unique)} unique valid events, ${n(r.input.duplicates)} duplicates of which ${n(r.input.longDuplicates)} thousands of records later, ${n(r.input.malformed)} malformed, ${n(r.input.late)} clearly late, ${r.input.ticks} end-of-stream ticks; ${n(r.input.fraudCases)} planted fraud cases, ${n(r.input.alerts)} fraud alerts expected), ${n(r.input.bytes / 2 ** 20, 1)} MiB, ${n(r.options.spanMinutes)} min of event time, seed ${r.options.seed}; 3 topics x 3 partitions; produced in ${r.options.segments} segments${r.options.segmentMs > 0 ? ` of ${n(r.options.segmentMs)} ms each` : ', unpaced'}.`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| instances | 3 (a, b, c)${k === undefined ? ', no kill (--no-kill)' : `, b killed with SIGKILL, b2 started ${s(k.toSpawnMs)} later with b's instance id`} |`,
    `| input produced in | ${s(r.produceMs)} |`,
    `| total wall time (first record produced to every partition committed to its end) | ${s(r.wallMs)} |`,
    `| events/s end to end | ${n(r.eventsPerSec)} |`,
    ...(k === undefined
      ? []
      : [
          `| kill at | ${s(k.atMs)}, ${n(k.inputCommittedFraction * 100, 1)}% of the input committed |`,
          `| kill to the replacement having its partitions | ${s(k.toAssignedMs)} (${s(k.spawnToAssignedMs)} after its start) |`,
          `| replacement got the killed member's partitions | ${k.samePartitions ? 'yes' : '**no**'} (${k.replacementPartitions.length} partitions) |`,
          `| kill to the replacement's first commit | ${s(k.toFirstCommitMs)} (${s(k.spawnToFirstCommitMs)} after its start) |`,
          `| committed input events/s: before the kill / from the replacement's first commit to the end | ${n(r.committedEventsPerSec.beforeKill)} / ${n(r.committedEventsPerSec.afterFirstCommit)} |`,
        ]),
    `| peak lag, group (input + repartition topics) / input topics alone | ${n(r.peakLag)} / ${n(r.peakInputLag)} records |`,
    `| read-back and comparison | ${s(r.readBackMs)} (${n(r.parquetFiles)} Parquet files) |`,
    `| exit codes at SIGTERM | ${Object.entries(r.exitCodes).map(([name, c]) => `${name} ${c}`).join(', ')} |`,
    `| error/fatal log lines | ${Object.entries(r.errorLogLines).map(([name, c]) => `${name} ${c}`).join(', ')} |`,
    '',
    ...diffRows(r.diffs),
  ];
  const examples = r.diffs.filter((d) => d.examples.length > 0);
  if (examples.length > 0) lines.push('', 'Examples:', ...examples.flatMap((d) => [`- ${d.table}:`, ...d.examples.map((e) => `  - ${e}`)]));
  const late = r.lateness;
  if (late.lateNotRouted > 0 || late.gameMetricsWithRoutedLate !== undefined) {
    lines.push('', `Clearly late events not routed to late-events: ${n(late.lateNotRouted)}; by tenth of the input: ${late.lateNotRoutedByTenthOfInput.join(', ')}.`);
    const g = late.gameMetricsWithRoutedLate;
    if (g !== undefined) lines.push(`game_metrics against the truth recomputed with the events the window did route late: expected ${n(g.expected)}, actual ${n(g.actual)}, missing ${n(g.missing)}, unexpected ${n(g.unexpected)}, different ${n(g.different)}: ${isExact(g) ? 'exact (every difference is a lateness judgement)' : '**not exact**'}.`);
  }
  return lines.join('\n');
}
