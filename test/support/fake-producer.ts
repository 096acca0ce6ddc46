import type { OutgoingRecord, RecordProducer } from '../../src/sinks/kafka-producer.ts';

/** A producer that keeps what it is sent and answers with `answer` (every record acknowledged by default). */
export class FakeProducer implements RecordProducer {
  readonly settings = { idempotent: true, acks: -1, compression: 'lz4' as const };
  readonly sent: OutgoingRecord[] = [];
  answer: (records: readonly OutgoingRecord[]) => (Error | undefined)[] = (records) => records.map(() => undefined);
  async send(records: readonly OutgoingRecord[]): Promise<(Error | undefined)[]> {
    this.sent.push(...records);
    return this.answer(records);
  }
  async close(): Promise<void> {}
}
