/** An in-memory KafkaSource for runtime unit tests: records, assignments and commits by hand. */
import type { CommitOffset, TopicPartition } from '../../src/core/partition.ts';
import type { KafkaSource, SourceHandlers } from '../../src/sources/source.ts';
import { partitionKey } from '../../src/core/partition.ts';

export class FakeSource implements KafkaSource {
  readonly client = 'platformatic' as const;
  readonly pauseGranularity = 'partition' as const;
  handlers: SourceHandlers | undefined;
  readonly paused = new Set<string>();
  readonly commits: CommitOffset[][] = [];
  /** Shared with sinks to check the order of flushes and commits. */
  readonly log: string[];
  #assigned: TopicPartition[] = [];
  stopped = false;
  closed = false;
  #started = Promise.withResolvers<void>();

  constructor(log: string[] = []) {
    this.log = log;
  }

  /** Resolves once the runtime started the source. */
  get started(): Promise<void> {
    return this.#started.promise;
  }

  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
    this.#started.resolve();
  }

  assign(partitions: TopicPartition[]): void {
    this.#assigned.push(...partitions);
    this.handlers?.onAssigned(partitions);
  }

  revoke(partitions: TopicPartition[]): void {
    const gone = new Set(partitions.map((p) => partitionKey(p.topic, p.partition)));
    this.#assigned = this.#assigned.filter((p) => !gone.has(partitionKey(p.topic, p.partition)));
    this.handlers?.onRevoked(partitions);
  }

  emit(partition: number, offset: number, value = `v${offset}`, topic = 't'): void {
    if (this.stopped) return;
    this.handlers?.onRecord({ topic, partition, offset, timestamp: 0, key: null, headers: {} }, Buffer.from(value), 0);
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.add(partitionKey(p.topic, p.partition));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.delete(partitionKey(p.topic, p.partition));
  }

  assigned(): readonly TopicPartition[] {
    return [...this.#assigned];
  }

  /** Partitions (`topic:partition`) whose commits the group refuses as fenced (the group moved on). */
  readonly fenced = new Set<string>();

  /** Commits whatever it is given (as a client committing under its current generation would), but `fenced`. */
  async commit(offsets: readonly CommitOffset[]): Promise<readonly CommitOffset[]> {
    const refused = offsets.filter((o) => this.fenced.has(partitionKey(o.topic, o.partition)));
    const landed = offsets.filter((o) => !refused.includes(o));
    const format = (list: readonly CommitOffset[]) => list.map((o) => `${o.partition}@${o.offset}`).join(',');
    if (landed.length > 0) {
      this.commits.push(landed);
      this.log.push(`commit:${format(landed)}`);
    }
    if (refused.length > 0) this.log.push(`fenced:${format(refused)}`);
    return refused;
  }

  /** The last committed offset per partition. */
  committed(): Map<number, number> {
    const result = new Map<number, number>();
    for (const batch of this.commits) for (const o of batch) result.set(o.partition, o.offset);
    return result;
  }

  /** What `highWatermarks` answers, keyed `topic:partition`. */
  watermarks = new Map<string, number>();

  async highWatermarks(): Promise<Map<string, number>> {
    return this.watermarks;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.log.push('stop');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.log.push('close');
  }
}
