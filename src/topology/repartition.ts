/**
 * Repartitioning: a stateful step keyed differently from its input's partitioning reads its input
 * through an internal topic keyed by the step's key (the Kafka Streams design), so that every key
 * has one owner across instances and its state moves with that topic's partitions.
 */
import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { batched } from '../operators/batched.ts';
import { perRecord } from '../operators/per-record.ts';
import { EVENT_TIME_HEADER, ORIGIN_HEADER, repartitionTopic, WATERMARK_HEADER } from '../core/state.ts';
import { NO_HEADERS, partitionKey, PartitionKeys, splitPartitionNumber } from '../core/partition.ts';
import { stepKind } from './kinds/index.ts';
import type { InternalTopic } from './kinds/kind.ts';
import { NOOP_LEASE } from '../core/envelope.ts';
import { DecodeError } from '../core/errors.ts';
import { compileKey } from '../core/expression.ts';
import type { PipelineContext } from '../runtime/context.ts';
import type { Batch, Envelope, RecordOrigin } from '../core/envelope.ts';
import { PACK_HEADER, PACK_SLOTS, RepartitionSink, unpack } from '../sinks/repartition-pack.ts';
import type { KafkaConnectionOptions } from '../sources/connection.ts';
import type { ValidStep, ValidTopology } from './types.ts';

type AnyEnvelope = Envelope<unknown>;

/** The key a step's input is repartitioned by when run on Kafka, when it is. */
export function repartitionKeyOf(step: ValidStep): readonly string[] | undefined {
  return stepKind(step).repartitionKey?.(step);
}

/** The internal topics a topology needs on Kafka: repartition topics and the changelogs of durable steps. */
export function internalTopicsOf(topology: ValidTopology): InternalTopic[] {
  const group = topology.sources[0]?.group ?? '';
  return topology.steps.flatMap((step) => stepKind(step).internalTopics?.(step, group) ?? []);
}

/**
 * Writes a step's input to its repartition topic and reads it back: returns the stream the step
 * consumes and the writer to subscribe with the pipeline's sinks. Records travel in packs (see
 * `sinks/repartition-pack.ts`); read back, each carries where it was read (`origin`, so a record
 * written twice after a replay is applied once) and its event time.
 * Every `markerIntervalMs`, each upstream partition whose newest event time moved is announced to
 * every partition of the topic by a watermark marker (`tributary.watermark`), so a reader's
 * watermark waits for upstream partitions, not for the keys they happen to send it.
 * @param input the records the consumer reads from the repartition topic
 */
export function repartition(
  step: { readonly id: string; readonly key: readonly string[] },
  groupId: string,
  upstream: Observable<Batch<AnyEnvelope>>,
  input: Observable<Batch<Envelope<Buffer | null>>>,
  ctx: PipelineContext,
  kafka: KafkaConnectionOptions,
  partitions: number,
  progress: Observable<Batch<AnyEnvelope>> = upstream,
  scheduler: SchedulerLike = asyncScheduler,
  markerIntervalMs = 500,
): { readonly topic: string; readonly writer: Observable<never>; readonly records: Observable<Batch<AnyEnvelope>> } {
  const topic = repartitionTopic(groupId, step.id);
  const keyOf = step.key.length === 0 ? () => '' : compileKey(step.key);
  const marked = withMarkers(upstream, progress, partitions, scheduler, markerIntervalMs);
  const sink = new RepartitionSink(
    {
      ...kafka,
      id: `${step.id}.repartition`,
      topic,
      partitions,
      keyOf: (value) => keyOf(value) ?? '',
      unpacked: (envelope) => {
        if (!isMarker(envelope)) return undefined;
        const marker = envelope.value as Marker;
        return { partition: marker.partition, headers: { [WATERMARK_HEADER]: `${envelope.meta.topic}:${envelope.meta.partition}:${marker.eventTimeMs}` } };
      },
    },
    ctx.sinkContext,
  );
  const writer = marked.pipe(ctx.toSink(sink));
  // Each pack read becomes its records, in one loop per batch of packs.
  const read = perRecord<Envelope<Buffer | null>, AnyEnvelope>((envelope, out) => {
    const { meta } = envelope;
    const offset = meta.offset * PACK_SLOTS;
    if (meta.headers[WATERMARK_HEADER] !== undefined) return out.next({ ...envelope, meta: { ...meta, offset } });
    // One record as written before packs (an upgrade's records still in the topic).
    if (meta.headers[PACK_HEADER] === undefined) {
      let value: unknown;
      try {
        value = JSON.parse((envelope.value ?? Buffer.alloc(0)).toString());
      } catch (error) {
        return ctx.deadLetter(envelope, new DecodeError(`${topic}: not the JSON Tributary wrote`, { cause: error, stepId: step.id }), step.id);
      }
      const eventTime = Number(meta.headers[EVENT_TIME_HEADER]);
      const origin = originOf(meta.headers[ORIGIN_HEADER]);
      return out.next({
        value,
        meta: { ...meta, offset },
        lease: envelope.lease,
        ...(Number.isFinite(eventTime) ? { eventTimeMs: eventTime } : {}),
        ...(origin === undefined ? {} : { origin }),
      });
    }
    let packed;
    try {
      packed = unpack(envelope.value ?? Buffer.alloc(0));
    } catch (error) {
      return ctx.deadLetter(envelope, new DecodeError(`${topic}: not a pack Tributary wrote`, { cause: error, stepId: step.id }), step.id);
    }
    if (packed.length === 0) return envelope.lease.release();
    // The pack's one lease covers all of its records.
    envelope.lease.retain(packed.length - 1);
    const { lease } = envelope;
    for (let i = 0; i < packed.length; i++) {
      const { origin, eventTimeMs, value } = packed[i] as (typeof packed)[number];
      const unpacked = { ...meta, offset: offset + i, key: null, headers: NO_HEADERS };
      out.next(eventTimeMs === undefined ? { value, meta: unpacked, lease, origin } : { value, meta: unpacked, lease, eventTimeMs, origin });
    }
  });
  const records = input.pipe(batched(read));
  return { topic, writer, records };
}

/** `topic:partition:offset` (the header of a record written before packs) as an origin. */
function originOf(header: string | undefined): RecordOrigin | undefined {
  if (header === undefined) return undefined;
  const [topic, partition, offset] = splitPartitionNumber(header);
  if (!Number.isInteger(partition) || !Number.isInteger(offset)) return undefined;
  return { topic, partition, key: partitionKey(topic, partition), offset };
}

/** What a watermark marker envelope carries: the repartition partition it goes to and the upstream time. */
interface Marker {
  readonly marker: true;
  readonly partition: number;
  readonly eventTimeMs: number;
}

function isMarker(envelope: AnyEnvelope): boolean {
  return (envelope.value as Partial<Marker> | null)?.marker === true && envelope.lease === NOOP_LEASE;
}

/**
 * Where a repartitioned step's upstream progress is read: the nearest node upstream whose every
 * record reaches the writer synchronously or not at all (through filters, routes and reshaping), so
 * that records filtered out still move their partition's watermark, and a marker never overtakes a
 * record it covers.
 */
export function progressNode(topology: ValidTopology, step: ValidStep): string | undefined {
  let node: ValidStep | undefined = step;
  let id: string | undefined;
  while (node !== undefined && node.from.length === 1) {
    id = (node.from[0] as { id: string }).id;
    node = topology.steps.find((s) => s.id === id);
    if (node === undefined || stepKind(node).synchronous !== true) return id;
  }
  return undefined;
}

/**
 * The upstream records, and every `intervalMs` a marker per upstream partition whose newest event
 * time (read from `progress`) moved, to each repartition partition.
 */
function withMarkers(upstream: Observable<Batch<AnyEnvelope>>, progress: Observable<Batch<AnyEnvelope>>, partitions: number, scheduler: SchedulerLike, intervalMs: number): Observable<Batch<AnyEnvelope>> {
  return new Observable<Batch<AnyEnvelope>>((subscriber) => {
    const newest = new Map<string, { topic: string; partition: number; eventTimeMs: number; sent: boolean }>();
    const keys = new PartitionKeys();
    const announce = () => {
      const markers: AnyEnvelope[] = [];
      for (const origin of newest.values()) {
        if (origin.sent) continue;
        origin.sent = true;
        for (let partition = 0; partition < partitions; partition++) {
          const meta = { topic: origin.topic, partition: origin.partition, offset: -1, timestamp: origin.eventTimeMs, key: null, headers: {} };
          markers.push({ value: { marker: true, partition, eventTimeMs: origin.eventTimeMs } satisfies Marker, meta, lease: NOOP_LEASE });
        }
      }
      if (markers.length > 0) subscriber.next(markers);
    };
    const timer = scheduler.schedule(function tick() {
      announce();
      this.schedule(undefined, intervalMs);
    }, intervalMs);
    const track = (batch: Batch<AnyEnvelope>) => {
      for (const envelope of batch) trackOne(envelope);
    };
    const trackOne = (envelope: AnyEnvelope) => {
      const time = envelope.eventTimeMs;
      if (time === undefined) return;
      const key = keys.of(envelope.meta.topic, envelope.meta.partition);
      const origin = newest.get(key);
      if (origin === undefined) newest.set(key, { topic: envelope.meta.topic, partition: envelope.meta.partition, eventTimeMs: time, sent: false });
      else if (time > origin.eventTimeMs) {
        origin.eventTimeMs = time;
        origin.sent = false;
      }
    };
    // A record is tracked in the same synchronous emission that hands it to the writer (or filters it
    // out); markers go on a timer, so a marker never overtakes a record it covers.
    const tracked = progress === upstream ? undefined : progress.subscribe({ next: track, error: () => {} });
    const input = upstream.subscribe({
      next: (batch) => {
        if (tracked === undefined) track(batch);
        subscriber.next(batch);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        announce();
        subscriber.complete();
      },
    });
    return () => {
      timer.unsubscribe();
      tracked?.unsubscribe();
      input.unsubscribe();
    };
  });
}
