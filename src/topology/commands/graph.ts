import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGraph } from '../graph.ts';
import { toMermaid } from '../mermaid.ts';
import { toSvg } from '../svg.ts';
import { ENV_FILE_OPTION, environment, onePositional, readTopology, UsageError, withUsage, type Command } from './command.ts';

const HELP = `Usage: tributary graph <topology> [--format mermaid|svg] [--out <file>] [--env-file <file>]

Draws the topology: Mermaid text (the default) or SVG, to stdout or to --out
(an --out ending in .svg means --format svg).`;

export const graph: Command = {
  name: 'graph',
  summary: 'draw a topology as Mermaid or SVG',
  help: HELP,
  run: (args, io) =>
    withUsage(graph, io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: { format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' }, ...ENV_FILE_OPTION },
      });
      const file = onePositional(positionals, 'topology file');
      const format = values.format ?? (values.out !== undefined && extname(values.out).toLowerCase() === '.svg' ? 'svg' : 'mermaid');
      if (format !== 'mermaid' && format !== 'svg') throw new UsageError(`--format must be mermaid or svg (got "${format}")`);
      const topology = await readTopology(file, io, await environment(io.env, values['env-file']));
      if (topology === undefined) return 1;
      const g = buildGraph(topology);
      const text = format === 'svg' ? toSvg(g, { title: topology.name }) : toMermaid(g, { title: topology.name });
      if (values.out === undefined) io.stdout(text);
      else {
        await mkdir(dirname(values.out), { recursive: true });
        await writeFile(values.out, text);
        io.stderr(`wrote ${values.out}\n`);
      }
      return 0;
    }),
};
