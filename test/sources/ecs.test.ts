import { describe, expect, it } from 'vitest';
import { ecsGroupInstanceId } from '../../src/sources/ecs.ts';

const URI = 'http://169.254.170.2/v4/abc';

/** A fetch answering `/task` with `body` (and recording the URL asked). */
function answering(body: unknown, status = 200) {
  const asked: string[] = [];
  const fetchImpl = (async (url: string) => {
    asked.push(url);
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as typeof fetch;
  return { asked, fetchImpl };
}

describe('ecsGroupInstanceId', () => {
  it('is <family>-<task id> from the task metadata', async () => {
    const { asked, fetchImpl } = answering({
      TaskARN: 'arn:aws:ecs:eu-west-1:111122223333:task/games/158d1c8083dd49d6b527399fd6414f5c',
      Family: 'tributary-leaderboard',
      Revision: '26',
    });
    expect(await ecsGroupInstanceId(URI, fetchImpl)).toBe('tributary-leaderboard-158d1c8083dd49d6b527399fd6414f5c');
    expect(asked).toEqual([`${URI}/task`]);
  });

  it('is undefined when the endpoint fails, answers oddly or does not answer in time', async () => {
    expect(await ecsGroupInstanceId(URI, answering({}, 500).fetchImpl)).toBeUndefined();
    expect(await ecsGroupInstanceId(URI, answering('not json').fetchImpl)).toBeUndefined();
    expect(await ecsGroupInstanceId(URI, answering({ Family: 'f' }).fetchImpl)).toBeUndefined();
    const hanging = ((_: string, init?: RequestInit) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch;
    expect(await ecsGroupInstanceId(URI, hanging, 20)).toBeUndefined();
  });
});
