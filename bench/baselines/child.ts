/**
 * The child side of `runInChild`: `node child.ts <moduleUrl> <exportName> <optionsJson>` runs the
 * named measurement and prints `RESULT <json>` on stdout.
 */
const [moduleUrl, exportName, json] = process.argv.slice(2);
if (moduleUrl === undefined || exportName === undefined || json === undefined) {
  console.error('usage: child.ts <moduleUrl> <exportName> <optionsJson>');
  process.exit(2);
}
const mod = (await import(moduleUrl)) as Record<string, (options: unknown) => Promise<unknown>>;
const measure = mod[exportName];
if (typeof measure !== 'function') throw new Error(`${moduleUrl} has no export ${exportName}`);
const outcome = await measure(JSON.parse(json));
process.stdout.write(`RESULT ${JSON.stringify(outcome)}\n`);
process.exit(0);
