/**
 * The runtime's readiness and outage timeout, with a fake source: ready once the source started and
 * while Kafka answers, a failed commit tried again at the next checkpoint, and an outage longer
 * than its timeout failing the run with `UnavailableError`.
 */
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { CommitOffset } from '../../src/core/partition.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { FakeSource } from './fake-source.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** A source whose commits fail while `down`, as they do while the coordinator is unreachable. */
class FlakySource extends FakeSource {
  down = false;
  override async commit(offsets: readonly CommitOffset[]): Promise<readonly CommitOffset[]> {
    if (this.down) throw new Error('no group coordinator known yet');
    return super.commit(offsets);
  }
}

function setup(unavailableTimeoutMs = 60_000) {
  const source = new FlakySource();
  const runtime = createRuntime({
    source: { brokers: ['127.0.0.1:1'], groupId: 'g', topics: ['t'], unavailableTimeoutMs },
    deadLetterTopic: 'dlq',
    logger: silentLogger,
    commitIntervalMs: 60_000,
    createSource: () => source,
  });
  return { runtime, source };
}

describe('runtime health', () => {
  it('is ready once the source started and while Kafka answers; the ready gauge follows', async () => {
    const { runtime, source } = setup();
    expect(runtime.ready).toBe(false);
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink({ id: 's', write: async (b) => b.forEach((e) => e.lease.release()), flush: async () => {}, close: async () => {} })));
    await source.started;
    await tick();
    expect(runtime.ready).toBe(true);
    expect(runtime.metrics.value('ready')).toBe(1);

    runtime.health.dependency('kafka').failed(new Error('Connection closed'));
    expect(runtime.ready).toBe(false);
    expect(runtime.healthReport()).toMatchObject({ ready: false, dependencies: { kafka: { available: false, failures: 1 } } });
    runtime.health.dependency('kafka').succeeded();
    expect(runtime.ready).toBe(true);

    await runtime.shutdown();
    await done;
    expect(runtime.ready).toBe(false);
  });

  it('a commit that fails keeps the offsets for the next checkpoint, and makes Kafka unavailable until one passes', async () => {
    const { runtime, source } = setup();
    const done = runtime.run((input$) => input$);
    await source.started;
    source.assign([{ topic: 't', partition: 0 }]);
    for (let o = 0; o < 5; o++) source.emit(0, o);
    await tick(20);
    source.down = true;
    await expect(runtime.checkpoint()).rejects.toThrow('no group coordinator known yet');
    expect(runtime.ready).toBe(false);
    expect(source.committed().size).toBe(0);
    source.down = false;
    await runtime.checkpoint();
    expect(source.committed().get(0)).toBe(5);
    expect(runtime.ready).toBe(true);
    await runtime.shutdown();
    await done;
  });

  it('fails the run with UnavailableError once Kafka has been unavailable longer than its timeout', async () => {
    const { runtime, source } = setup(300);
    const done = runtime.run((input$) => input$);
    await source.started;
    runtime.health.dependency('kafka').failed(new Error('Cannot connect to any broker.'));
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).message).toMatch(/^kafka unavailable for \d+ s, longer than its outage timeout; giving up: Cannot connect to any broker\.$/);
    expect((error as UnavailableError).unavailableForMs).toBeGreaterThanOrEqual(300);
    expect(source.closed).toBe(true);
  });
});
