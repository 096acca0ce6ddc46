/** Consumer-group progress read with the admin API: committed offsets against the topics' end offsets. */
import { Admin } from '@platformatic/kafka';

export interface Progress {
  /** Sum over partitions of the end offsets. */
  end: number;
  /** Sum over partitions of the committed offsets (0 where nothing is committed). */
  committed: number;
  /** True when every partition's committed offset has reached its end offset (less its `holdBack`). */
  caughtUp: boolean;
}

/** Polls a group's progress over `topics`; `close()` frees the admin client. */
export function progressReader(brokers: readonly string[], groupId: string, topics: readonly string[], holdBack: Record<string, number> = {}) {
  const admin = new Admin({ clientId: `bench-progress-${groupId}`, bootstrapBrokers: [...brokers] });
  let partitions: Map<string, number> | undefined;
  return {
    async read(): Promise<Progress> {
      if (partitions === undefined) {
        const metadata = await admin.metadata({ topics: [...topics] });
        partitions = new Map([...metadata.topics.entries()].map(([name, t]) => [name, t.partitionsCount]));
      }
      const listed = await admin.listOffsets({
        topics: [...partitions.entries()].map(([name, count]) => ({ name, partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) })),
      });
      const ends = new Map<string, number>();
      for (const t of listed) for (const p of t.partitions) ends.set(`${t.name}/${p.partitionIndex}`, Number(p.offset));
      const groups = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [...partitions.keys()].map((name) => ({ name, partitionIndexes: Array.from({ length: partitions?.get(name) ?? 0 }, (_, i) => i) })) }] });
      const committed = new Map<string, number>();
      for (const g of groups) for (const t of g.topics) for (const p of t.partitions) committed.set(`${t.name}/${p.partitionIndex}`, Math.max(0, Number(p.committedOffset)));
      let end = 0;
      let done = 0;
      let caughtUp = true;
      for (const [key, e] of ends) {
        const c = committed.get(key) ?? 0;
        end += e;
        done += Math.min(c, e);
        const topic = key.slice(0, key.lastIndexOf('/'));
        if (c < e - (holdBack[topic] ?? 0)) caughtUp = false;
      }
      return { end, committed: done, caughtUp };
    },
    close: () => admin.close(),
  };
}
