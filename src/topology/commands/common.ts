/** What the operator commands share: their io, loading the topology, times, tables. */
import { ConfigError } from '../../core/errors.ts';
import { connectingEnv, readTopology, type Io } from './command.ts';
import type { InputRef, ValidTopology } from '../types.ts';

/** Where a command writes, and the environment it reads (the CLI's `Io`). */
export type CommandIo = Io;

/**
 * What a command that connects starts from: the topology in `file` and the environment to connect
 * with (`connectingEnv`); undefined after writing the problems (the topology's `file:line:col: ...`,
 * or the settings') to `io.stderr`.
 */
export async function topologyToConnect(file: string, io: CommandIo, local: boolean): Promise<{ topology: ValidTopology; env: NodeJS.ProcessEnv } | undefined> {
  const topology = await readTopology(file, io);
  if (topology === undefined) return undefined;
  const env = connectingEnv(io, local);
  return env === undefined ? undefined : { topology, env };
}

const ISO_NO_ZONE = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?$/;

/**
 * An instant from the command line: epoch milliseconds, or ISO-8601 read as UTC when it names no
 * zone (`2026-12-03T10`, `2026-12-03T10:30`, `2026-12-03T10:30:00+01:00`).
 * @throws ConfigError naming `option`
 */
export function parseInstant(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  let iso = trimmed;
  if (ISO_NO_ZONE.test(iso)) {
    if (/T\d{2}$/.test(iso)) iso += ':00';
    iso += 'Z';
  }
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new ConfigError(`--${option}: not a time: "${text}" (epoch ms or ISO-8601, UTC unless a zone is given)`);
  return ms;
}

/** `2026-12-03T10:00:00Z` style, to the second (milliseconds when there are any). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Right-aligned numbers (a column of numbers and `?`), left-aligned text, two spaces between columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === '?') && rows.some((r) => typeof r[i] === 'number'));
  return `${cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n')}\n`;
}

/** Ids of every node upstream of `id` (steps and sources), `id` excluded. */
export function upstreamOf(topology: ValidTopology, from: readonly InputRef[]): Set<string> {
  const seen = new Set<string>();
  const visit = (refs: readonly InputRef[]) => {
    for (const ref of refs) {
      if (seen.has(ref.id)) continue;
      seen.add(ref.id);
      visit(topology.steps.find((s) => s.id === ref.id)?.from ?? []);
    }
  };
  visit(from);
  return seen;
}
