/**
 * What a correct run of the default topology must produce for one generated stream, derived from the
 * generated records themselves (regenerated from the same seed) and the ground truth: the topology
 * rejects event types it does not declare (the generator may count such events as valid).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { generate } from '../generator/generate.ts';
import type { GroundTruth } from '../generator/ground-truth.ts';

export interface Expected {
  /** Records to dead letters: malformed ones plus every record of an undeclared event type. */
  deadLetters: number;
  undeclaredTypeRecords: number;
  /** Distinct event ids of valid events of declared types (ticks excluded). */
  uniqueEventIds: Set<string>;
  /** Distinct transaction ids of unique valid purchases. */
  transactions: number;
  /** Truth's late events that carry a game id (the only ones the window sees). */
  lateWithGame: number;
  /** Duplicates of declared types (those of undeclared types go to dead letters before dedup). */
  duplicates: number;
}

/** The event types the default topology's `validate` step declares. */
export function declaredTypes(yamlPath = 'topologies/game-events.yaml'): Set<string> {
  const spec = parse(readFileSync(yamlPath, 'utf8')) as { steps: { kind: string; events?: Record<string, unknown> }[] };
  const validate = spec.steps.find((s) => s.kind === 'validate');
  return new Set(Object.keys(validate?.events ?? {}));
}

export function expectationsOf(truth: GroundTruth): Expected {
  const declared = declaredTypes();
  const late = new Set(truth.late.map((l) => l.eventId));
  const ids = new Set<string>();
  const transactions = new Set<string>();
  let undeclared = 0;
  let lateWithGame = 0;
  let duplicates = 0;
  const it = generate(truth.options);
  for (let step = it.next(); step.done !== true; step = it.next()) {
    const r = step.value;
    if (r.kind === 'malformed') continue;
    const e = JSON.parse(r.value) as { event_id: string; event_type: string; event_data: { game_id?: unknown; transaction_id?: unknown } };
    if (!declared.has(e.event_type)) {
      undeclared++;
      continue;
    }
    if (r.kind === 'duplicate' || ids.has(e.event_id)) {
      duplicates++;
      continue;
    }
    ids.add(e.event_id);
    if (e.event_type === 'purchase') transactions.add(String(e.event_data.transaction_id));
    if (late.has(e.event_id) && typeof e.event_data.game_id === 'string') lateWithGame++;
  }
  return { deadLetters: truth.totals.malformed + undeclared, undeclaredTypeRecords: undeclared, uniqueEventIds: ids, transactions: transactions.size, lateWithGame, duplicates };
}
