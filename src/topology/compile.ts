import { asyncScheduler, EMPTY, ignoreElements, merge, share, tap, type Observable, type OperatorFunction } from 'rxjs';
import { batched } from '../operators/batched.ts';
import { filter as rxFilter, map as rxMap } from 'rxjs';
import type { Pipeline, PipelineContext, RuntimeEvent } from '../runtime/context.ts';
import type { Batch, Envelope, Routed } from '../core/envelope.ts';
import type { Sink } from '../core/sink.ts';
import { sinkKind, stepKind } from './kinds/index.ts';
import type { SinkDeps, StepDeps, StepOutput } from './kinds/kind.ts';
import { demux } from './demux.ts';
import { progressNode, repartition, repartitionKeyOf } from './repartition.ts';
import { repartitionTopic } from '../core/state.ts';
import type { InputRef, ValidSink, ValidSource, ValidStep, ValidTopology } from './types.ts';

export type { SinkDeps, StepDeps } from './kinds/kind.ts';

/** What compiled steps and sinks need from outside: clients, the clock, the run mode. */
export interface CompileDeps extends Omit<StepDeps, 'deadLetter' | 'metrics'>, SinkDeps {
  /** Partitions per source topic (from the broker): what a repartitioned window's watermark waits for. */
  readonly partitionCounts?: ReadonlyMap<string, number>;
}

/** The output name a node's main stream carries inside `Routed` tags. */
const MAIN = '';

type AnyEnvelope = Envelope<unknown>;
type NodeOutput = Observable<Batch<AnyEnvelope | Routed<unknown>>>;

/**
 * Compiles a validated topology into the runtime's `Pipeline`: sources demultiplexed from the one
 * consumer by topic, each step an RxJS operator, each sink a sink runner, wired by name. What flows
 * on every edge is a batch of records (`Batch`): one emission per batch, not per record.
 *
 * Wiring keeps the lease contract: where a node's output feeds k consumers, each envelope is
 * retained k - 1 times before it is shared; an output nobody consumes releases its envelopes.
 * Every node is subscribed, consumed or not, so no lease is left behind by an unread branch.
 *
 * ```ts
 * const pipeline = compileTopology(await loadTopologyFile('topologies/game-events.yaml'), deps);
 * await createRuntime(options).run(pipeline);
 * ```
 */
export function compileTopology(topology: ValidTopology, deps: CompileDeps): Pipeline {
  const consumers = countConsumers(topology);

  return (input$: Observable<Batch<Envelope<Buffer | null>>>, ctx: PipelineContext) => {
    const shared = new Map<string, NodeOutput>();
    const sourceById = new Map(topology.sources.map((s) => [s.id, s]));
    const stepById = new Map(topology.steps.map((s) => [s.id, s]));
    const stepDeps: StepDeps = {
      ...deps,
      deadLetter: ctx.deadLetter,
      metrics: ctx.metrics,
      assigned: ctx.events.pipe(
        rxFilter((event) => event.type === 'assigned'),
        rxMap((event) => (event.type === 'assigned' ? event.partitions : [])),
      ),
      flow: ctx.events.pipe(
        rxFilter((event): event is Extract<RuntimeEvent, { type: 'paused' | 'resumed' }> => event.type === 'paused' || event.type === 'resumed'),
        rxMap((event) => ({ paused: event.type === 'paused', partitions: event.partitions })),
      ),
      revoked: ctx.events.pipe(
        rxFilter((event) => event.type === 'revoked'),
        rxMap((event) => (event.type === 'revoked' ? event.partitions : [])),
      ),
      upstreamTopics: (id) => upstreamTopics(topology, id),
    };
    const groupId = topology.sources[0]?.group ?? '';
    // Repartition writers run beside the sinks.
    const writers: Observable<never>[] = [];

    const input = input$.pipe(share());
    // Each record goes to the readers of its topic (sources, repartition readers) only.
    const byTopic = demux(input, (envelope) => envelope.meta.topic);
    const lanes = new Map<string, (names: readonly string[]) => Observable<Batch<AnyEnvelope>>>();

    const outputOf = (id: string): NodeOutput => {
      const existing = shared.get(id);
      if (existing) return existing;
      let raw: NodeOutput;
      let mainTag: string | undefined;
      const source = sourceById.get(id);
      if (source) {
        raw = byTopic(source.topics) as NodeOutput;
      } else {
        const step = stepById.get(id) as ValidStep;
        const kind = stepKind(step);
        const recordsIn = ctx.metrics.counter('records_in_total', { step: id });
        const from = byNode(step.from);
        let inputs = from.map((node) => streamOf(node).pipe(tap((batch) => recordsIn.inc(batch.length))));
        let ownDeps = stepDeps;
        const key = repartitionKeyOf(step);
        if (ctx.state !== undefined && key === undefined && kind.durable?.(step) === true) ownDeps = { ...stepDeps, state: ctx.state.changelog(step.id) };
        if (ctx.state !== undefined && stepDeps.kafka !== undefined && key !== undefined) {
          const upstream = inputs.length === 1 ? (inputs[0] as Observable<Batch<AnyEnvelope>>) : merge(...inputs);
          const partitions = Math.max(1, ...(deps.partitionCounts?.values() ?? []));
          const tap = progressNode(topology, step);
          const progress = tap === undefined ? upstream : outputOf(tap).pipe(rxMap(envelopesOf), rxFilter((batch) => batch.length > 0));
          const through = repartition({ id: step.id, key }, groupId, upstream, byTopic([repartitionTopic(groupId, step.id)]), ctx, stepDeps.kafka, partitions, progress, stepDeps.scheduler);
          writers.push(through.writer);
          inputs = [through.records];
          const origins = [...upstreamTopics(topology, step.id)].flatMap((topic) =>
            Array.from({ length: deps.partitionCounts?.get(topic) ?? 0 }, (_, partition) => ({ topic, partition })),
          );
          ownDeps = { ...stepDeps, state: ctx.state.changelog(step.id), upstreamTopics: () => new Set([through.topic]), origins };
        }
        raw = compileStep(step, inputs, ownDeps, from.map((node) => sourceById.get(node.id)));
        mainTag = kind.mainTag;
      }
      const recordsOut = ctx.metrics.counter('records_out_total', { step: id });
      // One hop per batch: the main output untagged, counted, each lease retained per reader.
      const readers = consumers.get(id)?.byOutput;
      const out = raw.pipe(
        rxMap((batch) => {
          const items = mainTag === undefined ? batch : batch.map((tagged) => (isRouted(tagged) && tagged.output === mainTag ? tagged.envelope : tagged));
          recordsOut.inc(items.length);
          for (let i = 0; i < items.length; i++) fanOut(items[i] as AnyEnvelope | Routed<unknown>, readers);
          return items;
        }),
        share(),
      );
      shared.set(id, out);
      return out;
    };

    /** Outputs of one node, as one stream: every node's outputs are read through one subscription. */
    const streamOf = (node: NodeOutputs): Observable<Batch<AnyEnvelope>> => {
      let byOutput = lanes.get(node.id);
      if (byOutput === undefined) lanes.set(node.id, (byOutput = demux(outputOf(node.id), outputName, (item) => (isRouted(item) ? item.envelope : item))));
      return byOutput(node.outputs);
    };

    const sinks = topology.sinks.map((sinkSpec) => {
      const kind = sinkKind(sinkSpec);
      const sink = compileSink(sinkSpec, ctx, deps);
      // Files close by rotation: periodic commits must not cut them short.
      const batching = {
        ...(kind.rotates === true ? { flushOnCheckpoint: false } : {}),
        ...(kind.maxBatchRecords === undefined ? {} : { maxBatchRecords: kind.maxBatchRecords }),
      };
      return merge(...byNode(sinkSpec.from).map((node) => streamOf(node))).pipe(ctx.toSink(sink, batching));
    });
    // Nodes nobody reads still run, so that their inputs' leases are released.
    const unread = [...topology.sources.map((s) => s.id), ...topology.steps.map((s) => s.id)]
      .filter((id) => (consumers.get(id)?.total ?? 0) === 0)
      .map((id) => outputOf(id).pipe(ignoreElements()));
    const all = [...sinks, ...writers, ...unread];
    return all.length === 0 ? EMPTY : merge(...all);
  };
}

/**
 * Turns one validated step into its operator applied to its inputs (merged, for fan-in).
 * @param sources for each input, the source it is, if any (a parse step takes their event time)
 */
export function compileStep(step: ValidStep, inputs: Observable<Batch<AnyEnvelope>>[], deps: StepDeps, sources: (ValidSource | undefined)[]): StepOutput {
  const merged = () => (inputs.length === 1 ? (inputs[0] as Observable<Batch<AnyEnvelope>>) : merge(...inputs));
  return stepKind(step).compile(step, {
    inputs,
    sources,
    deps,
    scheduler: deps.scheduler ?? asyncScheduler,
    apply: (operator: OperatorFunction<AnyEnvelope, AnyEnvelope | Routed<unknown>>) => merged().pipe(batched<AnyEnvelope, AnyEnvelope | Routed<unknown>>(operator)),
  });
}

/** The envelopes of a batch, without the tagged items of named outputs (the batch itself when it has none). */
function envelopesOf(batch: Batch<AnyEnvelope | Routed<unknown>>): Batch<AnyEnvelope> {
  return batch.some(isRouted) ? batch.filter((item): item is AnyEnvelope => !isRouted(item)) : (batch as Batch<AnyEnvelope>);
}

function isRouted(item: AnyEnvelope | Routed<unknown>): item is Routed<unknown> {
  return 'output' in item && 'envelope' in item;
}

function outputName(item: AnyEnvelope | Routed<unknown>): string {
  return isRouted(item) ? item.output : MAIN;
}

interface Consumers {
  total: number;
  byOutput: Map<string, number>;
}

/** How many edges read each node's outputs. */
function countConsumers(topology: ValidTopology): Map<string, Consumers> {
  const counts = new Map<string, Consumers>();
  // A reader of one output twice gets its records once (see `byNode`).
  const edges = [...topology.steps, ...topology.sinks].flatMap((node) => byNode(node.from).flatMap(({ id, outputs }) => [...new Set(outputs)].map((output) => ({ id, output }))));
  for (const { id, output } of edges) {
    const entry = counts.get(id) ?? { total: 0, byOutput: new Map<string, number>() };
    entry.total += 1;
    entry.byOutput.set(output, (entry.byOutput.get(output) ?? 0) + 1);
    counts.set(id, entry);
  }
  return counts;
}

/** Gives each consumer of an item's output its own lease reference; releases unread outputs. */
function fanOut(item: AnyEnvelope | Routed<unknown>, byOutput: Map<string, number> | undefined): void {
  const readers = byOutput?.get(outputName(item)) ?? 0;
  const envelope = isRouted(item) ? item.envelope : item;
  if (readers === 0) envelope.lease.release();
  else if (readers > 1) envelope.lease.retain(readers - 1);
}

/** The outputs a step or sink reads of one upstream node. */
interface NodeOutputs {
  readonly id: string;
  readonly outputs: readonly string[];
}

/**
 * A `from` list grouped by upstream node, in the order the nodes first appear. Several outputs of one
 * node are read as one stream: the records of a partition then reach the reader in offset order, as
 * they left the node (two streams merged would hand over one output's batch, then the other's).
 */
function byNode(from: readonly InputRef[]): NodeOutputs[] {
  const nodes = new Map<string, string[]>();
  for (const ref of from) {
    const outputs = nodes.get(ref.id);
    if (outputs === undefined) nodes.set(ref.id, [ref.output ?? MAIN]);
    else outputs.push(ref.output ?? MAIN);
  }
  return [...nodes].map(([id, outputs]) => ({ id, outputs }));
}

/** The topics of every source upstream of `id`. */
function upstreamTopics(topology: ValidTopology, id: string): Set<string> {
  const topics = new Set<string>();
  const seen = new Set<string>();
  const visit = (nodeId: string) => {
    if (seen.has(nodeId)) return;
    seen.add(nodeId);
    const source = topology.sources.find((s) => s.id === nodeId);
    if (source) for (const topic of source.topics) topics.add(topic);
    for (const ref of topology.steps.find((s) => s.id === nodeId)?.from ?? []) visit(ref.id);
  };
  visit(id);
  return topics;
}

/** Builds the sink a validated sink spec describes. */
export function compileSink(spec: ValidSink, ctx: PipelineContext, deps: SinkDeps): Sink<unknown> {
  return sinkKind(spec).compile(spec, ctx, deps);
}
