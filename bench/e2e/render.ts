/**
 * Renders the Markdown report and SVG chart again from a saved result JSON (e.g. a run stopped early).
 *
 *   node_modules/.bin/node bench/e2e/render.ts bench/out/e2e/e2e-full.json "<command that produced it>"
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chart } from './chart.ts';
import { markdown } from './report.ts';
import type { E2eResult } from './run.ts';

const [file, command = 'node_modules/.bin/node bench/e2e.ts'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: render.ts <result.json> [command]');
const result = JSON.parse(readFileSync(file, 'utf8')) as E2eResult;
writeFileSync(file.replace(/\.json$/, '.md'), markdown(result, command));
writeFileSync(file.replace(/\.json$/, '.svg'), chart(result));
console.log(markdown(result, command));
