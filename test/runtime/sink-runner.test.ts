import { lastValueFrom, map, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SinkOverloadError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { sinkRunner, type SinkRunnerHandle, type SinkRunnerHost } from '../../src/runtime/sink-runner.ts';
import type { Sink } from '../../src/core/sink.ts';

function host() {
  const holds = new Set<string>();
  const history: string[] = [];
  const runners = new Set<SinkRunnerHandle>();
  const h: SinkRunnerHost = {
    logger: silentLogger,
    metrics: new Metrics(),
    hold: (name) => {
      if (!holds.has(name)) history.push(`hold:${name}`);
      holds.add(name);
    },
    unhold: (name) => {
      if (holds.delete(name)) history.push(`unhold:${name}`);
    },
    register: (runner) => (runners.add(runner), () => runners.delete(runner)),
  };
  return { h, holds, history, runners };
}

class FakeSink implements Sink<number> {
  readonly id = 'fake';
  readonly batches: number[][] = [];
  readonly log: string[] = [];
  failWith: ((attempt: number) => Error | undefined) | undefined;
  gate: Promise<void> | undefined;
  attempts = 0;
  async write(batch: readonly Envelope<number>[]): Promise<void> {
    this.attempts += 1;
    const error = this.failWith?.(this.attempts);
    if (error) throw error;
    await this.gate;
    this.log.push(`write:${batch.length}`);
    this.batches.push(batch.map((e) => e.value));
    for (const e of batch) e.lease.release();
  }
  async flush(): Promise<void> {
    this.log.push('flush');
  }
  async close(): Promise<void> {}
}

/** Each record as a batch of its own. */
const one = () => map((e: Envelope<number>) => [e]);

const envelopes = (n: number, from = 0) => Array.from({ length: n }, (_, i) => envelopeOf(from + i, { offset: from + i }, new CountingLease()));

describe('sinkRunner', () => {
  it('regroups the batches it reads into write batches of maxBatchRecords, in order', async () => {
    const { h } = host();
    const sink = new FakeSink();
    const input = new Subject<readonly Envelope<number>[]>();
    const done = lastValueFrom(input.pipe(sinkRunner(sink, { maxBatchRecords: 4, lingerMs: 5 }, h)), { defaultValue: 'done' });
    const items = envelopes(11);
    input.next(items.slice(0, 10));
    input.next(items.slice(10));
    input.complete();
    await done;
    expect(sink.batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]);
    expect(items.every((e) => (e.lease as CountingLease).done)).toBe(true);
    expect(h.metrics.value('records_in_total', { step: 'fake' })).toBe(11);
  });

  it('holds the source when one batch passes maxQueuedRecords', async () => {
    const { h, history } = host();
    const sink = new FakeSink();
    let open!: () => void;
    sink.gate = new Promise<void>((resolve) => (open = resolve));
    const input = new Subject<readonly Envelope<number>[]>();
    const done = lastValueFrom(input.pipe(sinkRunner(sink, { maxBatchRecords: 2, maxQueuedRecords: 4, lingerMs: 1 }, h)), { defaultValue: 'done' });
    input.next(envelopes(5));
    expect(history).toEqual(['hold:sink:fake']);
    open();
    input.complete();
    await done;
    expect(history).toEqual(['hold:sink:fake', 'unhold:sink:fake']);
  });

  it('batches by count and writes everything, then flushes on completion', async () => {
    const { h } = host();
    const sink = new FakeSink();
    const input = new Subject<Envelope<number>>();
    const done = lastValueFrom(input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 4, lingerMs: 5 }, h)), { defaultValue: 'done' });
    const items = envelopes(10);
    for (const e of items) input.next(e);
    input.complete();
    await done;
    expect(sink.batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(sink.log.at(-1)).toBe('flush');
    expect(items.every((e) => (e.lease as CountingLease).done)).toBe(true);
    expect(h.metrics.value('records_in_total', { step: 'fake' })).toBe(10);
    expect(h.metrics.value('sink_batches_total', { step: 'fake', outcome: 'written' })).toBe(3);
    expect(h.metrics.snapshot().find((s) => s.name === 'sink_batch_latency_ms')?.value).toMatchObject({ count: 3 });
  });

  it('batches by bytes and seals a partial batch after lingerMs', async () => {
    const { h } = host();
    const sink = new FakeSink();
    const input = new Subject<Envelope<number>>();
    const sub = input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 100, maxBatchBytes: 3, lingerMs: 20, sizeOf: () => 1 }, h)).subscribe();
    for (const e of envelopes(4)) input.next(e);
    await new Promise((r) => setTimeout(r, 5));
    expect(sink.batches).toEqual([[0, 1, 2]]);
    await new Promise((r) => setTimeout(r, 60));
    expect(sink.batches).toEqual([[0, 1, 2], [3]]);
    sub.unsubscribe();
  });

  it('keeps filling a partial batch whose linger ran out while the sink was busy, and writes it when the sink is free', async () => {
    const { h } = host();
    const sink = new FakeSink();
    let open!: () => void;
    sink.gate = new Promise((resolve) => (open = resolve));
    const input = new Subject<Envelope<number>>();
    const sub = input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 100, lingerMs: 2 }, h)).subscribe();
    input.next(envelopes(1)[0] as Envelope<number>);
    await new Promise((r) => setTimeout(r, 15));
    // The first batch is being written (held at the gate); these arrive meanwhile, across several lingers.
    for (const e of envelopes(3, 1)) {
      input.next(e);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(sink.attempts).toBe(1);
    open();
    await new Promise((r) => setTimeout(r, 15));
    expect(sink.batches).toEqual([[0], [1, 2, 3]]);
    // Idle sink: a lone record is written after the linger, not held for more.
    input.next(envelopes(1, 4)[0] as Envelope<number>);
    await new Promise((r) => setTimeout(r, 15));
    expect(sink.batches).toEqual([[0], [1, 2, 3], [4]]);
    sub.unsubscribe();
  });

  it('retries the same batch after SinkOverloadError, holding the source meanwhile', async () => {
    const { h, history } = host();
    const sink = new FakeSink();
    sink.failWith = (attempt) => (attempt <= 2 ? new SinkOverloadError('busy', 10) : undefined);
    const input = new Subject<Envelope<number>>();
    const done = lastValueFrom(input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 3, lingerMs: 1 }, h)), { defaultValue: 'done' });
    for (const e of envelopes(3)) input.next(e);
    input.complete();
    await done;
    expect(sink.batches).toEqual([[0, 1, 2]]);
    expect(sink.attempts).toBe(3);
    expect(history).toEqual(['hold:sink:fake:overload', 'unhold:sink:fake:overload']);
    expect(h.metrics.value('sink_retries_total', { step: 'fake' })).toBe(2);
    // One batch, counted once: written after retries; its latency is the successful write's.
    expect(h.metrics.value('sink_batches_total', { step: 'fake', outcome: 'retried' })).toBe(1);
    expect(h.metrics.value('sink_batches_total', { step: 'fake', outcome: 'written' })).toBe(0);
    expect(h.metrics.snapshot().find((s) => s.name === 'sink_batch_latency_ms')?.value).toMatchObject({ count: 1 });
  });

  it('fails the pipeline on any other error and leaves the leases unreleased', async () => {
    const { h } = host();
    const sink = new FakeSink();
    sink.failWith = () => new Error('table missing');
    const input = new Subject<Envelope<number>>();
    const items = envelopes(2);
    const done = lastValueFrom(input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 2 }, h)), { defaultValue: 'done' });
    for (const e of items) input.next(e);
    await expect(done).rejects.toThrow('table missing');
    expect(items.some((e) => (e.lease as CountingLease).done)).toBe(false);
    expect(h.metrics.value('sink_batches_total', { step: 'fake', outcome: 'failed' })).toBe(1);
  });

  it('holds the source when its queue is full and lets go when half of it is written', async () => {
    const { h, history } = host();
    const sink = new FakeSink();
    let open!: () => void;
    sink.gate = new Promise((resolve) => (open = resolve));
    const input = new Subject<Envelope<number>>();
    const done = lastValueFrom(input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 2, maxQueuedRecords: 6, lingerMs: 1 }, h)), { defaultValue: 'done' });
    for (const e of envelopes(6)) input.next(e);
    expect(history).toEqual(['hold:sink:fake']);
    open();
    input.complete();
    await done;
    expect(history).toEqual(['hold:sink:fake', 'unhold:sink:fake']);
  });

  it('flush waits for the write under way, then flushes the sink, before later writes', async () => {
    const { h, runners } = host();
    const sink = new FakeSink();
    let open!: () => void;
    sink.gate = new Promise((resolve) => (open = resolve));
    const input = new Subject<Envelope<number>>();
    const sub = input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 2, lingerMs: 1000 }, h)).subscribe();
    for (const e of envelopes(4)) input.next(e);
    const runner = [...runners][0] as SinkRunnerHandle;
    const flushed = runner.flush();
    open();
    await flushed;
    await new Promise((r) => setTimeout(r, 5));
    expect(sink.log).toEqual(['write:2', 'flush', 'write:2']);
    sub.unsubscribe();
    expect(runners.size).toBe(0);
  });

  it('leaves a self-paced sink unflushed at periodic checkpoints, and flushes it on any other', async () => {
    const { h, runners } = host();
    const sink = new FakeSink();
    const input = new Subject<Envelope<number>>();
    const done = lastValueFrom(input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 2, lingerMs: 1, flushOnCheckpoint: false }, h)), { defaultValue: 'done' });
    for (const e of envelopes(2)) input.next(e);
    const [runner] = [...runners];
    await new Promise((r) => setTimeout(r, 20));
    await runner?.flush(true);
    expect(sink.log).toEqual(['write:2']);
    await runner?.flush();
    expect(sink.log).toEqual(['write:2', 'flush']);
    input.complete();
    await done;
    expect(sink.log).toEqual(['write:2', 'flush', 'flush']);
  });

  it('flushes an ordinary sink at periodic checkpoints too', async () => {
    const { h, runners } = host();
    const sink = new FakeSink();
    const input = new Subject<Envelope<number>>();
    const done = lastValueFrom(input.pipe(one(), sinkRunner(sink, { maxBatchRecords: 2, lingerMs: 1 }, h)), { defaultValue: 'done' });
    for (const e of envelopes(2)) input.next(e);
    await new Promise((r) => setTimeout(r, 20));
    await [...runners][0]?.flush(true);
    expect(sink.log).toEqual(['write:2', 'flush']);
    input.complete();
    await done;
  });
});
