import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.ts';
import { opsRoutes, startHttpServer, type HttpServer } from '../../src/runtime/http.ts';
import { createPrometheusExposition } from '../../src/runtime/prometheus.ts';
import type { ReadinessState } from '../../src/runtime/readiness.ts';
import { readStatus } from '../../src/runtime/status.ts';

let server: HttpServer | undefined;
afterEach(async () => server?.close());

describe('the HTTP server', () => {
  it('serves health, readiness (200/503 with a reason), metrics, status and the page', async () => {
    const metrics = new Metrics();
    let state: ReadinessState = { ready: false, reason: 'joining', detail: 'no partition assignment from the group yet', partitions: 0 };
    const routes = opsRoutes({
      readiness: () => state,
      status: () => readStatus({ metrics, inflight: { records: 0, bytes: 0 }, limits: { maxRecords: 10, maxBytes: 10 }, readiness: () => state, startedAt: 0 }),
      exposition: createPrometheusExposition(metrics),
      page: { title: 'demo <topology>', svg: '<svg><g class="node step" data-id="parse"><rect/></g></svg>' },
    });
    server = await startHttpServer({ port: 0, host: '127.0.0.1', routes });
    const url = (path: string) => `http://127.0.0.1:${server?.port}${path}`;
    expect((await fetch(url('/healthz'))).status).toBe(200);
    let ready = await fetch(url('/readyz'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reason: 'joining', detail: 'no partition assignment from the group yet', partitions: 0 });
    state = { ready: true, partitions: 3 };
    ready = await fetch(url('/readyz'));
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, partitions: 3 }]);
    metrics.inc('source_records_total', { topic: 't' }, 5);
    const scraped = await fetch(url('/metrics'));
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await scraped.text()).toContain('tributary_source_records_total{topic="t"} 5');
    expect(await (await fetch(url('/status.json'))).json()).toMatchObject({ recordsRead: 5, readiness: { ready: true } });
    const page = await (await fetch(url('/'))).text();
    expect(page).toContain('<title>demo &lt;topology&gt; · Tributary</title>');
    expect(page).toContain('data-id="parse"');
    expect((await fetch(url('/nothing'))).status).toBe(404);
    expect((await fetch(url('/healthz'), { method: 'POST' })).status).toBe(405);
  });

  it('reports a port already in use', async () => {
    server = await startHttpServer({ port: 0, host: '127.0.0.1', routes: {} });
    await expect(startHttpServer({ port: server.port, host: '127.0.0.1', routes: {} })).rejects.toThrow(/EADDRINUSE/);
  });
});
