/**
 * The writer of a repartition topic, and the format it writes: records packed per target partition
 * and upstream partition, one Kafka record per pack (`tributary.pack: 1`).
 *
 * A Kafka record carries a fixed cost on every side (the producer's framing, the broker's append,
 * the consumer's decoding, header objects), which a per-record repartition topic paid for each
 * event going to a re-keyed window. A pack pays it once for up to `PACK_SLOTS` records:
 * `{"o":"topic:partition","r":[[offset,eventTimeMs|null,value],…]}`, in upstream order.
 *
 * Records unpacked on the reading side get `offset = packOffset * PACK_SLOTS + index` (and every
 * other record of the topic `offset * PACK_SLOTS`), so that offsets stay unique and increasing per
 * repartition partition: the durable window applies each record once by that order.
 */
import { murmur2 } from '@platformatic/kafka';
import type { Envelope, RecordOrigin } from '../core/envelope.ts';
import { partitionKey, PartitionKeys } from '../core/partition.ts';
import { SinkPermanentError } from '../core/errors.ts';
import { stringifyJson } from '../core/json.ts';
import type { Sink, SinkContext } from '../core/sink.ts';
import { KafkaProducer, sendForSink, type OutgoingRecord, type RecordProducer } from './kafka-producer.ts';
import type { KafkaConnectionOptions } from '../sources/connection.ts';

/** Header of a pack record; its value is the format version. */
export const PACK_HEADER = 'tributary.pack';
/** Records per pack at most, and the factor of unpacked offsets. */
export const PACK_SLOTS = 4096;
/** A pack is closed before it passes this many bytes of JSON (the broker's default limit is 1 MiB). */
export const PACK_MAX_BYTES = 256 * 1024;

const KEY_CACHE = 10_000;

/** A record the writer sends on its own: a watermark marker to one partition, with its headers. */
export interface Unpacked {
  readonly partition: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface RepartitionSinkOptions extends KafkaConnectionOptions {
  readonly id: string;
  readonly topic: string;
  /** Partitions of the topic. */
  readonly partitions: number;
  /** The record's key under the step (hashed as Kafka's default partitioner does). */
  readonly keyOf: (value: unknown) => string;
  /** Records that are not packed (watermark markers), with where they go. */
  readonly unpacked?: (envelope: Envelope<unknown>) => Unpacked | undefined;
}

/** The partition @platformatic/kafka's default partitioner gives `key` (unsigned murmur2 modulo the partitions). */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) >>> 0) % partitions;
}

interface Pack {
  readonly partition: number;
  readonly origin: string;
  readonly entries: string[];
  readonly envelopes: Envelope<unknown>[];
  bytes: number;
}

/** One outgoing record and the envelopes it carries. */
interface Outgoing {
  readonly record: OutgoingRecord;
  readonly envelopes: readonly Envelope<unknown>[];
}

export class RepartitionSink implements Sink<unknown> {
  readonly id: string;
  readonly #o: RepartitionSinkOptions;
  readonly #context: SinkContext;
  readonly #producer: RecordProducer;
  readonly #headers: Readonly<Record<string, string>> = Object.freeze({ [PACK_HEADER]: '1' });
  readonly #partitions = new Map<string, number>();

  /** `producer` replaces the default one (tests). */
  constructor(options: RepartitionSinkOptions, context: SinkContext, producer?: RecordProducer) {
    this.id = options.id;
    this.#o = options;
    this.#context = context;
    const dependency = options.dependency ?? context.health?.dependency('kafka');
    this.#producer =
      producer ??
      // Uncompressed, as Kafka Streams writes its repartition topics: lz4 here and on the reading side
      // cost the main thread more than packing the records.
      new KafkaProducer({ ...options, clientId: options.clientId ?? `tributary-${options.id}`, compression: 'none', ...(dependency === undefined ? {} : { dependency }) });
  }

  async write(batch: readonly Envelope<unknown>[]): Promise<void> {
    const out = this.pack(batch);
    if (out.length === 0) return;
    const outcomes = await sendForSink(this.#producer, out.map((o) => o.record), this.id, this.#o.unavailableTimeoutMs);
    let written = 0;
    out.forEach(({ envelopes }, i) => {
      const refused = outcomes[i];
      for (const envelope of envelopes) {
        if (refused === undefined) {
          written += 1;
          envelope.lease.release();
        } else this.#context.deadLetter(envelope, new SinkPermanentError(`broker refused the pack: ${refused.message}`, { cause: refused, stepId: this.id }), this.id);
      }
    });
    if (written > 0) this.#context.metrics.inc('sink_records_total', { step: this.id }, written);
  }

  /**
   * The batch as outgoing records, in an order that keeps, per target partition, every record of an
   * upstream partition before any later record or marker of the batch.
   */
  pack(batch: readonly Envelope<unknown>[]): Outgoing[] {
    const { topic, keyOf, unpacked } = this.#o;
    const out: Outgoing[] = [];
    // The open packs by upstream partition (`topic:partition`), then by target partition.
    const open = new Map<string, Map<number, Pack>>();
    const origins = new PartitionKeys();
    const close = (pack: Pack) => {
      open.get(pack.origin)?.delete(pack.partition);
      const value = Buffer.from(`{"o":${JSON.stringify(pack.origin)},"r":[${pack.entries.join(',')}]}`);
      out.push({ record: { topic, partition: pack.partition, key: null, value, headers: this.#headers }, envelopes: pack.envelopes });
    };
    const closeFor = (partition: number) => {
      for (const packs of open.values()) {
        const pack = packs.get(partition);
        if (pack !== undefined) close(pack);
      }
    };
    for (const envelope of batch) {
      const alone = unpacked?.(envelope);
      if (alone !== undefined) {
        closeFor(alone.partition);
        out.push({ record: { topic, partition: alone.partition, key: null, value: null, headers: alone.headers }, envelopes: [envelope] });
        continue;
      }
      let entry: string;
      let partition: number;
      try {
        partition = this.#partitionOf(keyOf(envelope.value));
        entry = `[${envelope.meta.offset},${envelope.eventTimeMs ?? 'null'},${stringifyJson(envelope.value) ?? 'null'}]`;
      } catch (error) {
        const reason = `cannot encode the record: ${error instanceof Error ? error.message : String(error)}`;
        this.#context.deadLetter(envelope, new SinkPermanentError(reason, { cause: error, stepId: this.id, summary: reason }), this.id);
        continue;
      }
      const origin = origins.of(envelope.meta.topic, envelope.meta.partition);
      let packs = open.get(origin);
      if (packs === undefined) open.set(origin, (packs = new Map()));
      let pack = packs.get(partition);
      if (pack !== undefined && (pack.entries.length >= PACK_SLOTS || pack.bytes + entry.length > PACK_MAX_BYTES)) {
        close(pack);
        pack = undefined;
      }
      if (pack === undefined) {
        pack = { partition, origin, entries: [], envelopes: [], bytes: 0 };
        packs.set(partition, pack);
      }
      pack.entries.push(entry);
      pack.envelopes.push(envelope);
      pack.bytes += entry.length + 1;
    }
    for (const packs of open.values()) for (const pack of [...packs.values()]) close(pack);
    return out;
  }

  /** Window keys repeat (a game, a user): their partitions are remembered, up to `KEY_CACHE` keys. */
  #partitionOf(key: string): number {
    let partition = this.#partitions.get(key);
    if (partition === undefined) {
      if (this.#partitions.size >= KEY_CACHE) this.#partitions.clear();
      partition = partitionOf(key, this.#o.partitions);
      this.#partitions.set(key, partition);
    }
    return partition;
  }

  /** Nothing is buffered: `write` resolves after the broker acknowledged. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.#producer.close();
  }
}

/** One record read back from a pack. */
export interface PackedRecord {
  /** Where it was read before repartitioning. */
  readonly origin: RecordOrigin;
  readonly eventTimeMs: number | undefined;
  readonly value: unknown;
}

/**
 * The records of a pack, in the order they were written.
 * @throws SyntaxError or TypeError for a value that is not a pack this writer wrote
 */
export function unpack(value: Buffer): PackedRecord[] {
  const pack = JSON.parse(value.toString()) as { o?: unknown; r?: unknown };
  if (typeof pack.o !== 'string' || !Array.isArray(pack.r) || pack.r.length > PACK_SLOTS) throw new TypeError('not a repartition pack');
  const cut = pack.o.lastIndexOf(':');
  const topic = pack.o.slice(0, cut);
  const partition = Number(pack.o.slice(cut + 1));
  if (cut < 0 || !Number.isInteger(partition)) throw new TypeError('not a repartition pack origin');
  const key = partitionKey(topic, partition);
  return pack.r.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== 'number') throw new TypeError('not a repartition pack entry');
    const eventTimeMs = typeof entry[1] === 'number' ? entry[1] : undefined;
    return { origin: { topic, partition, key, offset: entry[0] }, eventTimeMs, value: entry[2] as unknown };
  });
}
