/**
 * What a running topology shows its operators: the HTTP server (health, readiness, Prometheus
 * metrics, the status page over the topology's picture), and optionally the terminal progress line
 * and CloudWatch EMF lines. Attached to a started topology by `runTopology` and `npm start`.
 */
import type { Settings } from '../config-env.ts';
import { startEmf } from '../runtime/emf.ts';
import { DEFAULT_LIMITS } from '../runtime/inflight.ts';
import { showProgress, type ProgressTarget } from '../runtime/progress.ts';
import { startHttpServer, opsRoutes, type HttpServer } from '../runtime/http.ts';
import { createPrometheusExposition } from '../runtime/prometheus.ts';
import { Readiness } from '../runtime/readiness.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { readStatus, type Status } from '../runtime/status.ts';
import { buildGraph } from './graph.ts';
import { toSvg } from './svg.ts';
import type { ValidTopology } from './types.ts';

export interface OpsOptions {
  /** HTTP port; 0 picks a free one; `undefined` starts no server. */
  readonly httpPort?: number;
  readonly httpHost?: string;
  readonly limits?: { readonly maxInflightRecords?: number; readonly maxInflightBytes?: number };
  /** A sink retrying this long makes the process not ready. Default 5000. */
  readonly sinkFailingAfterMs?: number;
  /** A terminal to draw the progress line on. */
  readonly progress?: ProgressTarget;
  /** CloudWatch EMF lines, written with `write` every `intervalMs`. */
  readonly emf?: { readonly namespace: string; readonly intervalMs: number; readonly write: (line: string) => void };
}

export interface Ops {
  readonly readiness: Readiness;
  readonly server: HttpServer | undefined;
  status(): Status;
  close(): Promise<void>;
}

/** A stream the progress line can be drawn on (`process.stdout`, `process.stderr`, a fake in tests). */
export type Terminal = ProgressTarget & { readonly isTTY?: boolean };

export interface TerminalView {
  /** Where to draw the progress line; undefined: no line. */
  readonly progress: Terminal | undefined;
  /** Where the JSON logs go; undefined: stdout. */
  readonly logFile: string | undefined;
}

/**
 * Where `tributary run` and `npm start` draw the progress line and write their logs (one rule for
 * both). The line goes to stdout, or to stderr when EMF is on, so that stdout carries only whole EMF
 * lines; it is drawn when `TRIBUTARY_PROGRESS` is `on`, or `auto` (the default) and that stream is a
 * terminal. While it is drawn, JSON logs go to `TRIBUTARY_LOG_FILE`, default `tributary.log`.
 *
 * @example
 * ```ts
 * const view = terminalView(loadSettings(env), process.stdout, process.stderr);
 * ```
 */
export function terminalView(settings: Pick<Settings, 'progress' | 'logFile' | 'emf'>, stdout: Terminal, stderr: Terminal): TerminalView {
  const target = settings.emf ? stderr : stdout;
  const shown = settings.progress === 'on' || (settings.progress === 'auto' && target.isTTY === true);
  return { progress: shown ? target : undefined, logFile: settings.logFile ?? (shown ? 'tributary.log' : undefined) };
}

/** What the status page and the metric labels name: the topology, its consumer group, its picture. */
export interface OpsView {
  readonly title: string;
  readonly group: string;
  readonly svg: string;
}

/** The view of a topology: its name, group and the SVG `tributary graph` draws. */
export function opsViewOf(topology: ValidTopology): OpsView {
  return { title: topology.name, group: topology.sources[0]?.group ?? topology.name, svg: toSvg(buildGraph(topology), { title: topology.name }) };
}

/**
 * Attaches readiness, the HTTP server, the progress line and EMF to `runtime` (call right after
 * creating it, before records flow, so that readiness sees the first assignment).
 */
export async function startOps(topology: ValidTopology | OpsView, runtime: Runtime, options: OpsOptions = {}): Promise<Ops> {
  const view = 'svg' in topology ? topology : opsViewOf(topology);
  const readiness = new Readiness(runtime, options.sinkFailingAfterMs === undefined ? {} : { sinkFailingAfterMs: options.sinkFailingAfterMs });
  const poll = setInterval(() => readiness.poll(), 1000);
  poll.unref();
  const startedAt = Date.now();
  const limits = {
    maxRecords: options.limits?.maxInflightRecords ?? DEFAULT_LIMITS.maxInflightRecords,
    maxBytes: options.limits?.maxInflightBytes ?? DEFAULT_LIMITS.maxInflightBytes,
  };
  const status = () => readStatus({ metrics: runtime.metrics, inflight: runtime.inflight, limits, readiness: () => readiness.check(), startedAt });
  let server: HttpServer | undefined;
  if (options.httpPort !== undefined) {
    server = await startHttpServer({
      port: options.httpPort,
      ...(options.httpHost === undefined ? {} : { host: options.httpHost }),
      logger: runtime.logger,
      routes: opsRoutes({
        readiness: () => readiness.check(),
        status,
        exposition: createPrometheusExposition(runtime.metrics, { topology: view.title, group: view.group }),
        page: { title: view.title, svg: view.svg },
      }),
    });
  }
  const stopProgress = options.progress === undefined ? undefined : showProgress(status, options.progress);
  const { emf } = options;
  const stopEmf =
    emf === undefined
      ? undefined
      : startEmf(runtime.metrics, { namespace: emf.namespace, group: view.group, topology: view.title }, emf.write, emf.intervalMs);
  return {
    readiness,
    server,
    status,
    async close() {
      clearInterval(poll);
      stopProgress?.();
      stopEmf?.();
      await server?.close();
    },
  };
}
