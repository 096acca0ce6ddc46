import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAGE_NODE_FLAGS, imageEnv, imageMallocEnv } from '../../bench/e2e/image-env.ts';

describe('the image environment the benchmark child runs with', () => {
  it("reads the ENV lines of the Dockerfile's last stage, quoted or not", () => {
    const dockerfile = ['FROM node:24-slim AS deps', 'ENV BUILD_ONLY=1', 'FROM node:24-slim', 'ENV A=1', 'ENV NODE_OPTIONS="--x=1 --y"', 'ENV   B=two', 'RUN echo ENV C=3', '# ENV D=4'].join('\n');
    expect(imageEnv(dockerfile)).toEqual({ A: '1', NODE_OPTIONS: '--x=1 --y', B: 'two' });
  });

  it("takes the image's V8 flags and malloc settings from the real Dockerfile", () => {
    const env = imageEnv(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'));
    expect(IMAGE_NODE_FLAGS).toEqual((env.NODE_OPTIONS ?? '').split(' ').filter(Boolean));
    expect(IMAGE_NODE_FLAGS).toContain('--max-semi-space-size=8');
    expect(imageMallocEnv({})).toEqual({ MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ });
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('65536');
  });

  it('leaves a malloc setting of the environment alone, and gives none with BENCH_MALLOC=off', () => {
    expect(imageMallocEnv({ MALLOC_ARENA_MAX: '8' })).not.toHaveProperty('MALLOC_ARENA_MAX');
    expect(imageMallocEnv({ MALLOC_ARENA_MAX: '8' })).toHaveProperty('MALLOC_MMAP_THRESHOLD_');
    expect(imageMallocEnv({ BENCH_MALLOC: 'off' })).toEqual({});
  });
});
