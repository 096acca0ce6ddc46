import { describe, expect, it } from 'vitest';
import { commitOwned, isFencing, Ownership } from '../../src/sources/ownership.ts';
import type { CommitOffset } from '../../src/core/partition.ts';

const tp = (partition: number) => ({ topic: 't', partition });
const at = (partition: number, offset: number): CommitOffset => ({ topic: 't', partition, offset, leaderEpoch: -1 });

/** A coordinator stand-in: refuses every commit until `accept` is set; records what it was sent. */
function fakeSend(ownership: Ownership) {
  const sent: { partitions: number[]; joins: number }[] = [];
  let accept = false;
  const send = async (owned: readonly CommitOffset[]) => {
    sent.push({ partitions: owned.map((o) => o.partition), joins: ownership.joins });
    return accept ? [] : owned;
  };
  return { sent, send, acceptFromNowOn: () => (accept = true) };
}

describe('Ownership', () => {
  it('reports what an assignment revoked and added', () => {
    const ownership = new Ownership();
    expect(ownership.update([tp(0), tp(1)])).toEqual({ revoked: [], added: [tp(0), tp(1)] });
    expect(ownership.update([tp(1), tp(2)])).toEqual({ revoked: [tp(0)], added: [tp(2)] });
    expect(ownership.owns('t', 1)).toBe(true);
    expect(ownership.owns('t', 0)).toBe(false);
  });

  it('ends every ownership when the member did not own its partitions without a break (a generation missed)', () => {
    const ownership = new Ownership();
    ownership.update([tp(0), tp(1)]);
    const serial = ownership.serial('t', 1);
    expect(ownership.update([tp(1), tp(2)], false)).toEqual({ revoked: [tp(0), tp(1)], added: [tp(1), tp(2)] });
    expect(ownership.serial('t', 1)).not.toBe(serial);
  });
});

describe('commitOwned', () => {
  it('never sends a partition the member does not own; returns it as not committed', async () => {
    const ownership = new Ownership();
    ownership.update([tp(0)]);
    const sent: number[] = [];
    const left = await commitOwned(ownership, [at(0, 5), at(1, 7)], async (owned) => (sent.push(...owned.map((o) => o.partition)), []), 'never');
    expect(sent).toEqual([0]);
    expect(left).toEqual([at(1, 7)]);
  });

  it('after a refusal, commits once more under the next generation only the partitions owned throughout', async () => {
    const ownership = new Ownership();
    ownership.update([tp(0), tp(1), tp(2)]);
    const { sent, send, acceptFromNowOn } = fakeSend(ownership);
    const result = commitOwned(ownership, [at(0, 5), at(1, 6), at(2, 7)], send, { afterRejoinMs: 5000 });
    await Promise.resolve();
    acceptFromNowOn();
    // Partition 1 went to another member and came back (a new ownership); partition 2 went.
    ownership.update([tp(0), tp(2)]);
    ownership.update([tp(0), tp(1)]);
    expect(await result).toEqual([at(1, 6), at(2, 7)]);
    expect(sent.map((s) => s.partitions)).toEqual([[0, 1, 2], [0]]);
  });

  it('retries nothing after a rejoin that broke ownership (a generation missed)', async () => {
    const ownership = new Ownership();
    ownership.update([tp(0), tp(1)]);
    const { sent, send, acceptFromNowOn } = fakeSend(ownership);
    const result = commitOwned(ownership, [at(0, 5), at(1, 6)], send, { afterRejoinMs: 5000 });
    await Promise.resolve();
    acceptFromNowOn();
    ownership.update([tp(0), tp(1)], false);
    expect(await result).toEqual([at(0, 5), at(1, 6)]);
    expect(sent.length).toBe(1);
  });

  it('retries the partitions kept through a continuous rejoin', async () => {
    const ownership = new Ownership();
    ownership.update([tp(0), tp(1)]);
    const { sent, send, acceptFromNowOn } = fakeSend(ownership);
    const result = commitOwned(ownership, [at(0, 5), at(1, 6)], send, { afterRejoinMs: 5000 });
    await Promise.resolve();
    acceptFromNowOn();
    ownership.update([tp(0)]);
    expect(await result).toEqual([at(1, 6)]);
    expect(sent).toEqual([
      { partitions: [0, 1], joins: 1 },
      { partitions: [0], joins: 2 },
    ]);
  });

  it('gives up when no rejoin comes within the wait, and after a second refusal', async () => {
    const ownership = new Ownership();
    ownership.update([tp(0)]);
    const { sent, send } = fakeSend(ownership);
    expect(await commitOwned(ownership, [at(0, 5)], send, { afterRejoinMs: 20 })).toEqual([at(0, 5)]);
    expect(sent.length).toBe(1);
    const twice = commitOwned(ownership, [at(0, 5)], send, { afterRejoinMs: 5000 });
    await Promise.resolve();
    ownership.update([tp(0)]);
    expect(await twice).toEqual([at(0, 5)]);
    expect(sent.length).toBe(3);
  });

  it("retries at once, or never, as the source's policy says", async () => {
    const ownership = new Ownership();
    ownership.update([tp(0)]);
    let calls = 0;
    const refuseFirst = async (owned: readonly CommitOffset[]) => (++calls === 1 ? owned : []);
    expect(await commitOwned(ownership, [at(0, 5)], refuseFirst, 'at once')).toEqual([]);
    expect(calls).toBe(2);
    calls = 0;
    expect(await commitOwned(ownership, [at(0, 5)], refuseFirst, 'never')).toEqual([at(0, 5)]);
    expect(calls).toBe(1);
  });
});

describe('isFencing', () => {
  it('recognises the group refusing a generation, nested or not, and nothing else', () => {
    expect(isFencing({ apiCode: 22 })).toBe(true);
    expect(isFencing({ errors: [{ apiCode: 113 }] })).toBe(true);
    expect(isFencing({ errors: [{ apiCode: 16 }] })).toBe(false);
    expect(isFencing(new Error('socket closed'))).toBe(false);
  });
});
