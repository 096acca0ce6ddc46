/** Every `tributary` command, in the order `tributary help` lists them. */
import type { Command } from './command.ts';
import { echo } from './echo.ts';
import { graph } from './graph.ts';
import { lint } from './lint.ts';
import { provision } from './provision.ts';
import { backfillCommand } from './backfill.ts';
import { reconcileCommand } from './reconcile.ts';
import { redriveCommand } from './redrive.ts';
import { run } from './run.ts';
import { schema } from './schema.ts';
import { test } from './test.ts';

export const COMMANDS: readonly Command[] = [lint, test, graph, echo, schema, provision, run, backfillCommand, reconcileCommand, redriveCommand];

/** The command with this name or alias. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
