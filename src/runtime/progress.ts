/**
 * The terminal view of a running topology: one line, redrawn in place every second, with records/s,
 * consumer lag, records in flight, paused partitions, writes per sink and dead letters.
 *
 * @example
 * ```ts
 * const stop = showProgress(() => readStatus(...), process.stdout);
 * ```
 */
import type { Status } from './status.ts';

const short = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n)));

/** The line for `status`, given the one a second before (for the rate), cut to `columns`. */
export function progressLine(status: Status, previous: Status | undefined, columns = 120): string {
  const seconds = previous === undefined ? 0 : (status.time - previous.time) / 1000;
  const rate = seconds > 0 && previous !== undefined ? (status.recordsRead - previous.recordsRead) / seconds : 0;
  const r = status.readiness;
  const sinks = Object.entries(status.steps)
    .filter(([, s]) => s.written > 0 || s.retries > 0)
    .map(([id, s]) => `${id} ${short(s.written)}${s.retries > 0 ? ` (${short(s.retries)} retries)` : ''}`);
  const parts = [
    r.ready ? 'ready' : r.reason,
    `${short(rate)} rec/s`,
    `read ${short(status.recordsRead)}`,
    `lag ${short(status.consumerLag)}`,
    `in flight ${short(status.inflight.records)}/${short(status.inflight.maxRecords)}`,
    `paused ${status.pausedPartitions}`,
    `dead letters ${short(status.deadLetters)}`,
    ...(sinks.length > 0 ? [`wrote: ${sinks.join(', ')}`] : []),
  ];
  const line = parts.join(' | ');
  return line.length > columns ? `${line.slice(0, Math.max(0, columns - 1))}…` : line;
}

export interface ProgressTarget {
  write(text: string): unknown;
  readonly columns?: number;
}

/** Redraws the line every `intervalMs` on `out` (a TTY); returns a function that stops and ends the line. */
export function showProgress(status: () => Status, out: ProgressTarget, intervalMs = 1000): () => void {
  let previous: Status | undefined;
  const draw = () => {
    const now = status();
    out.write(`\r\x1b[2K${progressLine(now, previous, out.columns || 120)}`);
    previous = now;
  };
  draw();
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    draw();
    out.write('\n');
  };
}
