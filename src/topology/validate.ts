import { NAME_RE, name, oneOf, path, str, topicName } from './checks.ts';
import { checkReferences, type NodeInfo } from './references.ts';
import type { At, Described, Fields, Problem } from './schema.ts';
import { Checker, child, described, describe, fields, list, oneOrMore, ROOT } from './schema.ts';
import { SINK_KINDS, sinkKind, STEP_KINDS, stepKind } from './kinds/index.ts';
import { option, OptionReader, type KindBase, type NodeBase } from './kinds/kind.ts';
import type { InputRef, ValidSink, ValidSource, ValidStep, ValidTopology } from './types.ts';
import type { Env } from './units.ts';

export interface ValidateOptions {
  /** Values for `${VAR}` references. Default `process.env`. */
  readonly env?: Env;
  /** Unset `${VAR}` references without a default are not problems (`lint --skip-env-check`); the topology then holds unknown values. */
  readonly skipUnsetEnv?: boolean;
}

/**
 * Validates a topology spec (parsed YAML or JSON, or a `defineTopology` object) and normalizes it.
 *
 * ```ts
 * const topology = validateTopology(parse(readFileSync('topologies/game-events.yaml', 'utf8')));
 * ```
 * @returns the frozen, normalized topology
 * @throws ConfigError listing every problem as `path: message`
 */
export function validateTopology(spec: unknown, options: ValidateOptions = {}): ValidTopology {
  const c = new Checker(options.env ?? process.env, { skipUnsetEnv: options.skipUnsetEnv === true });
  const topology = check(spec, c);
  c.throwIfAny();
  return deepFreeze(topology);
}

/** Like `validateTopology`, but returns the problems (in document order) instead of throwing. */
export function checkTopology(spec: unknown, options: ValidateOptions = {}): { topology: ValidTopology | undefined; problems: readonly Problem[] } {
  const c = new Checker(options.env ?? process.env, { skipUnsetEnv: options.skipUnsetEnv === true });
  const topology = check(spec, c);
  return c.problems.length > 0 ? { topology: undefined, problems: c.problems } : { topology: deepFreeze(topology), problems: [] };
}

const SECTIONS = ['sources', 'steps', 'sinks'] as const;
type Section = (typeof SECTIONS)[number];

function check(spec: unknown, c: Checker): ValidTopology {
  const top = fields(spec, ROOT, c);
  if (!top) return undefined as never;
  const topologyName = top.req('name', name);
  const description = top.opt('description', str());
  const labels = labelItems(top, c);
  const nodes = new Map<string, NodeInfo>();

  const sources = section(top, 'sources', labels, c, (f, id) => source(f, id, topologyName, c), nodes);
  if (Array.isArray(sources)) checkSourcesAgree(sources, labels.sources, c);
  const steps = section(top, 'steps', labels, c, (f, id, at) => item<ValidStep>(f, id, at, c, 'step', nodes), nodes);
  const sinks = section(top, 'sinks', labels, c, (f, id, at) => item<ValidSink>(f, id, at, c, 'sink', nodes), nodes);
  const deadLetters = top.def('deadLetters', deadLetterTopic, { topic: 'tributary-dead-letters' });
  top.done();

  checkReferences(nodes, c);
  checkApplyOnce(nodes, c);
  checkOrderedFanIn(nodes, c);
  sortByDocument(c.problems, spec);
  return { name: topologyName, description, sources, steps, sinks, deadLetters };
}

/** Names each list item by its id when the id is valid and not taken; reports duplicates. */
function labelItems(top: Fields, c: Checker): Record<Section, string[]> {
  const claimed = new Map<string, string>();
  const labels = { sources: [] as string[], steps: [] as string[], sinks: [] as string[] };
  for (const s of SECTIONS) {
    const items = top.raw(s);
    if (!Array.isArray(items)) continue;
    items.forEach((entry: unknown, i) => {
      const id = (entry as { id?: unknown } | null)?.id;
      const valid = typeof id === 'string' && NAME_RE.test(id);
      const first = valid ? claimed.get(id) : undefined;
      if (valid && first === undefined) claimed.set(id, `/${s}/${id}`);
      labels[s].push(valid && first === undefined ? id : String(i));
      if (first !== undefined) c.report(child(child(child(ROOT, s), i), 'id'), `duplicate id "${id as string}" (first used at ${first})`);
    });
  }
  return labels;
}

type Build<T> = (f: Fields, id: string, at: At) => T;

function section<T>(top: Fields, s: Section, labels: Record<Section, string[]>, c: Checker, build: Build<T>, nodes: Map<string, NodeInfo>): T[] {
  if (s === 'steps' && !top.has(s)) return [];
  return top.req(s, list((entry, at) => {
    const index = at.keys.at(-1) as number;
    const itemAt = child(child(ROOT, s), index, labels[s][index]);
    const f = fields(entry, itemAt, c);
    if (!f) return undefined as T;
    const id = f.req('id', name);
    const value = build(f, id, itemAt);
    f.done();
    if (s === 'sources' && id !== undefined && !nodes.has(id)) nodes.set(id, { role: 'source', kind: 'kafka', at: itemAt, value: undefined, inputs: [] });
    return value;
  }));
}

function source(f: Fields, id: string, topologyName: string, c: Checker): ValidSource {
  const o = new OptionReader(f, SOURCE, c);
  return {
    id,
    topics: o.get('topics'),
    client: o.get('client'),
    group: o.has('group') ? (o.get('group') as string) : `tributary-${topologyName}-${id}`,
    format: o.get('format'),
    eventTime: o.get('eventTime'),
    startFrom: o.get('startFrom'),
  };
}

/**
 * One process is one member of one consumer group, and one consumer feeds every source,
 * demultiplexed by topic: the sources share group, client and `startFrom`, and a topic belongs to
 * one source only. Values left unknown (invalid, or an unset variable under `skipUnsetEnv`) are skipped.
 */
function checkSourcesAgree(sources: readonly (ValidSource | undefined)[], labels: readonly string[], c: Checker): void {
  const first = sources.find((s) => s !== undefined);
  const owner = new Map<string, string>();
  sources.forEach((source, i) => {
    if (source === undefined || first === undefined) return;
    const at = child(child(ROOT, 'sources'), i, labels[i]);
    const differs = (key: 'group' | 'client' | 'startFrom') => source[key] !== undefined && first[key] !== undefined && source[key] !== first[key];
    if (differs('group')) c.report(child(at, 'group'), `every source is read by one consumer group; "${source.group}" differs from "${first.group}" of source "${first.id}"`);
    if (differs('client')) c.report(child(at, 'client'), `every source is read by one client; "${source.client}" differs from "${first.client}" of source "${first.id}"`);
    if (differs('startFrom')) c.report(child(at, 'startFrom'), `every source starts alike; "${source.startFrom}" differs from "${first.startFrom}" of source "${first.id}"`);
    (Array.isArray(source.topics) ? source.topics : []).forEach((topic, t) => {
      const taken = owner.get(topic);
      if (topic === undefined) return;
      if (taken !== undefined) c.report(child(child(at, 'topics'), t), `topic "${topic}" is already read by source "${taken}"`);
      else owner.set(topic, source.id);
    });
  });
}

const eventTime: Described<ValidSource['eventTime']> = described(
  (value, at, c) => {
    if (value === 'kafka') return 'kafka';
    if (typeof value !== 'object' || value === null) {
      c.report(at, `must be kafka or { field: <path> } (got ${describe(value)})`);
      return undefined as never;
    }
    const f = fields(value, at, c) as Fields;
    const field = f.req('field', path);
    f.done();
    return { field };
  },
  { anyOf: [{ const: 'kafka' }, { type: 'object', additionalProperties: false, required: ['field'], properties: { field: { ...path.schema, description: 'A field of the parsed value: ISO-8601 or epoch ms.' } } }] },
);

/** A source's keys, declared as a kind's are (for the JSON Schema and their defaults). */
const SOURCE_OPTIONS = {
  topics: option(oneOrMore(topicName), { required: true, doc: 'The topics: one name or a list.' }),
  client: option(oneOf('platformatic', 'kafkajs'), { default: 'platformatic', doc: 'The Kafka client.' }),
  group: option(str(), { doc: 'The consumer group. Default tributary-<name>-<source id>.' }),
  format: option(oneOf('json'), { default: 'json', doc: 'The value format.' }),
  eventTime: option(eventTime, { default: 'kafka', doc: 'Event time from a field of the parsed value ({ field: <path> }, ISO-8601 or epoch ms), or the Kafka timestamp (kafka).' }),
  startFrom: option(oneOf('earliest', 'latest', 'committed'), { default: 'committed', doc: 'Where a group without committed offsets starts (committed: then latest).' }),
};

export const SOURCE: KindBase<typeof SOURCE_OPTIONS> = { kind: 'kafka', doc: 'Kafka topics read by the one consumer group of the process.', options: SOURCE_OPTIONS };

function deadLetterTopic(value: unknown, at: At, c: Checker): ValidTopology['deadLetters'] {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const topic = f.req('topic', topicName);
  f.done();
  return { topic };
}

const FROM_RE = /^([A-Za-z][A-Za-z0-9_-]*)(?:\.([A-Za-z][A-Za-z0-9_-]*))?$/;

function item<T extends ValidStep | ValidSink>(f: Fields, id: string, at: At, c: Checker, role: 'step' | 'sink', nodes: Map<string, NodeInfo>): T {
  const kinds = (role === 'step' ? STEP_KINDS : SINK_KINDS).map((k) => k.kind);
  const kind = f.req('kind', oneOf(...(kinds as [string, ...string[]])));
  const inputs: { input: InputRef; at: At }[] = [];
  const from = f.req('from', oneOrMore((value, refAt, cc) => {
    const text = str()(value, refAt, cc);
    if (text === undefined) return undefined as never;
    const m = FROM_RE.exec(text);
    if (!m) {
      cc.report(refAt, `must be a name like "dedup" or "dedup.duplicate" (got "${text}")`);
      return undefined as never;
    }
    const input: InputRef = m[2] === undefined ? { ref: text, id: m[1] as string } : { ref: text, id: m[1] as string, output: m[2] };
    inputs.push({ input, at: refAt });
    return input;
  }));
  let value: T | undefined;
  if (kind === undefined) f.skipUnknown(); // without a kind, the other keys cannot be checked
  else {
    const def = role === 'step' ? stepKind(kind) : sinkKind(kind);
    const reader = new OptionReader(f, def as KindBase, c);
    value = (def.read as (o: OptionReader<KindBase['options']>, base: NodeBase, c: Checker) => T)(reader, { id, from }, c);
    reader.finish();
  }
  if (id !== undefined && !nodes.has(id)) nodes.set(id, { role, kind, at, value, inputs });
  return value as T;
}

/**
 * `applyOnce` needs each source partition's records in offset order: every step upstream of the sink
 * must keep it (a window emits later, in key order, through a repartition topic).
 */
function checkApplyOnce(nodes: ReadonlyMap<string, NodeInfo>, c: Checker): void {
  for (const node of nodes.values()) {
    if (node.role !== 'sink' || node.kind !== 'dynamodb' || (node.value as { applyOnce?: boolean } | undefined)?.applyOnce !== true) continue;
    const seen = new Set<string>();
    const pending = node.inputs.map((i) => i.input.id);
    while (pending.length > 0) {
      const upstreamId = pending.pop() as string;
      if (seen.has(upstreamId)) continue;
      seen.add(upstreamId);
      const upstream = nodes.get(upstreamId);
      if (upstream === undefined || upstream.role !== 'step') continue;
      if (upstream.kind !== undefined && !stepKind(upstream.kind).keepsOrder) {
        c.report(child(node.at, 'applyOnce'), `needs the records in source-partition order, and "${upstreamId}" (${upstream.kind}) upstream does not keep it: read from stateless steps (filter, route, map, dedup …)`);
        break;
      }
      pending.push(...upstream.inputs.map((i) => i.input.id));
    }
  }
}

/**
 * Records move between steps in batches: a step reading two other steps gets one's batch, then the
 * other's, so the records of one source partition that took both branches reach it out of offset
 * order. Steps that apply their input by offset (durable state: `fraud`, and `window`, which keeps
 * the last offset of each upstream partition written to its repartition topic) and `applyOnce` sinks
 * skip a record at or below the last offset applied, so such a fan-in would lose records: they may
 * read several outputs of one step (kept in order), or steps fed by different topics, not two
 * branches of one topic.
 */
function checkOrderedFanIn(nodes: ReadonlyMap<string, NodeInfo>, c: Checker): void {
  const sourcesOf = new Map<string, Set<string>>();
  const upstreamSources = (id: string, seen = new Set<string>()): Set<string> => {
    const known = sourcesOf.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id);
    const found = new Set<string>();
    if (node?.role === 'source') found.add(id);
    else if (node !== undefined && !seen.has(id)) {
      seen.add(id);
      for (const { input } of node.inputs) for (const source of upstreamSources(input.id, seen)) found.add(source);
    }
    sourcesOf.set(id, found);
    return found;
  };
  for (const [id, node] of nodes) {
    if (node.value === undefined || node.kind === undefined) continue;
    const step = node.role === 'step' ? (node.value as ValidStep) : undefined;
    const byOffset =
      step !== undefined
        ? stepKind(node.kind).durable?.(step as never) === true && node.kind !== 'dedup'
        : node.role === 'sink' && (node.value as { applyOnce?: boolean }).applyOnce === true;
    if (!byOffset) continue;
    const upstream = [...new Set(node.inputs.map((i) => i.input.id))];
    pairs: for (let a = 0; a < upstream.length; a++) {
      for (let b = a + 1; b < upstream.length; b++) {
        const shared = [...upstreamSources(upstream[a] as string)].find((source) => upstreamSources(upstream[b] as string).has(source));
        if (shared === undefined) continue;
        c.report(
          child(node.at, 'from'),
          `"${id}" applies its input in offset order, and "${upstream[a]}" and "${upstream[b]}" both carry records of source "${shared}": read as two streams, one partition's records would reach it out of order and be skipped; read several outputs of one step (a route) instead`,
        );
        break pairs;
      }
    }
  }
}

/** Sorts problems by where their paths sit in the spec (stable, so one place keeps its order). */
function sortByDocument(problems: Problem[], spec: unknown): void {
  const rank = (p: Problem): number[] => {
    const out: number[] = [];
    let node: unknown = spec;
    for (const key of p.keys) {
      if (typeof key === 'number') out.push(key);
      else if (typeof node === 'object' && node !== null) {
        const keys = Object.keys(node);
        const i = keys.indexOf(key);
        out.push(i < 0 ? keys.length : i);
      } else out.push(0);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    }
    return out;
  };
  const ranked = problems.map((p, i) => ({ p, r: rank(p), i }));
  ranked.sort((a, b) => {
    for (let k = 0; k < Math.min(a.r.length, b.r.length); k++) if (a.r[k] !== b.r[k]) return (a.r[k] as number) - (b.r[k] as number);
    return a.r.length - b.r.length || a.i - b.i;
  });
  problems.splice(0, problems.length, ...ranked.map((x) => x.p));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
