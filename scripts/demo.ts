/**
 * The README's main command (`npm start`): starts the local stack, creates the platform's topics,
 * produces a sample of game events and reads them back, printing what happened.
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { localStack } from '../src/config.ts';
import { up } from './stack.ts';

const TOPICS = ['game-events', 'user-activity', 'transaction-events'] as const;
const SAMPLE = Number(process.env.DEMO_EVENTS ?? 3000);
const brokers = [...localStack().connections.brokers];

function sampleEvent(i: number) {
  const topic = TOPICS[i % 3] as (typeof TOPICS)[number];
  const user_id = `user-${(i * 7919) % 500}`;
  const event_type = topic === 'game-events' ? 'game_start' : topic === 'user-activity' ? 'user_login' : 'purchase';
  const event_data =
    event_type === 'purchase'
      ? { amount: Math.round(((i * 31) % 5000) + 99) / 100, currency: 'USD', transaction_id: randomUUID(), item_id: `item-${i % 40}` }
      : { game_id: `game-${i % 12}`, device_id: `device-${i % 900}` };
  const timestamp = new Date(Date.UTC(2026, 10, 23, 16, 0, 0) + i * 250).toISOString();
  return { topic, key: user_id, value: JSON.stringify({ event_id: randomUUID(), user_id, event_type, event_data, timestamp, game_version: '1.4.2', platform: ['ios', 'android', 'pc'][i % 3] }) };
}

async function main(): Promise<void> {
  await up();
  const admin = new Admin({ clientId: 'tributary-demo', bootstrapBrokers: brokers });
  const existing = new Set(await admin.listTopics());
  const missing = TOPICS.filter((t) => !existing.has(t));
  if (missing.length > 0) await admin.createTopics({ topics: missing, partitions: 3, replicas: 1 });
  await admin.close();
  console.log(`topics: ${TOPICS.join(', ')} (${missing.length} created)`);

  const producer = new Producer({ clientId: 'tributary-demo', bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: -1 });
  const started = Date.now();
  const events = Array.from({ length: SAMPLE }, (_, i) => sampleEvent(i));
  for (let i = 0; i < events.length; i += 500) await producer.send({ messages: events.slice(i, i + 500) });
  await producer.close();
  console.log(`produced ${SAMPLE} game events in ${Date.now() - started} ms`);

  const consumer = new Consumer({ groupId: `tributary-demo-${randomUUID()}`, clientId: 'tributary-demo', bootstrapBrokers: brokers, deserializers: stringDeserializers });
  const stream = await consumer.consume({ topics: [...TOPICS], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
  const wanted = new Set(events.map((e) => (JSON.parse(e.value) as { event_id: string }).event_id));
  const byType = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  for await (const message of stream) {
    const event = JSON.parse(message.value) as { event_id: string; event_type: string };
    if (wanted.delete(event.event_id)) byType.set(event.event_type, (byType.get(event.event_type) ?? 0) + 1);
    if (wanted.size === 0 || Date.now() > deadline) break;
  }
  await stream.close();
  await consumer.close();
  console.log(`consumed the sample back: ${[...byType].map(([t, n]) => `${t} ${n}`).join(', ')}; missing ${wanted.size}`);
  console.log('the stack keeps running: `npm run stack:down` stops it');
  process.exit(wanted.size === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
