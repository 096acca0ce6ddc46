/**
 * Repartitioning: a stateful step keyed differently from its input's partitioning reads its input
 * through an internal topic keyed by the step's key (the Kafka Streams design), so that every key
 * has one owner across instances and its state moves with that topic's partitions.
 */
import { EMPTY, filter as rxFilter, mergeMap, of, type Observable } from 'rxjs';
import { changelogTopic, EVENT_TIME_HEADER, ORIGIN_HEADER, repartitionTopic } from '../core/state.ts';
import { DecodeError } from '../errors.ts';
import { compileKey } from '../operators/expression.ts';
import type { PipelineContext } from '../runtime/context.ts';
import type { Envelope } from '../runtime/envelope.ts';
import { createKafkaSink } from '../sinks/kafka.ts';
import type { KafkaConnectionOptions } from '../sources/connection.ts';
import type { ValidStep, ValidTopology, WindowStep } from './types.ts';

type AnyEnvelope = Envelope<unknown>;

/** Whether a step reads through a repartition topic when run on Kafka. */
export function isRepartitioned(step: ValidStep): step is WindowStep {
  return step.kind === 'window' && step.repartition;
}

/** The internal topics a topology needs on Kafka: repartition topics and the changelogs of durable steps. */
export function internalTopicsOf(topology: ValidTopology): { name: string; kind: 'changelog' | 'repartition'; retentionMs?: number }[] {
  const group = topology.sources[0]?.group ?? '';
  return topology.steps.flatMap((step) => {
    if (isRepartitioned(step))
      return [
        { name: repartitionTopic(group, step.id), kind: 'repartition' as const },
        { name: changelogTopic(group, step.id), kind: 'changelog' as const },
      ];
    // Dedup claims are only needed for their TTL: the changelog deletes them after it (and an hour).
    if (step.kind === 'dedup' && step.durable === undefined)
      return [{ name: changelogTopic(group, step.id), kind: 'changelog' as const, retentionMs: step.ttlMs + 3_600_000 }];
    if (step.kind === 'fraud') return [{ name: changelogTopic(group, step.id), kind: 'changelog' as const }];
    return [];
  });
}

/**
 * Writes a step's input to its repartition topic and reads it back: returns the stream the step
 * consumes and the writer to subscribe with the pipeline's sinks. Each record carries where it was
 * read (`tributary.origin`, so a record written twice after a replay is applied once) and its event
 * time (`tributary.event-time`).
 */
export function repartition(
  step: WindowStep,
  groupId: string,
  upstream: Observable<AnyEnvelope>,
  input: Observable<Envelope<Buffer | null>>,
  ctx: PipelineContext,
  kafka: KafkaConnectionOptions,
): { readonly topic: string; readonly writer: Observable<never>; readonly records: Observable<AnyEnvelope> } {
  const topic = repartitionTopic(groupId, step.id);
  const keyOf = step.key.length === 0 ? () => '' : compileKey(step.key);
  const sink = createKafkaSink<unknown>(
    {
      ...kafka,
      id: `${step.id}.repartition`,
      topic,
      key: (envelope) => keyOf(envelope.value) ?? '',
      headers: (envelope) => ({
        [ORIGIN_HEADER]: `${envelope.meta.topic}:${envelope.meta.partition}:${envelope.meta.offset}`,
        ...(envelope.eventTimeMs === undefined ? {} : { [EVENT_TIME_HEADER]: String(envelope.eventTimeMs) }),
      }),
    },
    ctx.sinkContext,
  );
  const writer = upstream.pipe(ctx.toSink(sink));
  const records = input.pipe(
    rxFilter((envelope) => envelope.meta.topic === topic),
    mergeMap((envelope) => {
      try {
        const value: unknown = JSON.parse((envelope.value ?? Buffer.alloc(0)).toString());
        const eventTime = Number(envelope.meta.headers[EVENT_TIME_HEADER]);
        return of({ ...envelope, value, ...(Number.isFinite(eventTime) ? { eventTimeMs: eventTime } : {}) } as AnyEnvelope);
      } catch (error) {
        ctx.deadLetter(envelope, new DecodeError(`${topic}: not the JSON Tributary wrote`, { cause: error, stepId: step.id }), step.id);
        return EMPTY;
      }
    }),
  );
  return { topic, writer, records };
}
