import { delay, map, mergeAll } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRuntime, ShutdownTimeoutError, type RuntimeEvent, type RuntimeOptions } from '../../src/runtime/runtime.ts';
import type { Sink } from '../../src/core/sink.ts';
import { FakeSource } from './fake-source.ts';

/** A sink that accepts writes into a buffer and releases leases only on flush (like an S3 file). */
class BufferingSink implements Sink<unknown> {
  readonly id = 'buffering';
  held: Envelope<unknown>[] = [];
  durable: number[] = [];
  blockFlush = false;
  failWrites = false;
  readonly log: string[];
  constructor(log: string[]) {
    this.log = log;
  }
  async write(batch: readonly Envelope<unknown>[]): Promise<void> {
    if (this.failWrites) throw new Error('disk full');
    this.held.push(...batch);
  }
  async flush(): Promise<void> {
    if (this.blockFlush) await new Promise(() => {});
    this.log.push(`flush:${this.held.length}`);
    for (const e of this.held) {
      this.durable.push(e.meta.offset);
      e.lease.release();
    }
    this.held = [];
  }
  async close(): Promise<void> {
    await this.flush();
  }
}

function setup(extra: Partial<RuntimeOptions> = {}) {
  const log: string[] = [];
  const source = new FakeSource(log);
  const events: RuntimeEvent[] = [];
  const runtime = createRuntime({
    source: { brokers: ['127.0.0.1:1'], groupId: 'g', topics: ['t'] },
    deadLetterTopic: 'dlq',
    logger: silentLogger,
    commitIntervalMs: 60_000,
    createSource: () => source,
    ...extra,
  });
  runtime.events.subscribe((e) => events.push(e));
  const sink = new BufferingSink(log);
  return { runtime, source, sink, log, events };
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
/** After the records emitted so far reached the pipeline (the intake hands them over on a microtask). */
const delivered = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('runtime (fake source)', () => {
  it('commits only what the sinks made durable, flushing before committing', async () => {
    const { runtime, source, sink, log } = setup();
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 10; o++) source.emit(0, o);
    await tick(20);
    expect(sink.held.length).toBe(10);
    expect(runtime.inflight.records).toBe(10);
    await runtime.checkpoint();
    expect(log).toEqual(['flush:10', 'commit:0@10']);
    expect(runtime.inflight.records).toBe(0);
    const result = await runtime.shutdown();
    await done;
    expect(result.clean).toBe(true);
    expect(source.closed).toBe(true);
  });

  it('never commits past a record still held, even when later ones are done', async () => {
    const { runtime, source } = setup();
    const held: Envelope<Buffer | null>[] = [];
    const done = runtime.run((input$) =>
      input$.pipe(
        mergeAll(),
        map((e) => {
          if (e.meta.offset === 3) held.push(e);
          else e.lease.release();
          return null;
        }),
      ),
    );
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    // One delivery per record: each is a batch of its own, with a lease of its own.
    for (let o = 0; o < 10; o++) {
      source.emit(0, o);
      await delivered();
    }
    await runtime.checkpoint();
    expect(source.committed().get(0)).toBe(3);
    held[0]?.lease.release();
    await runtime.checkpoint();
    expect(source.committed().get(0)).toBe(10);
    await runtime.shutdown();
    await done;
  });

  it('gives the records of one delivery one lease: the commit stays at its first offset until all are done', async () => {
    const { runtime, source } = setup({ metricsIntervalMs: 5 });
    const held: Envelope<Buffer | null>[] = [];
    const done = runtime.run((input$) => input$.pipe(mergeAll(), map((e) => (held.push(e), null))));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 3; o++) source.emit(0, o);
    await delivered();
    for (let o = 3; o < 5; o++) source.emit(0, o);
    await delivered();
    expect(new Set(held.map((e) => e.lease)).size).toBe(2);
    for (const e of held.slice(0, 2)) e.lease.release();
    for (const e of held.slice(3)) e.lease.release();
    await runtime.checkpoint();
    await tick(15);
    expect(source.committed().get(0)).toBe(0);
    expect(runtime.metrics.value('inflight_records')).toBe(3);
    held[2]?.lease.release();
    await runtime.checkpoint();
    await tick(15);
    expect(source.committed().get(0)).toBe(5);
    expect(runtime.metrics.value('inflight_records')).toBe(0);
    await runtime.shutdown();
    await done;
  });

  it('pauses the assigned partitions at the in-flight bound and resumes below half of it', async () => {
    const { runtime, source, sink, events } = setup({ limits: { maxInflightRecords: 8 } });
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    for (let o = 0; o < 4; o++) {
      source.emit(0, o);
      source.emit(1, o);
    }
    expect(source.paused).toEqual(new Set(['t:0', 't:1']));
    expect(events.find((e) => e.type === 'paused')).toMatchObject({ reason: 'records', inflightRecords: 8 });
    expect(runtime.metrics.value('paused_partitions')).toBe(2);
    source.assign([{ topic: 't', partition: 2 }]);
    expect(source.paused.has('t:2')).toBe(true);
    await tick(10);
    await runtime.checkpoint();
    expect(source.paused.size).toBe(0);
    expect(events.some((e) => e.type === 'resumed')).toBe(true);
    await runtime.shutdown();
    await done;
  });

  it('while paused at the bound, flushes the sinks again for records that reached them after the first flush', async () => {
    const { runtime, source, sink, log } = setup({ limits: { maxInflightRecords: 8 }, backpressureFlushMs: 10 });
    // The records take a while to reach the sink: the flush at the moment the gate closes finds none.
    const done = runtime.run((input$, ctx) => input$.pipe(delay(30), ctx.toSink(sink, { lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 8; o++) source.emit(0, o);
    expect(source.paused.size).toBe(1);
    await tick(150);
    expect(source.paused.size).toBe(0);
    expect(log.filter((l) => l.startsWith('flush:')).slice(0, 1)).toEqual(['flush:0']);
    expect(log).toContain('flush:8');
    expect(source.committed().get(0)).toBe(8);
    await runtime.shutdown();
    await done;
  });

  it('drops records redelivered after a rejoin and records of partitions not assigned', async () => {
    const { runtime, source } = setup();
    const seen: number[] = [];
    const done = runtime.run((input$) => input$.pipe(mergeAll(), map((e) => (seen.push(e.meta.offset), e))));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (const o of [0, 1, 2, 1, 2, 3]) source.emit(0, o);
    source.emit(5, 0);
    await delivered();
    expect(seen).toEqual([0, 1, 2, 3]);
    await runtime.shutdown();
    await done;
    expect(source.committed().get(0)).toBe(4);
  });

  it("flushes a revoked partition's records but never commits it: a late commit could land after its new owner's", async () => {
    const { runtime, source, sink, log } = setup();
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    for (let o = 0; o < 3; o++) {
      source.emit(0, o);
      source.emit(1, o);
    }
    await tick(10);
    source.revoke([{ topic: 't', partition: 1 }]);
    await runtime.checkpoint();
    expect(log).toEqual(['flush:6', 'commit:0@3']);
    expect(sink.durable.length).toBe(6);
    await runtime.shutdown();
    await done;
    expect(log.some((line) => /^commit:.*\b1@/.test(line))).toBe(false);
  });

  it('a commit the group refuses as fenced is not counted: the partition is committed again while it is ours', async () => {
    const { runtime, source, sink, log, events } = setup();
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 3; o++) source.emit(0, o);
    await tick(10);
    source.fenced.add('t:0');
    await runtime.checkpoint();
    expect(log).toEqual(['flush:3', 'fenced:0@3']);
    expect(events.some((e) => e.type === 'committed')).toBe(false);
    source.fenced.clear();
    await runtime.checkpoint();
    expect(log.at(-1)).toBe('commit:0@3');
    await runtime.shutdown();
    await done;
  });

  it('hands the records delivered at once to the pipeline as one batch per partition, before a revocation', async () => {
    const { runtime, source } = setup();
    const seen: string[] = [];
    const done = runtime.run((input$, ctx) => {
      ctx.events.subscribe((event) => {
        if (event.type === 'revoked') seen.push('revoked');
      });
      return input$.pipe(map((batch) => (seen.push(batch.map((e) => `${e.meta.partition}:${e.meta.offset}`).join(' ')), batch)));
    });
    await source.started;
    source.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    for (let o = 0; o < 3; o++) {
      source.emit(0, o);
      source.emit(1, o);
    }
    expect(seen).toEqual([]);
    await delivered();
    expect(seen).toEqual(['0:0 0:1 0:2', '1:0 1:1 1:2']);
    source.emit(0, 3);
    source.revoke([{ topic: 't', partition: 0 }]);
    expect(seen.slice(2)).toEqual(['0:3', 'revoked']);
    await runtime.shutdown();
    await done;
  });

  it('releases envelopes that reach the end of the pipeline', async () => {
    const { runtime, source } = setup();
    const done = runtime.run((input$) => input$);
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    source.emit(0, 0);
    source.emit(0, 1);
    await delivered();
    expect(runtime.inflight.records).toBe(0);
    await runtime.shutdown();
    await done;
    expect(source.committed().get(0)).toBe(2);
  });

  it('on shutdown: stops fetching, drains, flushes, commits, then leaves the group', async () => {
    const { runtime, source, sink, log } = setup();
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 10_000 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 5; o++) source.emit(0, o);
    const result = await runtime.shutdown('test');
    await done;
    expect(result).toEqual({ clean: true, reason: 'test' });
    expect(log).toEqual(['stop', 'flush:5', 'commit:0@5', 'flush:0', 'close']);
    expect(sink.durable).toEqual([0, 1, 2, 3, 4]);
  });

  it('past the shutdown deadline: commits what is done and rejects run', async () => {
    const { runtime, source, sink } = setup({ shutdownTimeoutMs: 200 });
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 3; o++) source.emit(0, o);
    await tick(10);
    await runtime.checkpoint();
    for (let o = 3; o < 6; o++) source.emit(0, o);
    sink.blockFlush = true;
    const result = await runtime.shutdown();
    expect(result.clean).toBe(false);
    await expect(done).rejects.toBeInstanceOf(ShutdownTimeoutError);
    expect(source.committed().get(0)).toBe(3);
    expect(source.closed).toBe(true);
  });

  it('a sink failure fails run, commits only what is done and closes the source', async () => {
    const { runtime, source, sink } = setup();
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { maxBatchRecords: 2, lingerMs: 1 })));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    source.emit(0, 0);
    source.emit(0, 1);
    await tick(10);
    await runtime.checkpoint();
    sink.failWrites = true;
    source.emit(0, 2);
    source.emit(0, 3);
    await expect(done).rejects.toThrow('disk full');
    expect(source.committed().get(0)).toBe(2);
    expect(source.closed).toBe(true);
  });

  it('publishes source counts, in-flight gauges, commit lag and consumer lag', async () => {
    const { runtime, source } = setup({ lagIntervalMs: 10, metricsIntervalMs: 10 });
    const held: Envelope<Buffer | null>[] = [];
    const done = runtime.run((input$) => input$.pipe(mergeAll(), map((e) => (held.push(e), null))));
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    source.watermarks = new Map([['t:0', 100]]);
    // Two deliveries (two leases): the first one's records all done.
    for (let o = 0; o < 4; o++) source.emit(0, o, 'abcd');
    await delivered();
    for (let o = 4; o < 10; o++) source.emit(0, o, 'abcd');
    await delivered();
    for (const e of held.slice(0, 4)) e.lease.release();
    await runtime.checkpoint();
    await tick(40);
    const m = runtime.metrics;
    expect(m.value('source_records_total', { topic: 't' })).toBe(10);
    expect(m.value('source_bytes_total', { topic: 't' })).toBe(40);
    expect(m.value('records_out_total', { step: 'source' })).toBe(10);
    expect(m.value('inflight_records')).toBe(6);
    expect(m.value('inflight_bytes')).toBe(24);
    expect(m.value('commits_total')).toBe(1);
    expect(m.value('commit_lag_records')).toBe(6);
    expect(m.value('consumer_lag_records')).toBe(96);
    for (const e of held.slice(4)) e.lease.release();
    await runtime.shutdown();
    await done;
  });
});
