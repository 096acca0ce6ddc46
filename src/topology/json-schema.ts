/**
 * The JSON Schema of topology files, built from the kinds' declarations (`kinds/index.ts`) and the
 * sources' (`validate.ts`): editors that read `# yaml-language-server: $schema=…` complete keys,
 * show each key's doc and default, and flag unknown keys and wrong types. It describes the shape;
 * `tributary lint` checks the rest (references, expressions, cross-key rules).
 *
 * `schema/topology.schema.json` is this, written by `tributary schema --out schema/topology.schema.json`.
 */
import { name, topicName } from './checks.ts';
import { SINK_KINDS, STEP_KINDS } from './kinds/index.ts';
import type { KindBase, OptionDecl } from './kinds/kind.ts';
import type { JsonSchema } from './schema.ts';
import { SOURCE } from './validate.ts';

const FROM = {
  type: 'string',
  pattern: '^[A-Za-z][A-Za-z0-9_-]*(\\.[A-Za-z][A-Za-z0-9_-]*)?$',
  description: 'A source, a step (its main output) or <step>.<output>.',
};

/** The topology file's JSON Schema (draft-07, which editors support best). */
export function topologyJsonSchema(): JsonSchema {
  const definitions: Record<string, JsonSchema> = { source: objectSchema(SOURCE as unknown as KindBase, { id: idSchema('source') }, ['id']) };
  for (const kind of STEP_KINDS) definitions[`step.${kind.kind}`] = nodeSchema(kind as unknown as KindBase, 'step');
  for (const kind of SINK_KINDS) definitions[`sink.${kind.kind}`] = nodeSchema(kind as unknown as KindBase, 'sink');
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Tributary topology',
    description: 'Sources, steps and sinks wired by name (see the README, "Topologies"). Generated from the kinds\' declarations by `tributary schema`; do not edit.',
    type: 'object',
    additionalProperties: false,
    required: ['name', 'sources', 'sinks'],
    properties: {
      name: { ...name.schema, description: 'Labels metrics and default consumer groups.' },
      description: { type: 'string' },
      sources: { type: 'array', minItems: 1, items: { $ref: '#/definitions/source' } },
      steps: { type: 'array', items: byKind(STEP_KINDS, 'step') },
      sinks: { type: 'array', minItems: 1, items: byKind(SINK_KINDS, 'sink') },
      deadLetters: {
        type: 'object',
        additionalProperties: false,
        required: ['topic'],
        properties: { topic: { ...topicName.schema, description: 'Where records that fail parse, validation or a sink go. Default tributary-dead-letters.' } },
      },
    },
    definitions,
  };
}

/** A list item picked by its `kind`: the kind's own schema applies once `kind` names it. */
function byKind(kinds: readonly { readonly kind: string; readonly doc: string }[], role: 'step' | 'sink'): JsonSchema {
  return {
    type: 'object',
    required: ['id', 'kind', 'from'],
    properties: { kind: { enum: kinds.map((k) => k.kind), description: kinds.map((k) => `${k.kind}: ${k.doc}`).join('\n') } },
    allOf: kinds.map((k) => ({ if: { properties: { kind: { const: k.kind } }, required: ['kind'] }, then: { $ref: `#/definitions/${role}.${k.kind}` } })),
  };
}

function idSchema(role: string): JsonSchema {
  return { ...name.schema, description: `The ${role}'s name, unique in the topology.` };
}

function nodeSchema(kind: KindBase, role: 'step' | 'sink'): JsonSchema {
  const base = {
    id: idSchema(role),
    kind: { const: kind.kind },
    from: { anyOf: [FROM, { type: 'array', minItems: 1, items: FROM }], description: 'What it reads: one name or a list.' },
  };
  return { description: kind.doc, ...objectSchema(kind, base, ['id', 'kind', 'from']) };
}

function objectSchema(kind: KindBase, base: Record<string, JsonSchema>, baseRequired: readonly string[]): JsonSchema {
  const properties: Record<string, JsonSchema> = { ...base };
  for (const [key, decl] of Object.entries(kind.options)) properties[key] = optionSchema(decl);
  const required = [...baseRequired, ...Object.entries(kind.options).filter(([, d]) => d.required === true && d.for === undefined).map(([k]) => k)];
  const schema: Record<string, unknown> = { type: 'object', additionalProperties: false, required, properties };
  if (kind.variantKey !== undefined) schema.allOf = variantRules(kind, kind.variantKey);
  return schema;
}

function optionSchema(decl: OptionDecl<unknown>): JsonSchema {
  return { ...decl.check.schema, description: decl.doc, ...(decl.default === undefined ? {} : { default: decl.default }) };
}

/**
 * Per value of the variant key: the keys it requires, and the keys of other variants refused. The
 * default variant also applies when the key is absent.
 */
function variantRules(kind: KindBase, variantKey: string): JsonSchema[] {
  const decl = kind.options[variantKey] as OptionDecl<unknown>;
  const values = (decl.check.schema.enum ?? []) as string[];
  return values.map((value) => {
    const own = Object.entries(kind.options).filter(([, d]) => d.for !== undefined);
    const required = own.filter(([, d]) => d.required === true && d.for?.includes(value)).map(([k]) => k);
    const refused = own.filter(([, d]) => !d.for?.includes(value)).map(([k]) => k);
    const when = value === decl.default ? { properties: { [variantKey]: { const: value } } } : { properties: { [variantKey]: { const: value } }, required: [variantKey] };
    return {
      if: when,
      then: { ...(required.length > 0 ? { required } : {}), ...(refused.length > 0 ? { properties: Object.fromEntries(refused.map((k) => [k, false])) } : {}) },
    };
  });
}
