/** The consumer group of an exactness run, seen through the admin API: members, committed and end offsets. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '@platformatic/kafka';
import { brokers } from './stack.ts';

export type Offsets = Map<string, number>;

/** One consumer group and its input topics, polled with one admin client. */
export class GroupWatch {
  readonly #admin: Admin;
  readonly #group: string;
  readonly #inputs: readonly string[];

  constructor(group: string, inputs: readonly string[]) {
    this.#group = group;
    this.#inputs = inputs;
    this.#admin = new Admin({ clientId: `${group}-watch`, bootstrapBrokers: brokers });
  }

  /** Committed offset of every partition the group has committed (any topic, internal ones included). */
  async committed(): Promise<Offsets> {
    const groups = await this.#admin.listConsumerGroupOffsets({ groups: [this.#group] });
    const result: Offsets = new Map();
    for (const g of groups) for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) result.set(`${t.name}/${p.partitionIndex}`, Number(p.committedOffset));
    return result;
  }

  /** End offsets of the input topics and of every other topic in `committed`. */
  async ends(committed: Offsets): Promise<Offsets> {
    const topics = [...new Set([...this.#inputs, ...[...committed.keys()].map((k) => k.slice(0, k.lastIndexOf('/')))])];
    const metadata = await this.#admin.metadata({ topics });
    const listed = await this.#admin.listOffsets({
      topics: topics.map((name) => ({ name, partitions: Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) })),
    });
    const result: Offsets = new Map();
    for (const t of listed) for (const p of t.partitions) result.set(`${t.name}/${p.partitionIndex}`, Number(p.offset));
    return result;
  }

  /** Records not yet committed, summed over every partition. */
  async lag(): Promise<{ lag: number; committed: Offsets; ends: Offsets }> {
    const committed = await this.committed();
    const ends = await this.ends(committed);
    let lag = 0;
    for (const [key, end] of ends) lag += Math.max(0, end - (committed.get(key) ?? 0));
    return { lag, committed, ends };
  }

  /** Member ids with an assignment, when the group is stable (else undefined). */
  async stableMembers(): Promise<Set<string> | undefined> {
    const group = (await this.#admin.describeGroups({ groups: [this.#group] })).get(this.#group);
    if (group === undefined || group.state.replace('_', '').toLowerCase() !== 'stable') return undefined;
    return new Set([...group.members.values()].filter((m) => (m.assignments?.size ?? 0) > 0).map((m) => m.id));
  }

  /** Each member's instance id and assigned partitions (`topic/partition`), whatever the group's state. */
  async assignments(): Promise<Map<string, { instanceId: string | null; partitions: string[] }>> {
    const group = (await this.#admin.describeGroups({ groups: [this.#group] })).get(this.#group);
    const result = new Map<string, { instanceId: string | null; partitions: string[] }>();
    for (const m of group?.members.values() ?? []) {
      const partitions = [...(m.assignments?.values() ?? [])].flatMap((a) => a.partitions.map((p) => `${a.topic}/${p}`));
      result.set(m.id, { instanceId: m.groupInstanceId ?? null, partitions: partitions.sort() });
    }
    return result;
  }

  /**
   * Waits until a stable group has an assigned member not in `known` (and at least `atLeast`
   * assigned members); returns the members and the wait.
   */
  async newMember(known: ReadonlySet<string>, timeoutMs: number, atLeast = 1): Promise<{ members: Set<string>; ms: number }> {
    const begin = performance.now();
    for (;;) {
      const members = await this.stableMembers().catch(() => undefined);
      if (members !== undefined && members.size >= atLeast && [...members].some((m) => !known.has(m))) return { members, ms: performance.now() - begin };
      if (performance.now() - begin > timeoutMs) throw new Error(`no new member of ${this.#group} within ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /** Ms until any committed offset moves past `before` (undefined if `until` resolves first). */
  async commitAfter(before: Offsets, until: Promise<unknown>): Promise<number | undefined> {
    const begin = performance.now();
    let stop = false;
    void until.then(() => (stop = true));
    while (!stop) {
      const now = await this.committed().catch(() => before);
      if ([...now].some(([k, v]) => v > (before.get(k) ?? -1))) return performance.now() - begin;
      await sleep(200);
    }
    return undefined;
  }

  /**
   * Waits until every partition the group has committed, and every input partition, is committed
   * up to its end offset, and stays so for `stableMs`.
   */
  async complete(timeoutMs: number, stableMs = 3000): Promise<void> {
    const begin = performance.now();
    let since: number | undefined;
    let last = '';
    for (;;) {
      const { lag, ends } = await this.lag();
      const shape = JSON.stringify([...ends]);
      if (lag === 0 && shape === last) {
        since ??= performance.now();
        if (performance.now() - since >= stableMs) return;
      } else since = undefined;
      last = shape;
      if (performance.now() - begin > timeoutMs) throw new Error(`group ${this.#group} did not complete within ${timeoutMs} ms: lag ${lag}`);
      await sleep(500);
    }
  }

  close(): Promise<void> {
    return this.#admin.close().catch(() => {});
  }
}
