/**
 * The HTTP endpoints on a running pipeline against the real broker: `/readyz` is 503 until the
 * group assigns partitions, 200 once it has, 503 while a sink keeps failing (overloaded past the
 * threshold) and 200 again when it recovers, 503 while draining; `/metrics` moves as records flow.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { SinkOverloadError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Sink } from '../../src/core/sink.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { startOps } from '../../src/topology/ops.ts';
import { eventually, jsonRecords, produce } from '../runtime/support.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';

/** A sink that answers "overloaded" while `overloaded` is set. */
class SwitchableSink implements Sink<unknown> {
  readonly id = 'out';
  overloaded = false;
  written = 0;
  async write(batch: readonly Envelope<unknown>[]): Promise<void> {
    if (this.overloaded) throw new SinkOverloadError('test: overloaded', 100);
    this.written += batch.length;
    for (const e of batch) e.lease.release();
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

const metric = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? Number.NaN);

describe('operating endpoints on a running pipeline', () => {
  it('readiness follows assignment, a failing sink and draining; metrics move as records flow', async () => {
    const topic = await createTopic({ prefix: 'ops', partitions: 3 });
    const dlq = await createTopic({ prefix: 'ops-dlq', partitions: 1 });
    await produce(brokers, topic, jsonRecords(2000));
    const groupId = uniqueName('ops');
    const runtime = createRuntime({
      source: { brokers, groupId, topics: [topic], fromBeginning: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
      deadLetterTopic: dlq,
      commitIntervalMs: 1000,
      lagIntervalMs: 500,
      metricsIntervalMs: 200,
      logger: createLogger({ test: 'ops' }, 'warn'),
    });
    const ops = await startOps({ title: 'ops-test', group: groupId, svg: '<svg></svg>' }, runtime, { httpPort: 0, httpHost: '127.0.0.1', sinkFailingAfterMs: 1000 });
    const url = (path: string) => `http://127.0.0.1:${ops.server?.port}${path}`;
    const ready = async () => {
      const response = await fetch(url('/readyz'));
      return { status: response.status, body: (await response.json()) as { reason?: string; detail?: string } };
    };
    const scrape = async () => (await fetch(url('/metrics'))).text();
    const sink = new SwitchableSink();
    try {
      expect(await ready()).toMatchObject({ status: 503, body: { reason: 'joining' } });
      const before = await scrape();
      expect(metric(before, new RegExp(`tributary_source_records_total\\{topic="${topic}".*\\} (\\d+)`))).toBeNaN();

      const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { maxBatchRecords: 200, lingerMs: 20 })));
      done.catch(() => {});
      await eventually(async () => (await ready()).status === 200, 60_000, 100);
      await eventually(() => sink.written >= 2000, 60_000);
      let text = '';
      await eventually(async () => metric((text = await scrape()), new RegExp(`tributary_source_records_total\\{topic="${topic}".*\\} (\\d+)`)) === 2000, 10_000);
      expect(metric(text, /tributary_sink_batch_latency_seconds_count\{step="out".*\} (\d+)/)).toBeGreaterThan(0);
      expect(metric(text, /tributary_sink_batch_latency_seconds_bucket\{step="out",le="\+Inf".*\} (\d+)/)).toBe(metric(text, /tributary_sink_batch_latency_seconds_count\{step="out".*\} (\d+)/));
      expect(metric(text, /tributary_records_in_total\{step="out".*\} (\d+)/)).toBe(2000);
      expect(metric(text, /tributary_sink_batches_total\{step="out",outcome="written".*\} (\d+)/)).toBeGreaterThan(0);
      expect(metric(text, /tributary_nodejs_eventloop_lag_seconds\{.*\} ([\d.e-]+)/)).toBeGreaterThanOrEqual(0);
      // Per owned partition: the committed offsets add up to what was read, and the lag falls to 0.
      const perPartition = (body: string, name: string) =>
        [...body.matchAll(new RegExp(`^${name}\\{topic="${topic}",partition="(\\d)".*\\} (\\d+)$`, 'gm'))].map((m) => Number(m[2]));
      await eventually(async () => {
        const body = await scrape();
        const committed = perPartition(body, 'tributary_committed_offset');
        const lag = perPartition(body, 'tributary_partition_lag_records');
        return committed.length === 3 && committed.reduce((a, b) => a + b, 0) === 2000 && lag.length === 3 && lag.every((n) => n === 0);
      }, 20_000, 200);

      // The sink fails (overloaded, retried): not ready after the threshold, ready again once it writes.
      sink.overloaded = true;
      await produce(brokers, topic, jsonRecords(300, 2000));
      await eventually(async () => (await ready()).status === 503, 30_000, 100);
      expect((await ready()).body).toMatchObject({ reason: 'sink-failing' });
      expect((await ready()).body.detail).toMatch(/^sink out retrying for \d+ s$/);
      expect(metric(await scrape(), /tributary_sink_retries_total\{step="out".*\} (\d+)/)).toBeGreaterThan(0);
      sink.overloaded = false;
      await eventually(async () => (await ready()).status === 200, 30_000, 100);
      await eventually(() => sink.written >= 2300, 30_000);
      await eventually(async () => metric(await scrape(), new RegExp(`tributary_source_records_total\\{topic="${topic}".*\\} (\\d+)`)) === 2300, 10_000);

      // Draining: 503 from the moment the shutdown starts.
      const stopping = runtime.shutdown('test');
      const draining = await ready();
      expect(draining.status).toBe(503);
      expect(['draining', 'stopped']).toContain(draining.body.reason);
      expect((await stopping).clean).toBe(true);
      expect(await ready()).toMatchObject({ status: 503, body: { reason: 'stopped' } });
    } finally {
      await runtime.shutdown('test over');
      await ops.close();
    }
  });

  it('a member the group gives no partition (more members than partitions) is ready: waiting, not joining', async () => {
    const topic = await createTopic({ prefix: 'ops-one', partitions: 1 });
    const dlq = await createTopic({ prefix: 'ops-one-dlq', partitions: 1 });
    await produce(brokers, topic, jsonRecords(100));
    const groupId = uniqueName('ops-one');
    const members = [0, 1].map(() => {
      const runtime = createRuntime({
        source: { brokers, groupId, topics: [topic], fromBeginning: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
        deadLetterTopic: dlq,
        commitIntervalMs: 1000,
        logger: createLogger({ test: 'ops-one' }, 'warn'),
      });
      const sink = new SwitchableSink();
      const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { maxBatchRecords: 50, lingerMs: 20 })));
      done.catch(() => {});
      return { runtime, sink };
    });
    const servers = await Promise.all(members.map(({ runtime }) => startOps({ title: 'ops-one', group: groupId, svg: '<svg></svg>' }, runtime, { httpPort: 0, httpHost: '127.0.0.1' })));
    const ready = async (i: number) => {
      const response = await fetch(`http://127.0.0.1:${servers[i]?.server?.port}/readyz`);
      return { status: response.status, body: (await response.json()) as { partitions?: number } };
    };
    try {
      await eventually(async () => (await ready(0)).status === 200 && (await ready(1)).status === 200, 60_000, 200);
      const states = [await ready(0), await ready(1)];
      expect(states.map((s) => s.body.partitions).sort()).toEqual([0, 1]);
      await eventually(() => members.reduce((n, m) => n + m.sink.written, 0) >= 100, 30_000);
    } finally {
      await Promise.all(members.map(({ runtime }) => runtime.shutdown('test over')));
      await Promise.all(servers.map((ops) => ops.close()));
    }
  });
});
