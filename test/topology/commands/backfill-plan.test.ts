import { Subject, ignoreElements, lastValueFrom, merge, share, tap, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../../src/core/envelope.ts';
import type { PipelineContext } from '../../../src/runtime/context.ts';
import { backfillTopology, defaultLeadInMs, defaultLeadOutMs, excludedSinks, intervalPipeline } from '../../../src/topology/commands/backfill-plan.ts';
import { checkTopologyText } from '../../../src/topology/load.ts';
import type { ValidTopology } from '../../../src/topology/types.ts';

const { topology, problems } = checkTopologyText(
  `
name: t
sources: [{ id: events, topics: [src], group: g, eventTime: { field: timestamp } }]
deadLetters: { topic: dlq }
steps:
  - { id: parse, kind: parse, from: events }
  - { id: dedup, kind: dedup, from: parse, ttl: 30m }
  - { id: w, kind: window, from: dedup, window: { type: tumbling, size: 1h }, key: k, aggregate: { n: { fn: count } }, grace: 10m, maxOutOfOrderness: 5m }
sinks:
  - { id: put, kind: dynamodb, from: w, table: tbl, partitionKey: { name: k, value: "{key}" } }
  - { id: counter, kind: dynamodb, from: dedup, table: tbl, partitionKey: { name: k, value: "{k}" }, mode: add, attribute: n, value: "1" }
`,
  'yaml',
);
const t = topology as ValidTopology;

describe('backfill plan', () => {
  it('reads a valid topology', () => expect(problems).toEqual([]));

  it('leads in by the largest dedup ttl or window span, and out by the window span and a minute', () => {
    expect(defaultLeadInMs(t)).toBe(75 * 60_000);
    expect(defaultLeadOutMs(t)).toBe(76 * 60_000);
  });

  it('runs in its own group from committed offsets, without add counters', () => {
    expect(excludedSinks(t).map((s) => s.id)).toEqual(['counter']);
    const run = backfillTopology(t, 'g-backfill');
    expect(run.sources.map((s) => [s.group, s.startFrom])).toEqual([['g-backfill', 'committed']]);
    expect(run.sinks.map((s) => s.id)).toEqual(['put']);
  });

  it('hands the named sinks only envelopes of [from, to), releasing the others; internal writers get all', async () => {
    const seen: Record<string, number[]> = { put: [], internal: [] };
    const ctx = {
      deadLetter: () => {},
      sinkContext: {},
      toSink: (sink: { id: string }) => (source: Observable<readonly Envelope<unknown>[]>) =>
        source.pipe(
          tap((batch) => batch.forEach((e) => seen[sink.id]?.push(e.eventTimeMs as number))),
          ignoreElements(),
        ),
    } as unknown as PipelineContext;
    const leases = [5, 10, 15, 20].map(() => new CountingLease());
    const counts = { written: 0, outside: 0, deadLettersSuppressed: 0 };
    const read: number[] = [];
    const pipeline = intervalPipeline(
      (input$, c) => {
        const shared = input$.pipe(share());
        return merge(shared.pipe(c.toSink({ id: 'put' } as never)), shared.pipe(c.toSink({ id: 'internal' } as never)));
      },
      { fromMs: 10, toMs: 20, sinkIds: new Set(['put']) },
      (meta) => read.push(meta.offset),
      counts,
    );
    const input = new Subject<readonly Envelope<Buffer | null>[]>();
    const done = lastValueFrom(pipeline(input, ctx), { defaultValue: undefined });
    input.next([5, 10, 15, 20].map((ms, i) => envelopeOf<Buffer | null>(null, { offset: i }, leases[i], ms)));
    input.complete();
    await done;
    expect(seen.put).toEqual([10, 15]);
    expect(seen.internal).toEqual([5, 10, 15, 20]);
    expect(counts).toEqual({ written: 2, outside: 2, deadLettersSuppressed: 0 });
    expect(leases.map((l) => l.done)).toEqual([true, false, false, true]);
    expect(read).toEqual([0, 1, 2, 3]);
  });
});
