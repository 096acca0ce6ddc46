import { rename } from '../../../operators/rename.ts';
import { oneOf, str } from '../../checks.ts';
import type { Described } from '../../schema.ts';
import { child, described, entries } from '../../schema.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';

/** Renames fields: `fields` (top-level names, `{ from: to }`) and/or `normalize` (every name, at every depth). */
export interface RenameSpec {
  readonly id: string;
  readonly kind: 'rename';
  readonly from: string | readonly string[];
  readonly fields?: Readonly<Record<string, string>>;
  readonly normalize?: 'snake_case';
}

export interface RenameStep extends NodeBase {
  readonly kind: 'rename';
  /** Top-level names, `{ from: to }`; empty for none. */
  readonly fields: Readonly<Record<string, string>>;
  readonly normalize: 'snake_case' | undefined;
}

const renameEntries = entries(str(), (k) => (k === '' || k === '__proto__' ? 'is not a usable field name' : undefined), { min: 1 });

/** `{ from: to }` of top-level field names: any non-empty names, no two mapped to one. */
const renames: Described<Record<string, string>> = described((value, at, c) => {
  const out = renameEntries(value, at, c);
  if (!out) return out;
  const seen = new Map<string, string>();
  for (const [from, to] of out) {
    if (to === '__proto__') c.report(child(at, from), 'is not a usable field name');
    const earlier = seen.get(to);
    if (earlier !== undefined) c.report(child(at, from), `"${earlier}" is renamed to "${to}" already`);
    seen.set(to, from);
  }
  return Object.fromEntries(out);
}, renameEntries.schema);

export const renameKind = defineStep<RenameSpec, RenameStep>()({
  kind: 'rename',
  doc: 'Renames fields: fields (top-level names, { from: to }) and/or normalize (every name, at every depth).',
  options: {
    fields: option(renames, { default: {}, doc: 'Top-level names, { from: to }.' }),
    normalize: option(oneOf('snake_case'), { doc: 'Rewrites every name at every depth: snake_case.' }),
  },
  read: (o, base, c) => {
    const fields = o.get('fields');
    const normalize = o.get('normalize');
    if (!o.has('fields') && !o.has('normalize')) c.report(o.at, 'needs fields (a map of names, { from: to }) or normalize: snake_case, or both');
    return { ...base, kind: 'rename', fields, normalize };
  },
  compile: (step, io) => io.apply(rename({ id: step.id, fields: step.fields, ...(step.normalize ? { normalize: step.normalize } : {}), deadLetter: io.deps.deadLetter })),
  describe: (step) => {
    const n = Object.keys(step.fields).length;
    return [n > 0 ? `${n} field${n === 1 ? '' : 's'}` : '', step.normalize ?? ''].filter(Boolean).join(', ');
  },
  deadLetters: true,
  keepsOrder: true,
});
