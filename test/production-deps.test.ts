/**
 * The production image installs `npm ci --omit=dev`: every package the CLI can load (statically, by a
 * literal dynamic import, or in a worker) must be a runtime dependency, and so must every package any
 * file under src/ imports (bench-only code, like the bake-off's other Parquet writers, lives in bench/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const ENTRY_POINTS = ['src/cli.ts'];

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

/** Walks the import graph from the entry points; returns each bare package with the files importing it. */
function reachablePackages(): { packages: Map<string, string[]>; files: Set<string> } {
  const packages = new Map<string, string[]>();
  const files = new Set<string>();
  const pending = [...ENTRY_POINTS];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(join(ROOT, file), 'utf8');
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms),
      ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
      ...text.matchAll(/new URL\(\s*'(\.[^']+)',\s*import\.meta\.url\s*\)/g),
    ].map((m) => m[1] as string);
    const typeOnly = new Set([...text.matchAll(/^\s*import\s+type\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] as string));
    for (const spec of specifiers) {
      if (spec.startsWith('.')) pending.push(relative(ROOT, resolve(ROOT, dirname(file), spec)));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec) && !typeOnly.has(spec)) {
        const name = packageName(spec);
        packages.set(name, [...(packages.get(name) ?? []), file]);
      }
    }
  }
  return { packages, files };
}

describe('production dependencies', () => {
  const { packages, files } = reachablePackages();

  it('walks the whole CLI: the runtime, the sources, every sink and the Parquet encoder worker', () => {
    for (const file of ['src/runtime/runtime.ts', 'src/sources/kafkajs.ts', 'src/sinks/s3-parquet.ts', 'src/sinks/dynamodb.ts', 'src/sinks/parquet/encoder-worker.ts', 'src/sinks/parquet/hyparquet.ts']) {
      expect(files, file).toContain(file);
    }
    expect(packages.has('@platformatic/kafka')).toBe(true);
  });

  it('every package the CLI can load is in dependencies, not only devDependencies', () => {
    const missing = [...packages].filter(([name]) => pkg.dependencies[name] === undefined).map(([name, by]) => `${name} (imported by ${by.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('no file under src/ imports a package that is only a devDependency', () => {
    const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const devOnly: string[] = [];
    for (const file of sources) {
      const text = readFileSync(join(ROOT, 'src', file), 'utf8');
      const typeOnly = new Set([...text.matchAll(/^\s*import\s+type\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] as string));
      const names = [...text.matchAll(/(?:from |import\(|require\()'([^.'][^']*)'/g)]
        .filter((m) => !typeOnly.has(m[1] as string))
        .map((m) => packageName(m[1] as string))
        .filter((n) => !n.startsWith('node:') && !builtinModules.includes(n));
      for (const name of names) if (pkg.dependencies[name] === undefined) devOnly.push(`src/${file}: ${name}`);
    }
    expect(devOnly).toEqual([]);
  });
});
