import type { Changelog, ChangelogEntry, StatefulStep } from '../../src/core/state.ts';

/** A changelog kept in memory: a log per partition, restored with compaction semantics. */
export class MemoryChangelog implements Changelog {
  readonly topic = 'memory-changelog';
  readonly log = new Map<number, ChangelogEntry[]>();
  readonly #steps = new Set<StatefulStep>();

  async restore(partition: number, choose?: (previous: Buffer, next: Buffer) => Buffer): Promise<Map<string, Buffer>> {
    const state = new Map<string, Buffer>();
    for (const { key, value } of this.log.get(partition) ?? []) {
      if (value === null) state.delete(key);
      else {
        const previous = state.get(key);
        state.set(key, previous === undefined || choose === undefined ? value : choose(previous, value));
      }
    }
    return state;
  }

  async write(entries: readonly ChangelogEntry[]): Promise<void> {
    this.append(entries);
  }

  register(step: StatefulStep): () => void {
    this.#steps.add(step);
    return () => this.#steps.delete(step);
  }

  /** What a checkpoint does: every step's snapshot, written, then acknowledged. */
  checkpoint(): void {
    for (const step of this.#steps) {
      const snapshot = step.snapshot();
      this.append(snapshot.entries);
      snapshot.durable();
    }
  }

  append(entries: readonly ChangelogEntry[]): void {
    for (const entry of entries) {
      const list = this.log.get(entry.partition) ?? [];
      list.push(entry);
      this.log.set(entry.partition, list);
    }
  }
}
