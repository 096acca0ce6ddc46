/**
 * The run's input: generated traffic produced to fresh topics, then one "tick" per partition of the
 * windowed topics, stamped two minutes past the stream's end, so that every window closes on event
 * time and the consumer can catch up without waiting for processing-time idleness.
 */
import { Admin, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { localStack } from '../../src/config.ts';
import { PRODUCED_AT_HEADER, produce, type ProduceReport } from '../generator/produce.ts';

/** Records per partition of these topics that the last open window holds uncommitted at the end. */
export const holdBackOf = (topics: Record<string, string>) => Object.fromEntries(TICK_TOPICS.map((t) => [topics[t] as string, 1]));

/** The game id of the ticks: window rows under it are not compared with the ground truth. */
export const TICK_GAME = 'bench-tick';
// Every topic: the window registers every assigned partition, and one that never reaches it holds its
// watermark back until the idle timeout (1 min by default).
const TICK_TOPICS = ['game-events', 'user-activity', 'transaction-events'] as const;

export interface Input extends ProduceReport {
  /** Records in the topics, ticks included. */
  expected: number;
  ticks: number;
  eventsPerSecond: number;
}

/** Event-time rate that leaves room for every fraud case: about 800 s of event time, at most 500/s. */
export const eventTimeRate = (events: number) => Math.min(500, Math.max(1, Math.floor(events / 800)));

export async function produceInput(o: { events: number; seed: number; prefix: string; out?: string; rate?: number }): Promise<Input> {
  const eventsPerSecond = eventTimeRate(o.events);
  const report = await produce({ events: o.events, seed: o.seed, eventsPerSecond, topicPrefix: o.prefix, ...(o.out ? { out: o.out } : {}), ...(o.rate ? { rate: o.rate } : {}) });
  const ticks = await produceTicks(report);
  return { ...report, expected: report.records + ticks, ticks, eventsPerSecond };
}

async function produceTicks(report: ProduceReport): Promise<number> {
  const brokers = [...localStack().connections.brokers];
  const admin = new Admin({ clientId: 'bench-e2e-ticks', bootstrapBrokers: brokers });
  const topics = TICK_TOPICS.map((t) => report.topics[t]);
  const metadata = await admin.metadata({ topics });
  await admin.close();
  const end = Date.parse(report.truth.time.endExclusive);
  // Round 1 closes every window of the stream; round 2 closes round 1's window. Round 2's own window
  // stays open (nothing moves event time past it), holding its records' offsets: the run is done when
  // every partition is committed up to its last record but that one (see `holdBack`).
  const messages = [1, 2].flatMap((round) =>
    [...metadata.topics.entries()].flatMap(([topic, t]) =>
      Array.from({ length: t.partitionsCount }, (_, partition) => ({
        topic,
        partition,
        key: TICK_GAME,
        headers: new Map([[PRODUCED_AT_HEADER, String(Date.now())]]),
        value: JSON.stringify({ event_id: `${TICK_GAME}-${round}-${topic}-${partition}`, user_id: TICK_GAME, event_type: 'game_start', event_data: { game_id: TICK_GAME }, timestamp: new Date(end + round * 240_000).toISOString(), platform: 'pc', game_version: '0' }),
      })),
    ),
  );
  const producer = new Producer({ clientId: 'bench-e2e-ticks', bootstrapBrokers: brokers, serializers: stringSerializers, acks: ProduceAcks.LEADER });
  await producer.send({ messages });
  await producer.close();
  return messages.length;
}
