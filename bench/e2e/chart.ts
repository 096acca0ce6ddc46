/** An SVG chart of one run, no browser: throughput bars per contender, and latency percentiles. */
import type { E2eResult } from './run.ts';

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;');

export function chart(r: E2eResult): string {
  const bars: { label: string; value: number; ours: boolean }[] = [];
  const b = (label: string, value: number | undefined, ours = false) => {
    if (value !== undefined && Number.isFinite(value)) bars.push({ label, value, ours });
  };
  b('bare @platformatic/kafka + JSON.parse (ceiling)', r.baselines['bare-parse']?.eventsPerSec);
  b('bare @platformatic/kafka, no parse', r.baselines.bare?.eventsPerSec);
  b('bare kafkajs + JSON.parse', r.baselines['bare-kafkajs-parse']?.eventsPerSec);
  b('Kafka Streams reference', r.baselines.reference?.eventsPerSec);
  b('Tributary (Kafka + S3 Parquet sinks)', r.tributary['no-dynamo']?.eventsPerSec, true);
  b('Tributary, kafkajs source', r.tributary['no-dynamo-kafkajs']?.eventsPerSec, true);
  b('Tributary, all sinks (DynamoDB)', r.tributary.full?.eventsPerSec, true);
  b('naive kafkajs + DynamoDB service', r.baselines.naive?.eventsPerSec);
  b('JSON.parse loop (in memory)', r.baselines.json?.eventsPerSec);
  b('Tributary operators alone (in memory)', r.baselines.operators?.eventsPerSec, true);
  const width = 900;
  const left = 300;
  const barH = 22;
  const top = 40;
  const max = Math.max(...bars.map((x) => x.value), 1);
  const scale = (v: number) => ((width - left - 120) * v) / max;
  const rows = bars
    .map((x, i) => {
      const y = top + i * (barH + 8);
      return `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(x.label)}</text>` +
        `<rect x="${left}" y="${y}" width="${scale(x.value).toFixed(1)}" height="${barH}" fill="${x.ours ? '#2b6cb0' : '#a0aec0'}"/>` +
        `<text x="${(left + scale(x.value) + 6).toFixed(1)}" y="${y + 15}">${Math.round(x.value).toLocaleString('en-US')} ev/s</text>`;
    })
    .join('\n');
  const latTop = top + bars.length * (barH + 8) + 50;
  const lat = r.tributary.latency?.sinkLatency?.hot ?? r.tributary.latency?.latency;
  let latency = '';
  if (lat !== undefined) {
    const points = [['p50', lat.p50], ['p95', lat.p95], ['p99', lat.p99]] as const;
    const lmax = Math.max(100, ...points.map(([, v]) => v));
    const ls = (v: number) => ((width - left - 120) * v) / lmax;
    latency = `<text x="10" y="${latTop - 12}" font-weight="bold">Latency, produce to hot-sink acknowledgement (DynamoDB/Kafka), at 50% of max rate (ms; target p99 &lt;= 100)</text>\n` +
      points.map(([name, v], i) => {
        const y = latTop + i * (barH + 8);
        return `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${name}</text><rect x="${left}" y="${y}" width="${ls(v).toFixed(1)}" height="${barH}" fill="#dd6b20"/><text x="${(left + ls(v) + 6).toFixed(1)}" y="${y + 15}">${Math.round(v)} ms</text>`;
      }).join('\n') +
      `\n<line x1="${(left + ls(100)).toFixed(1)}" y1="${latTop - 4}" x2="${(left + ls(100)).toFixed(1)}" y2="${latTop + 3 * (barH + 8)}" stroke="#c53030" stroke-dasharray="4 3"/>`;
  }
  const height = latTop + (lat === undefined ? 0 : 3 * (barH + 8)) + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-weight="bold">Throughput, events/s (${r.options.mode}: ${r.input.records.toLocaleString('en-US')} events, ${r.machine.cores} cores, load ${r.machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')}); blue = Tributary</text>
${rows}
${latency}
</svg>
`;
}
