import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** The project folders a `src/<folder>` file imports from (`errors.ts`, `config.ts` at the top count as `.`). */
function importedFolders(folder: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts'))
        for (const [, spec] of readFileSync(path, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
          const target = join(dir, spec as string).slice(SRC.length);
          const top = target.includes('/') ? (target.split('/')[0] as string) : '.';
          if (top !== folder) found.set(top, [...(found.get(top) ?? []), path.slice(SRC.length)]);
        }
    }
  };
  walk(join(SRC, folder));
  return found;
}

describe('layering', () => {
  it('src/core imports nothing else of the project', () => {
    expect([...importedFolders('core').keys()]).toEqual([]);
  });

  it.each([
    ['operators', ['core']],
    ['sources', ['core']],
    // The Kafka sink shares the runtime's producer and the sources' connection options; the DynamoDB
    // sink builds a default client from the one config entry point.
    ['sinks', ['core', 'runtime', 'sources', '.']],
  ])('src/%s imports only from %j', (folder, allowed) => {
    const stray = [...importedFolders(folder)].filter(([top]) => !allowed.includes(top));
    expect(stray).toEqual([]);
  });

  it('nothing below the topology imports the topology, and the runtime imports no operator or sink', () => {
    for (const folder of ['core', 'operators', 'sinks', 'sources', 'runtime']) expect(importedFolders(folder).has('topology'), folder).toBe(false);
    expect(importedFolders('runtime').has('operators')).toBe(false);
    expect(importedFolders('runtime').has('sinks')).toBe(false);
  });
});
