import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import { compileField, type Getter } from '../core/expression.ts';
import { checkStepId, compileFor, perRecord, rewrap, stepConfigError } from './per-record.ts';

export interface ProjectOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /**
   * Either the field paths to keep (nesting is kept: `event_data.amount` keeps
   * `{ event_data: { amount } }`), or output field names mapped to expressions (`compileField`).
   */
  readonly fields: readonly string[] | Readonly<Record<string, string | Getter>>;
}

/**
 * Keeps some fields of each record, or computes new ones.
 *
 * ```ts
 * // keep paths
 * events$.pipe(project({ id: 'slim', fields: ['user_id', 'event_data.amount'] }));
 * // { user_id: 'u1', platform: 'ios', event_data: { amount: 5, currency: 'USD' } }
 * //   -> { user_id: 'u1', event_data: { amount: 5 } }
 *
 * // rename and compute
 * events$.pipe(project({ id: 'row', fields: { user: 'user_id', amount: 'event_data.amount', big: 'event_data.amount > 100', topic: '$topic' } }));
 * ```
 *
 * A field that is missing (or an expression that yields `undefined`) is left out of the output.
 * The input value is never modified.
 * @returns the same records with projected values
 */
export function project(options: ProjectOptions): OperatorFunction<Envelope<unknown>, Envelope<Record<string, unknown>>> {
  const { id, fields } = options;
  checkStepId(id, 'project');
  if (typeof fields !== 'object' || fields === null) throw stepConfigError(id, 'option "fields" must be a list of paths or a map of names to expressions');
  const build = Array.isArray(fields) ? keepPaths(id, fields as readonly string[]) : computeFields(id, fields as Readonly<Record<string, string | Getter>>);
  return perRecord<Envelope<unknown>, Envelope<Record<string, unknown>>>((envelope, subscriber) => {
    subscriber.next(rewrap(envelope, build(envelope.value, envelope)));
  });
}

type Build = (value: unknown, envelope: Envelope<unknown>) => Record<string, unknown>;

function keepPaths(id: string, paths: readonly string[]): Build {
  if (paths.length === 0) throw stepConfigError(id, 'option "fields" lists no field');
  const problems: string[] = [];
  for (const path of paths) {
    if (typeof path !== 'string' || !/^[^.$][^.]*(\.[^.]+)*$/.test(path) || path.split('.').includes('__proto__'))
      problems.push(`fields: ${JSON.stringify(path)} is not a field path (use the map form for expressions and $ metadata)`);
  }
  if (problems.length > 0) throw stepConfigError(id, problems);
  // A path under another kept path is already kept whole (and writing into it would modify the input).
  const kept = [...new Set(paths)].filter((path) => !paths.some((other) => path.startsWith(`${other}.`)));
  const split = kept.map((path) => path.split('.'));
  return (value) => {
    const out: Record<string, unknown> = {};
    if (typeof value !== 'object' || value === null) return out;
    for (const parts of split) copyPath(value as Record<string, unknown>, out, parts);
    return out;
  };
}

function copyPath(from: Record<string, unknown>, to: Record<string, unknown>, parts: readonly string[]): void {
  let source: unknown = from;
  for (const part of parts) {
    if (typeof source !== 'object' || source === null || Array.isArray(source)) return;
    source = (source as Record<string, unknown>)[part];
  }
  if (source === undefined) return;
  let target = to;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    let next = target[part];
    if (next === undefined) target[part] = next = {};
    target = next as Record<string, unknown>;
  }
  target[parts[parts.length - 1] as string] = source;
}

function computeFields(id: string, fields: Readonly<Record<string, string | Getter>>): Build {
  const entries = Object.entries(fields);
  if (entries.length === 0) throw stepConfigError(id, 'option "fields" maps no field');
  const getters: [string, Getter][] = entries.map(([name, expression]) => {
    if (name === '' || name === '__proto__') throw stepConfigError(id, `fields: ${JSON.stringify(name)} is not a usable output name`);
    if (typeof expression === 'function') return [name, expression];
    if (typeof expression !== 'string') throw stepConfigError(id, `fields.${name}: expected an expression string`);
    return [name, compileFor(id, `fields.${name}`, () => compileField(expression))];
  });
  return (value, envelope) => {
    const out: Record<string, unknown> = {};
    for (const [name, get] of getters) {
      const x = get(value, envelope.meta);
      if (x !== undefined) out[name] = x;
    }
    return out;
  };
}
