import { ConfigError } from '../core/errors.ts';
import type { Env } from './units.ts';

/**
 * A small hand-written schema toolkit for the topology spec: checks that collect every problem with
 * its JSON-pointer path (never stopping at the first), read objects key by key and report the keys
 * nobody read as unknown, and parse durations, sizes and `${VAR}` references.
 *
 * A failed check reports a problem and yields a placeholder; a caller throws once at the end if any
 * problem was reported, so placeholders never leave the validator.
 */

export type Key = string | number;

/** Where a value sits: the displayed path (`/steps/dedup/ttl`) and the raw keys (`steps, 3, ttl`). */
export interface At {
  readonly path: string;
  readonly keys: readonly Key[];
}

export interface Problem {
  /** JSON-pointer-like, list items named by their id when they have a unique one: `/steps/dedup/ttl`. */
  readonly path: string;
  /** The raw keys to the value, list items by index: for finding a line number. */
  readonly keys: readonly Key[];
  readonly message: string;
}

export const ROOT: At = { path: '', keys: [] };

/** The location of a child; `label` replaces the key in the displayed path (a list item's id). */
export function child(parent: At, key: Key, label: string = String(key)): At {
  return { path: `${parent.path}/${label.replaceAll('~', '~0').replaceAll('/', '~1')}`, keys: [...parent.keys, key] };
}

/** `path: message`, the form `ConfigError.problems` carries. */
export function formatProblem(problem: Problem): string {
  return `${problem.path || '/'}: ${problem.message}`;
}


/** Collects problems; carries the environment for `${VAR}` references. */
export class Checker {
  readonly problems: Problem[] = [];
  readonly env: Env;
  /** Unset `${NAME}` references without a default are not problems (linting without the environment); their values are unknown. */
  readonly skipUnsetEnv: boolean;

  constructor(env: Env = {}, options: { skipUnsetEnv?: boolean } = {}) {
    this.env = env;
    this.skipUnsetEnv = options.skipUnsetEnv === true;
  }

  report(at: At, message: string): void {
    this.problems.push({ path: at.path, keys: at.keys, message });
  }

  /** Throws a `ConfigError` listing every problem, if any. */
  throwIfAny(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems.map(formatProblem));
  }
}

/** A check yields the normalized value, or reports a problem and yields a placeholder. */
export type Check<T> = (value: unknown, at: At, c: Checker) => T;

/** A JSON Schema fragment. */
export type JsonSchema = { readonly [key: string]: unknown };

/** A check that also says, as JSON Schema, what it accepts (`topology.schema.json` is built from these). */
export type Described<T> = Check<T> & { readonly schema: JsonSchema };

/** Attaches the JSON Schema of what `check` accepts. */
export function described<T>(check: Check<T>, schema: JsonSchema): Described<T> {
  return Object.assign(((value: unknown, at: At, c: Checker) => check(value, at, c)) as Check<T>, { schema });
}

/** The schema of a check, `{}` (anything) when it has none. */
export function schemaOf(check: Check<unknown>): JsonSchema {
  return (check as Partial<Described<unknown>>).schema ?? {};
}

/** The placeholder a failed check yields. */
export function invalid<T>(): T {
  return undefined as T;
}

/** A short description of a value for messages: `"five"`, `12`, `a list`, `an object`. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  return JSON.stringify(value) ?? String(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an object key by key; `done()` reports every key that was not asked for. */
export class Fields {
  readonly at: At;
  readonly #c: Checker;
  readonly #obj: Record<string, unknown>;
  readonly #known = new Set<string>();
  #skipUnknown = false;

  constructor(c: Checker, obj: Record<string, unknown>, at: At) {
    this.#c = c;
    this.#obj = obj;
    this.at = at;
  }

  has(key: string): boolean {
    this.#known.add(key);
    return this.#obj[key] !== undefined;
  }

  raw(key: string): unknown {
    this.#known.add(key);
    return this.#obj[key];
  }

  /** A required key; `hint` follows "is required" in the message. */
  req<T>(key: string, check: Check<T>, hint?: string): T {
    if (!this.has(key)) {
      this.#c.report(child(this.at, key), hint === undefined ? 'is required' : `is required (${hint})`);
      return invalid();
    }
    return check(this.#obj[key], child(this.at, key), this.#c);
  }

  opt<T>(key: string, check: Check<T>): T | undefined {
    return this.has(key) ? check(this.#obj[key], child(this.at, key), this.#c) : undefined;
  }

  def<T>(key: string, check: Check<T>, fallback: T): T {
    return this.has(key) ? check(this.#obj[key], child(this.at, key), this.#c) : fallback;
  }

  /** Reports `key` if it is set and was not read: a key of another variant (`factor` on a velocity pattern). */
  forbid(key: string, reason: string): void {
    if (this.#known.has(key)) return;
    this.#known.add(key);
    if (this.#obj[key] !== undefined) this.#c.report(child(this.at, key), reason);
  }

  /** Makes `done()` report nothing (the object's shape is unknown, say its kind is invalid). */
  skipUnknown(): void {
    this.#skipUnknown = true;
  }

  done(): void {
    if (this.#skipUnknown) return;
    const allowed = [...this.#known];
    for (const key of Object.keys(this.#obj)) {
      if (this.#known.has(key) || this.#obj[key] === undefined) continue;
      const near = closest(key, allowed);
      this.#c.report(child(this.at, key), near ? `unknown key (did you mean "${near}"?)` : `unknown key (allowed: ${allowed.join(', ')})`);
    }
  }
}

/** Opens an object for reading, or reports `must be an object`. */
export function fields(value: unknown, at: At, c: Checker): Fields | undefined {
  if (!isPlainObject(value)) {
    c.report(at, `must be an object (got ${describe(value)})`);
    return undefined;
  }
  return new Fields(c, value, at);
}

/** The allowed word nearest to `word` (edit distance at most 2, or a case-insensitive match). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, candidate);
    if (d < bestDistance && d <= Math.max(1, Math.floor(candidate.length / 3))) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length] as number;
}

/** A list of items; `min` items at least (default 1). */
export function list<T>(item: Check<T>, options: { min?: number } = {}): Described<T[]> {
  return described((value, at, c) => {
    if (!Array.isArray(value)) return fail(c, at, `must be a list (got ${describe(value)})`);
    const min = options.min ?? 1;
    if (value.length < min) return fail(c, at, min === 1 ? 'must not be empty' : `must have at least ${min} items (got ${value.length})`);
    return value.map((v, i) => item(v, child(at, i), c));
  }, { type: 'array', items: schemaOf(item), ...(options.min === 0 ? {} : { minItems: options.min ?? 1 }) });
}

/** One item or a list of them, normalized to a list. */
export function oneOrMore<T>(item: Check<T>): Described<T[]> {
  const many = list(item);
  return described((value, at, c) => (Array.isArray(value) ? many(value, at, c) : [item(value, at, c)]), { anyOf: [schemaOf(item), many.schema] });
}

/** An object with free keys (`keyCheck` checks each key), as entries in their order. */
export function entries<T>(valueCheck: Check<T>, keyCheck?: (key: string) => string | undefined, options: { min?: number } = {}): Described<[string, T][]> {
  return described((value, at, c) => {
    if (!isPlainObject(value)) return fail(c, at, `must be an object (got ${describe(value)})`);
    const out: [string, T][] = [];
    for (const [key, v] of Object.entries(value)) {
      const problem = keyCheck?.(key);
      if (problem !== undefined) c.report(child(at, key), problem);
      out.push([key, valueCheck(v, child(at, key), c)]);
    }
    if (out.length < (options.min ?? 0)) return fail(c, at, 'must not be empty');
    return out;
  }, { type: 'object', additionalProperties: schemaOf(valueCheck), ...(options.min ? { minProperties: options.min } : {}) });
}

/** Reports `message` at `at` and yields the placeholder. */
export function fail<T>(c: Checker, at: At, message: string): T {
  c.report(at, message);
  return invalid();
}
