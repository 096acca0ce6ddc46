import { map, type OperatorFunction } from 'rxjs';
import { withValue, type Envelope } from '../../../core/envelope.ts';
import { compileField } from '../../../core/expression.ts';
import { project } from '../../../operators/project.ts';
import { selection } from '../common.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';

/** Paths to keep (nesting kept), or output names mapped to expressions. */
export type FieldSelection = readonly string[] | Readonly<Record<string, string>>;

/** `project` keeps only the selected fields; `map` keeps the whole record and sets them on it. */
export interface ProjectSpec {
  readonly id: string;
  readonly kind: 'project' | 'map';
  readonly from: string | readonly string[];
  /** Paths to keep, or `{ outPath: expression }`. */
  readonly fields: FieldSelection;
}

export interface ProjectStep extends NodeBase {
  readonly kind: 'project' | 'map';
  readonly fields: FieldSelection;
}

const options = {
  fields: option(selection, { required: true, doc: 'Paths to keep (a list), or { outPath: expression }.' }),
} as const;

const describe = (step: ProjectStep) => `${Array.isArray(step.fields) ? step.fields.length : Object.keys(step.fields).length} fields`;

export const projectKind = defineStep<ProjectSpec, ProjectStep>()({
  kind: 'project',
  doc: 'Keeps only the selected fields (paths), or builds the record from { field: expression }.',
  options,
  read: (o, base) => ({ ...base, kind: 'project', fields: o.get('fields') }),
  compile: (step, io) => io.apply(project({ id: step.id, fields: step.fields })),
  describe,
  keepsOrder: true,
  synchronous: true,
});

export const mapKind = defineStep<ProjectSpec, ProjectStep>()({
  kind: 'map',
  doc: 'Keeps the whole record and sets the listed fields from their expressions.',
  options,
  read: (o, base) => ({ ...base, kind: 'map', fields: o.get('fields') }),
  compile: (step, io) => io.apply(mapFields(step.fields)),
  describe,
  keepsOrder: true,
  synchronous: true,
});

type AnyEnvelope = Envelope<unknown>;

/** `map`: the whole record, with the listed fields set from their expressions. */
function mapFields(fields: FieldSelection): OperatorFunction<AnyEnvelope, AnyEnvelope> {
  const setters = Array.isArray(fields) ? [] : Object.entries(fields as Record<string, string>).map(([name, expr]) => [name, compileField(expr)] as const);
  return map((envelope) => {
    if (setters.length === 0) return envelope;
    const value = { ...(envelope.value as Record<string, unknown>) };
    for (const [name, get] of setters) value[name] = get(envelope.value, envelope.meta);
    return withValue(envelope, value);
  });
}
