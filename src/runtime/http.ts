/**
 * The one HTTP server of a Tributary process (`node:http`, port `TRIBUTARY_HTTP_PORT`, default 9464):
 * - `/healthz`: 200 while the event loop answers (the container's health check);
 * - `/readyz`: 200 when ready, else 503 with `{ reason, detail }` (see `readiness.ts`);
 * - `/metrics`: Prometheus text format;
 * - `/status.json` and `/`: the live status and the status page.
 *
 * @example
 * ```ts
 * const server = await startHttpServer({ port: 9464, routes: opsRoutes({ ... }) });
 * // …
 * await server.close();
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.ts';
import type { PrometheusExposition } from './prometheus.ts';
import type { ReadinessState } from './readiness.ts';
import type { Status } from './status.ts';
import { statusPageHtml } from './status-page.ts';

export const DEFAULT_HTTP_PORT = 9464;

export interface Reply {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

export type Routes = Readonly<Record<string, () => Reply | Promise<Reply>>>;

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

const json = (status: number, value: unknown): Reply => ({ status, type: 'application/json', body: `${JSON.stringify(value)}\n` });

export interface OpsSources {
  readonly readiness: () => ReadinessState;
  readonly status: () => Status;
  readonly exposition: PrometheusExposition;
  /** The status page's title and topology picture. */
  readonly page: { readonly title: string; readonly svg: string };
}

/** The routes above for one running topology. */
export function opsRoutes(sources: OpsSources): Routes {
  const page = statusPageHtml(sources.page.title, sources.page.svg);
  return {
    '/healthz': () => json(200, { status: 'ok' }),
    '/readyz': () => {
      const state = sources.readiness();
      return json(state.ready ? 200 : 503, state);
    },
    '/metrics': async () => ({ status: 200, type: sources.exposition.contentType, body: await sources.exposition.text() }),
    '/status.json': () => json(200, sources.status()),
    '/': () => ({ status: 200, type: 'text/html; charset=utf-8', body: page }),
  };
}

/** Listens on `port` (0 picks a free one); resolves once listening. */
export async function startHttpServer(options: { readonly port: number; readonly host?: string; readonly routes: Routes; readonly logger?: Logger }): Promise<HttpServer> {
  const { routes, logger } = options;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    let reply: Reply;
    if (request.method !== 'GET' && request.method !== 'HEAD') reply = json(405, { error: 'only GET' });
    else if (route === undefined) reply = json(404, { error: `no route ${path}` });
    else {
      try {
        reply = await route();
      } catch (error) {
        logger?.warn({ err: error, path }, 'HTTP route failed');
        reply = json(500, { error: (error as Error).message });
      }
    }
    response.writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : reply.body);
  };
  const server = createServer((request, response) => void handle(request, response));
  // A scrape must never keep the process from exiting once the runtime is done.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger?.info({ port }, `HTTP: /healthz /readyz /metrics and the status page on port ${port}`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
