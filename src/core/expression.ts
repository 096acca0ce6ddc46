import { ConfigError } from './errors.ts';
import type { RecordMeta } from './envelope.ts';
import { stringifyJson } from './json.ts';

/**
 * The one expression form shared by operators and the topology spec, compiled once to closures
 * (never `eval`). Field paths (`event_data.amount`), literals (`'purchase'`, `100`, `true`, `null`),
 * comparisons (`== != < <= > >=`), `in [..]` / `not in [..]`, `exists(path)`, `and`/`or`/`not`
 * (or `&& || !`) and parentheses. `$topic`, `$partition`, `$offset`, `$timestamp` and `$key` read
 * the Kafka record's metadata.
 *
 * ```ts
 * const isBigPurchase = compilePredicate("event_type == 'purchase' and event_data.amount > 100");
 * isBigPurchase({ event_type: 'purchase', event_data: { amount: 250 } }); // true
 * ```
 *
 * Comparisons never coerce: `<`/`>` hold only between two numbers or two strings, `==` is strict.
 * A missing field reads as `undefined`, so `event_data.amount > 100` is false when there is none.
 */
export type Predicate = (value: unknown, meta?: RecordMeta) => boolean;
export type Getter = (value: unknown, meta?: RecordMeta) => unknown;

type Token =
  | { kind: 'path'; text: string; at: number }
  | { kind: 'literal'; value: unknown; at: number }
  | { kind: 'op'; text: string; at: number }
  | { kind: 'end'; at: number };

const WORD_OPS: Readonly<Record<string, string>> = { and: '&&', or: '||', not: '!', in: 'in' };
const LITERAL_WORDS: Readonly<Record<string, unknown>> = { true: true, false: false, null: null };
const META_FIELDS = new Set(['$topic', '$partition', '$offset', '$timestamp', '$key']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\$?[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)|(==|!=|<=|>=|&&|\|\||[<>!()[\],-]))/y;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) throw syntax(source, at + (source.slice(at).length - source.slice(at).trimStart().length), 'unexpected character');
    const start = at + (m[0].length - m[0].trimStart().length);
    at = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'literal', value: Number(m[1]), at: start });
    else if (m[2] !== undefined || m[3] !== undefined)
      tokens.push({ kind: 'literal', value: (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'), at: start });
    else if (m[4] !== undefined) {
      const word = m[4];
      if (word in WORD_OPS) tokens.push({ kind: 'op', text: WORD_OPS[word] as string, at: start });
      else if (word in LITERAL_WORDS) tokens.push({ kind: 'literal', value: LITERAL_WORDS[word], at: start });
      else tokens.push({ kind: 'path', text: word, at: start });
    } else tokens.push({ kind: 'op', text: m[5] as string, at: start });
  }
  tokens.push({ kind: 'end', at: source.length });
  return tokens;
}

function syntax(source: string, at: number, message: string): ConfigError {
  return new ConfigError(`${message} at column ${at + 1} in "${source}"`);
}

/** Recursive descent over the tokens, building closures as it goes. */
class Parser {
  #i = 0;
  readonly #tokens: Token[];
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
    this.#tokens = tokenize(source);
  }

  parse(): Getter {
    const expr = this.#or();
    const next = this.#peek();
    if (next.kind !== 'end') throw syntax(this.#source, next.at, 'unexpected token');
    return expr;
  }

  #peek(): Token {
    return this.#tokens[this.#i] as Token;
  }

  #isOp(text: string): boolean {
    const t = this.#peek();
    return t.kind === 'op' && t.text === text;
  }

  #expect(text: string): void {
    if (!this.#isOp(text)) throw syntax(this.#source, this.#peek().at, `expected "${text}"`);
    this.#i++;
  }

  #or(): Getter {
    let left = this.#and();
    while (this.#isOp('||')) {
      this.#i++;
      const a = left;
      const b = this.#and();
      left = (v, m) => truthy(a(v, m)) || truthy(b(v, m));
    }
    return left;
  }

  #and(): Getter {
    let left = this.#not();
    while (this.#isOp('&&')) {
      this.#i++;
      const a = left;
      const b = this.#not();
      left = (v, m) => truthy(a(v, m)) && truthy(b(v, m));
    }
    return left;
  }

  #not(): Getter {
    if (this.#isOp('!')) {
      this.#i++;
      const inner = this.#not();
      return (v, m) => !truthy(inner(v, m));
    }
    return this.#comparison();
  }

  #comparison(): Getter {
    const left = this.#value();
    const t = this.#peek();
    if (t.kind !== 'op') return left;
    if (t.text === 'in' || (t.text === '!' && this.#tokens[this.#i + 1]?.kind === 'op' && (this.#tokens[this.#i + 1] as { text: string }).text === 'in')) {
      const negate = t.text === '!';
      this.#i += negate ? 2 : 1;
      const options = new Set(this.#list());
      return negate ? (v, m) => !options.has(left(v, m)) : (v, m) => options.has(left(v, m));
    }
    const compare = COMPARATORS[t.text];
    if (!compare) return left;
    this.#i++;
    const right = this.#value();
    return (v, m) => compare(left(v, m), right(v, m));
  }

  #list(): unknown[] {
    this.#expect('[');
    const items: unknown[] = [];
    while (!this.#isOp(']')) {
      if (items.length > 0) this.#expect(',');
      items.push(this.#literal());
    }
    this.#i++;
    return items;
  }

  #literal(): unknown {
    const negative = this.#isOp('-');
    if (negative) this.#i++;
    const t = this.#peek();
    if (t.kind !== 'literal' || (negative && typeof t.value !== 'number'))
      throw syntax(this.#source, t.at, 'expected a literal (string, number, true, false or null)');
    this.#i++;
    return negative ? -(t.value as number) : t.value;
  }

  #value(): Getter {
    const t = this.#peek();
    if (t.kind === 'op' && t.text === '(') {
      this.#i++;
      const inner = this.#or();
      this.#expect(')');
      return inner;
    }
    if (t.kind === 'path' && t.text === 'exists' && this.#tokens[this.#i + 1]?.kind === 'op') {
      this.#i++;
      this.#expect('(');
      const p = this.#peek();
      if (p.kind !== 'path') throw syntax(this.#source, p.at, 'expected a field path');
      this.#i++;
      this.#expect(')');
      const get = pathGetter(p.text, this.#source, p.at);
      return (v, m) => {
        const x = get(v, m);
        return x !== undefined && x !== null;
      };
    }
    if (t.kind === 'path') {
      this.#i++;
      return pathGetter(t.text, this.#source, t.at);
    }
    if (t.kind === 'literal' || (t.kind === 'op' && t.text === '-')) {
      const value = this.#literal();
      return () => value;
    }
    throw syntax(this.#source, t.at, t.kind === 'end' ? 'unexpected end of expression' : 'expected a field, a literal or "("');
  }
}

const COMPARATORS: Readonly<Record<string, (a: unknown, b: unknown) => boolean>> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => ordered(a, b) && (a as number) < (b as number),
  '<=': (a, b) => ordered(a, b) && (a as number) <= (b as number),
  '>': (a, b) => ordered(a, b) && (a as number) > (b as number),
  '>=': (a, b) => ordered(a, b) && (a as number) >= (b as number),
};

function ordered(a: unknown, b: unknown): boolean {
  return (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
}

function truthy(x: unknown): boolean {
  return x !== undefined && x !== null && x !== false && x !== 0 && x !== '';
}

function pathGetter(path: string, source: string, at: number): Getter {
  if (path.startsWith('$')) {
    if (!META_FIELDS.has(path)) throw syntax(source, at, `unknown metadata field ${path} (known: ${[...META_FIELDS].join(', ')})`);
    const field = path.slice(1);
    if (field === 'key') return (_v, m) => m?.key?.toString('utf8');
    return (_v, m) => (m === undefined ? undefined : m[field as 'topic' | 'partition' | 'offset' | 'timestamp']);
  }
  return fieldPath(path);
}

/**
 * A getter of a dotted path (`event_data.amount`) in a value: `undefined` where a step along it is
 * not an object. One- and two-segment paths, the usual ones, get closures without a loop.
 */
export function fieldPath(path: string): (value: unknown) => unknown {
  const parts = path.split('.');
  if (parts.length === 1) return (v) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[path] : undefined);
  if (parts.length === 2) {
    const [outer, inner] = parts as [string, string];
    return (v) => {
      const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[outer] : undefined;
      return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[inner] : undefined;
    };
  }
  return (v) => {
    let current: unknown = v;
    for (const part of parts) {
      if (typeof current !== 'object' || current === null) return undefined;
      current = (current as Record<string, unknown>)[part];
    }
    return current;
  };
}

/**
 * Compiles a boolean expression.
 * @param source e.g. `"event_type in ['purchase', 'refund_request'] and exists(event_data.amount)"`
 * @returns a predicate over a record's value (and optionally its Kafka metadata)
 * @throws ConfigError naming the column of the first syntax error
 */
export function compilePredicate(source: string): Predicate {
  const expr = new Parser(source).parse();
  return (value, meta) => truthy(expr(value, meta));
}

/**
 * Compiles an expression that yields a value (a field path, or any expression).
 * @param source e.g. `"event_data.amount"`
 */
export function compileField(source: string): Getter {
  return new Parser(source).parse();
}

/**
 * Compiles a key: one field path, or several joined with `|`. Yields `undefined` when a part is
 * missing, so the caller can route the record as invalid rather than key it under "undefined".
 * @param source `"user_id"` or `["game_id", "user_id"]`
 */
export function compileKey(source: string | readonly string[]): (value: unknown, meta?: RecordMeta) => string | undefined {
  const getters = (typeof source === 'string' ? [source] : source).map((s) => compileField(s));
  if (getters.length === 1) {
    const [get] = getters as [Getter];
    return (v, m) => keyPart(get(v, m));
  }
  return (v, m) => {
    const parts: string[] = [];
    for (const get of getters) {
      const part = keyPart(get(v, m));
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return parts.join('|');
  };
}

function keyPart(x: unknown): string | undefined {
  if (x === undefined || x === null || x === '') return undefined;
  return typeof x === 'string' ? x : typeof x === 'object' ? stringifyJson(x) : String(x);
}

/**
 * Compiles a string template with `{path}` placeholders, e.g. `"USER#{user_id}"`. Yields
 * `undefined` when a placeholder's field is missing.
 */
export function compileTemplate(source: string): (value: unknown, meta?: RecordMeta) => string | undefined {
  const pieces: (string | Getter)[] = [];
  let last = 0;
  for (const m of source.matchAll(/\{([^{}]+)\}/g)) {
    pieces.push(source.slice(last, m.index));
    pieces.push(compileField((m[1] as string).trim()));
    last = m.index + m[0].length;
  }
  pieces.push(source.slice(last));
  if (pieces.length === 1) return () => source;
  return (v, m) => {
    let out = '';
    for (const piece of pieces) {
      if (typeof piece === 'string') out += piece;
      else {
        const part = keyPart(piece(v, m));
        if (part === undefined) return undefined;
        out += part;
      }
    }
    return out;
  };
}
