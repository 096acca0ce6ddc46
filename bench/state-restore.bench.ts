/**
 * How long a restarted or newly assigned member takes to restore durable state from the changelog
 * topics, on the local broker: 1M dedup claims and 100k open windows, each over 6 partitions.
 *
 *   npm run stack:up && node_modules/.bin/node bench/state-restore.bench.ts
 *   BENCH_KEYS=200000 BENCH_WINDOWS=20000 node_modules/.bin/node bench/state-restore.bench.ts
 *
 * Dedup: the claims are written as the dedup step writes them, then a fresh store judges one record
 * per partition, which reads its partition's claims back first. Windows: a window step with durable
 * state takes one event per key (100k keys, one open window each), one checkpoint writes the six
 * snapshots, then a fresh step restores them on assignment. Prints a Markdown table; writes
 * bench/out/state-restore.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { BehaviorSubject, Subject } from 'rxjs';
import { connectionsFromEnv } from '../src/config.ts';
import { ChangelogDedupStore } from '../src/operators/dedup-changelog.ts';
import { count, distinct, eventTimeFromEnvelope, tumbling, window } from '../src/operators/window.ts';
import type { Aggregator } from '../src/operators/aggregators.ts';
import { ensureInternalTopics, KafkaChangelogs } from '../src/runtime/changelog.ts';
import { envelopeOf, type Envelope } from '../src/core/envelope.ts';
import { KafkaProducer } from '../src/sinks/kafka-producer.ts';
import { createLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 100_000);
const PARTITIONS = 6;
const OUT = fileURLToPath(new URL('./out/', import.meta.url));
const connection = { brokers: [...connectionsFromEnv(process.env).brokers] };
const group = `bench-restore-${Date.now()}`;
const input = `${group}-input`;

// Internal topics get as many partitions as the largest input.
const admin = new Admin({ clientId: 'bench', bootstrapBrokers: connection.brokers });
await admin.createTopics({ topics: [input], partitions: PARTITIONS, replicas: 1 });
await ensureInternalTopics(connection, [input], [
  { name: `${group}-dedup-changelog`, kind: 'changelog', retentionMs: 7_200_000 },
  { name: `${group}-minute-changelog`, kind: 'changelog' },
]);

const producer = new KafkaProducer({ ...connection, clientId: 'bench-restore' });
const backend = () => new KafkaChangelogs({ connection, groupId: group, producer, logger: createLogger({ bench: 'restore' }, 'warn'), metrics: new Metrics() });
const rows: { what: string; items: number; bytes: number; writeMs: number; restoreMs: number }[] = [];

// Dedup claims, written in batches as the step writes them.
{
  const writer = new ChangelogDedupStore(backend().changelog('dedup'), { maxKeys: KEYS * 2 });
  const started = performance.now();
  const batch = 5000;
  for (let i = 0; i < KEYS; i += batch) {
    const claims = Array.from({ length: Math.min(batch, KEYS - i) }, (_, j) => ({ key: `event-${i + j}-${'x'.repeat(20)}`, origin: { topic: input, partition: (i + j) % PARTITIONS, offset: i + j } }));
    await writer.claim(claims, { nowMs: Date.now(), ttlMs: 3_600_000 });
  }
  const writeMs = performance.now() - started;
  const reader = new ChangelogDedupStore(backend().changelog('dedup'), { maxKeys: KEYS * 2 });
  const restoring = performance.now();
  await reader.claim(Array.from({ length: PARTITIONS }, (_, p) => ({ key: 'probe', origin: { topic: input, partition: p, offset: 1e12 } })), { nowMs: Date.now(), ttlMs: 3_600_000 });
  rows.push({ what: 'dedup claims', items: KEYS, bytes: KEYS * 60, writeMs, restoreMs: performance.now() - restoring });
}

// Windows: one open window per key, each with a distinct set of one user.
{
  const aggregators: Record<string, Aggregator<{ k: string }>> = { events: count(), users: distinct((e: { k: string }) => e.k) };
  const run = (changelogs: KafkaChangelogs, assigned: BehaviorSubject<{ topic: string; partition: number }[]>) => {
    const events = new Subject<Envelope<{ k: string }>>();
    const sub = events
      .pipe(
        window({ id: 'minute', window: tumbling({ sizeMs: 60_000 }), key: (e: { k: string }) => e.k, eventTime: eventTimeFromEnvelope(), aggregators, deadLetter: () => {}, state: changelogs.changelog('minute'), partitions: assigned }),
      )
      .subscribe();
    return { events, stop: () => sub.unsubscribe() };
  };
  const first = backend();
  const writer = run(first, new BehaviorSubject<{ topic: string; partition: number }[]>([]));
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < WINDOWS; i++) writer.events.next(envelopeOf({ k: `game-${i}` }, { topic: input, partition: i % PARTITIONS, offset: Math.floor(i / PARTITIONS) }, undefined, t0 + (i % 1000)));
  await new Promise((resolve) => setTimeout(resolve, 500)); // restores (empty) resolve, queued events apply
  const started = performance.now();
  await first.checkpoint();
  const writeMs = performance.now() - started;
  writer.stop();
  const second = backend();
  const restores: Promise<unknown>[] = [];
  const changelog = second.changelog('minute');
  const original = changelog.restore.bind(changelog);
  (changelog as { restore: typeof changelog.restore }).restore = (p, choose) => {
    const promise = original(p, choose);
    restores.push(promise);
    return promise;
  };
  const restoring = performance.now();
  const reader = run(second, new BehaviorSubject(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }))));
  await Promise.all(restores);
  await new Promise((resolve) => setImmediate(resolve)); // the restored snapshots are decoded and loaded
  rows.push({ what: 'open windows', items: WINDOWS, bytes: 0, writeMs, restoreMs: performance.now() - restoring });
  reader.stop();
  await second.close();
  await first.close();
}

await producer.close();
await admin.deleteTopics({ topics: [input, `${group}-dedup-changelog`, `${group}-minute-changelog`] }).catch(() => {});
await admin.close();
mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}state-restore.json`, JSON.stringify(rows, null, 2));
console.log('| state | items | write (ms) | restore (ms) |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.what} | ${r.items.toLocaleString('en')} | ${r.writeMs.toFixed(0)} | ${r.restoreMs.toFixed(0)} |`);
