/** Durations, sizes and `${VAR}` references in spec strings. */

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Replaces `${NAME}` and `${NAME:-default}` (default when unset or empty) with environment values;
 * `$${` is a literal `${`.
 */
export function interpolate(text: string, env: Env): { value: string } | { error: string; unset?: string } {
  if (!text.includes('${')) return { value: text };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('$', i);
    if (start < 0) break;
    out += text.slice(i, start);
    if (text.startsWith('$${', start)) {
      out += '${';
      i = start + 3;
      continue;
    }
    if (!text.startsWith('${', start)) {
      out += '$';
      i = start + 1;
      continue;
    }
    const end = text.indexOf('}', start);
    if (end < 0) return { error: `has an unclosed "\${" at column ${start + 1}` };
    const body = text.slice(start + 2, end);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
    if (!m) return { error: `has a malformed variable reference "\${${body}}" (write \${NAME} or \${NAME:-default})` };
    const [, name, fallback] = m as unknown as [string, string, string | undefined];
    const value = env[name];
    if (fallback !== undefined) out += value === undefined || value === '' ? fallback : value;
    else if (value === undefined) return { error: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`, unset: name };
    else out += value;
    i = end + 1;
  }
  return { value: out + text.slice(i) };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `"1h30m"` to 5_400_000; `undefined` if it is not a duration. Negative with a leading `-`. */
export function parseDuration(text: string): number | undefined {
  const m = /^(-)?((?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)$/.exec(text.trim());
  if (!m) return undefined;
  let ms = 0;
  for (const part of (m[2] as string).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g))
    ms += Number(part[1]) * (DURATION_UNITS[part[2] as string] as number);
  ms = Math.round(ms * 1e6) / 1e6; // 0.1h is 360000.00000000006 in floating point
  if (!Number.isInteger(ms)) return undefined;
  return m[1] ? -ms : ms;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** `"64MiB"` to 67_108_864; `undefined` if it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kKMG]i?B|B)$/.exec(text.trim());
  const unit = m && SIZE_UNITS[m[2] as string];
  return unit === undefined || unit === null ? undefined : Math.floor(Number((m as RegExpExecArray)[1]) * unit);
}
