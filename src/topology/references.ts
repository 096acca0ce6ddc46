import { findCycles } from './graph.ts';
import type { At, Checker } from './schema.ts';
import { child, closest } from './schema.ts';
import type { InputRef, ValidSink, ValidStep } from './types.ts';
import { hasMainOutput, namedOutputs } from './types.ts';
import { sinkKind, stepKind } from './kinds/index.ts';

function kindOf(node: NodeInfo): { readonly readsSourcesOnly?: boolean; readonly readsSources?: boolean } {
  return node.role === 'sink' ? sinkKind(node.kind as string) : stepKind(node.kind as string);
}

/** Whether a node may read sources' raw records: a parse step, a sink that copies them. */
function readsSources(node: NodeInfo): boolean {
  const kind = kindOf(node);
  return kind.readsSourcesOnly === true || kind.readsSources === true;
}

/** What the reference check knows of each source, step and sink once its own fields are checked. */
export interface NodeInfo {
  readonly role: 'source' | 'step' | 'sink';
  /** `undefined` when the kind itself was invalid. */
  readonly kind: string | undefined;
  readonly at: At;
  /** The normalized step or sink; may hold placeholders where its own fields were invalid. */
  readonly value: ValidStep | ValidSink | undefined;
  readonly inputs: readonly { readonly input: InputRef; readonly at: At }[];
}

/**
 * Checks every `from`: names that exist, outputs the named step has, raw sources read only through
 * `parse` (or copied by a Kafka or s3-raw sink; s3-raw reads nothing else), no input listed twice,
 * and no cycles.
 */
export function checkReferences(nodes: ReadonlyMap<string, NodeInfo>, c: Checker): void {
  const readable = [...nodes].filter(([, n]) => n.role !== 'sink').map(([id]) => id);
  const edges: [string, string][] = [];
  for (const [id, node] of nodes) {
    const seen = new Set<string>();
    for (const { input, at } of node.inputs) {
      if (seen.has(input.ref)) {
        c.report(at, `"${input.ref}" is listed twice`);
        continue;
      }
      seen.add(input.ref);
      const problem = referenceProblem(node, input, nodes.get(input.id), readable);
      if (problem !== undefined) c.report(at, problem);
      else if (nodes.get(input.id)?.role === 'step') edges.push([input.id, id]);
    }
  }
  const stepIds = [...nodes].filter(([, n]) => n.role === 'step').map(([id]) => id);
  for (const cycle of findCycles(stepIds, edges)) {
    const first = nodes.get(cycle[0] as string) as NodeInfo;
    c.report(child(first.at, 'from'), `cycle: ${cycle.join(' -> ')}`);
  }
}

function referenceProblem(reader: NodeInfo, input: InputRef, target: NodeInfo | undefined, readable: readonly string[]): string | undefined {
  if (target === undefined) {
    const near = closest(input.id, readable);
    return near ? `unknown name "${input.id}" (did you mean "${near}"?)` : `unknown name "${input.id}" (sources and steps: ${readable.join(', ')})`;
  }
  if (target.role === 'sink') return `"${input.id}" is a sink: sinks have no outputs`;
  if (target.role === 'source') {
    if (input.output !== undefined) return `"${input.id}" is a source: sources have no named outputs`;
    if (reader.kind === undefined || readsSources(reader)) return undefined;
    return `"${input.id}" is a source of raw records: read it through a parse step`;
  }
  if (reader.kind !== undefined && kindOf(reader).readsSourcesOnly)
    return reader.role === 'sink'
      ? `an ${reader.kind} sink reads sources only, the records as they came ("${input.id}" is a step)`
      : `a ${reader.kind} step reads sources only ("${input.id}" is a step)`;
  const outputs = knownOutputs(target.value);
  if (outputs === undefined) return undefined;
  if (input.output === undefined) {
    if (target.value === undefined || hasMainOutput(target.value as ValidStep)) return undefined;
    return `step "${input.id}" has only named outputs: write ${input.id}.<output> (outputs: ${outputs.join(', ')})`;
  }
  if (outputs.includes(input.output)) return undefined;
  if (target.kind === 'dedup' && input.output === 'duplicate') return `step "${input.id}" has no output "duplicate" (set duplicates: route to get one)`;
  return outputs.length === 0
    ? `step "${input.id}" has no output "${input.output}" (it has only its main output)`
    : `step "${input.id}" has no output "${input.output}" (outputs: ${outputs.join(', ')})`;
}

/** The step's named outputs, or `undefined` when its own fields were too broken to tell. */
function knownOutputs(step: ValidStep | ValidSink | undefined): readonly string[] | undefined {
  if (step === undefined) return undefined;
  if (step.kind === 'route') {
    if (!Array.isArray(step.routes) || step.routes.some((r) => typeof r?.output !== 'string')) return undefined;
    if (step.defaultOutput !== undefined && typeof step.defaultOutput !== 'string') return undefined;
  }
  if (step.kind === 'dedup' && step.duplicates === undefined) return undefined;
  return namedOutputs(step as ValidStep);
}
