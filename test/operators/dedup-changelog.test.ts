import { describe, expect, it } from 'vitest';
import { ChangelogDedupStore } from '../../src/operators/dedup-changelog.ts';
import { MemoryChangelog } from '../support/memory-changelog.ts';

const claim = (key: string, offset: number, partition = 0) => ({ key, origin: { topic: 't', partition, offset } });
const clock = (nowMs: number) => ({ nowMs, ttlMs: 1000 });

describe('ChangelogDedupStore', () => {
  it('keeps the first claim of a key per partition, across a restart from its changelog', async () => {
    const changelog = new MemoryChangelog();
    const first = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    expect((await first.claim([claim('a', 1), claim('b', 2), claim('a', 3)], clock(0))).map((v) => v.duplicate)).toEqual([false, false, true]);
    // A new instance (after a crash) reads the claims back: the replayed holder passes, a repeat does not.
    const second = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    expect((await second.claim([claim('a', 1), claim('a', 9), claim('c', 10)], clock(10))).map((v) => v.duplicate)).toEqual([false, true, false]);
    // Another partition's claims are its own.
    expect((await second.claim([claim('a', 5, 1)], clock(10)))[0]?.duplicate).toBe(false);
  });

  it('forgets claims after their TTL, and revoked partitions until they are read back', async () => {
    const changelog = new MemoryChangelog();
    const store = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    await store.claim([claim('a', 1)], clock(0));
    expect((await store.claim([claim('a', 2)], clock(999)))[0]?.duplicate).toBe(true);
    expect((await store.claim([claim('a', 3)], clock(1000)))[0]?.duplicate).toBe(false);
    store.revoke([{ topic: 't', partition: 0 }]);
    expect((await store.claim([claim('a', 4)], clock(1500)))[0]?.duplicate).toBe(true);
  });

  it('expires claims in claim order even when the clock steps back (they are then kept a little longer)', async () => {
    const store = new ChangelogDedupStore(new MemoryChangelog(), { maxKeys: 100 });
    await store.claim([claim('a', 1)], clock(0)); // expires at 1000
    await store.claim([claim('b', 2)], clock(500)); // 1500
    await store.claim([claim('c', 3)], clock(200)); // 1200, kept until 1500 behind b
    const repeat = async (nowMs: number) => (await store.claim([claim('a', 10 + nowMs), claim('b', 11 + nowMs), claim('c', 12 + nowMs)], clock(nowMs))).map((v) => v.duplicate);
    expect(await repeat(999)).toEqual([true, true, true]);
    // a expires (and is claimed again, until 2000), b and c do not yet.
    expect(await repeat(1000)).toEqual([false, true, true]);
    expect(await repeat(1499)).toEqual([true, true, true]);
    expect(await repeat(1500)).toEqual([true, false, false]);
  });

  it('stays within maxKeys', async () => {
    const store = new ChangelogDedupStore(new MemoryChangelog(), { maxKeys: 10 });
    for (let i = 0; i < 50; i++) await store.claim([claim(`k${i}`, i)], clock(i));
    expect((await store.claim([claim('k49', 100)], clock(60)))[0]?.duplicate).toBe(true);
    expect((await store.claim([claim('k0', 101)], clock(60)))[0]?.duplicate).toBe(false);
  });

  it('writes the claims of one call as one changelog record per partition', async () => {
    const changelog = new MemoryChangelog();
    const store = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    await store.claim([claim('a', 1), claim('b', 2), claim('c', 3, 1), claim('a', 4)], clock(0));
    expect([...changelog.log.entries()].map(([partition, entries]) => [partition, entries.length])).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });

  it('reads back claims written one per record (before packs) beside packed ones', async () => {
    const changelog = new MemoryChangelog();
    changelog.append([{ partition: 0, key: 't:0|old', value: Buffer.from('7 1000') }]);
    const store = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    await store.claim([claim('new', 8)], clock(0));
    const restarted = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    expect((await restarted.claim([claim('old', 9), claim('new', 10), claim('old', 7)], clock(10))).map((v) => v.duplicate)).toEqual([true, true, false]);
  });

  it('never names two packs alike, so compaction cannot drop claims a later pack does not repeat', async () => {
    const changelog = new MemoryChangelog();
    const store = new ChangelogDedupStore(changelog, { maxKeys: 2 });
    await store.claim([claim('a', 100), claim('b', 101)], clock(0));
    await store.claim([claim('c', 102)], clock(0)); // past maxKeys: a and b leave memory
    await store.claim([claim('a', 100)], clock(0)); // a replayed: claimed again, in a pack from offset 100 too
    const restarted = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    expect((await restarted.claim([claim('b', 200)], clock(10)))[0]?.duplicate).toBe(true);
  });
});

describe('ChangelogDedupStore ordering', () => {
  it('judges a partition\'s claims in call order, even when an earlier call also waits for another partition\'s restore', async () => {
    // Partition 1 restores slowly (just assigned); partition 0 is ready. The second call holds only
    // partition 0's later record: it must not claim the key before the first call's earlier record.
    const changelog = new MemoryChangelog();
    const slow = Promise.withResolvers<void>();
    const restore = changelog.restore.bind(changelog);
    changelog.restore = async (partition, choose) => {
      if (partition === 1) await slow.promise;
      return restore(partition, choose);
    };
    const store = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    await store.claim([claim('warm', 0)], clock(0));
    const first = store.claim([claim('a', 1), claim('x', 1, 1)], clock(0));
    const second = store.claim([claim('a', 2)], clock(0));
    setTimeout(() => slow.resolve(), 5);
    expect((await first).map((v) => v.duplicate)).toEqual([false, false]);
    expect((await second)[0]).toEqual({ duplicate: true, owner: { topic: 't', partition: 0, offset: 1 } });
  });

  it('reads a partition\'s claims back when it is assigned, before its first call', async () => {
    const changelog = new MemoryChangelog();
    await new ChangelogDedupStore(changelog, { maxKeys: 100 }).claim([claim('a', 1)], clock(0));
    const restored: number[] = [];
    const restore = changelog.restore.bind(changelog);
    changelog.restore = async (partition, choose) => {
      restored.push(partition);
      return restore(partition, choose);
    };
    const store = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    store.prepare([{ topic: 't', partition: 0 }], 0);
    expect(restored).toEqual([0]);
    // The first call uses that restore rather than starting another.
    expect((await store.claim([claim('a', 2)], clock(10)))[0]?.duplicate).toBe(true);
    expect(restored).toEqual([0]);
  });

  it('reads a partition again at its first call when the restore on assignment failed', async () => {
    const changelog = new MemoryChangelog();
    await new ChangelogDedupStore(changelog, { maxKeys: 100 }).claim([claim('a', 1)], clock(0));
    const restore = changelog.restore.bind(changelog);
    let failures = 1;
    changelog.restore = async (partition, choose) => {
      if (failures-- > 0) throw new Error('broker away');
      return restore(partition, choose);
    };
    const store = new ChangelogDedupStore(changelog, { maxKeys: 100 });
    store.prepare([{ topic: 't', partition: 0 }], 0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect((await store.claim([claim('a', 2)], clock(10)))[0]?.duplicate).toBe(true);
  });
});
