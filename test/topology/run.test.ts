import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/config-env.ts';
import { groupMembershipFromEnv, runtimeOptionsOf, startupWarnings, withGroupInstanceId } from '../../src/topology/run.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { shopSpec, shopWith } from './fixtures.ts';

const kafka = { brokers: ['127.0.0.1:19092'] };
const ecs = { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc', LOG_LEVEL: 'silent' };
const task = (async () => Response.json({ TaskARN: 'arn:aws:ecs:r:1:task/c/0a1b', Family: 'trib' })) as unknown as typeof fetch;

describe('group membership from the environment', () => {
  it('reads the protocol and the static member id; `none` means no static membership', () => {
    expect(groupMembershipFromEnv({})).toEqual({});
    expect(groupMembershipFromEnv({ TRIBUTARY_GROUP_PROTOCOL: 'consumer', TRIBUTARY_GROUP_INSTANCE_ID: 'slot-3' })).toEqual({ groupProtocol: 'consumer', groupInstanceId: 'slot-3' });
    expect(groupMembershipFromEnv({ TRIBUTARY_GROUP_INSTANCE_ID: 'none' })).toEqual({});
    expect(() => groupMembershipFromEnv({ TRIBUTARY_GROUP_PROTOCOL: 'cooperative' })).toThrow(/TRIBUTARY_GROUP_PROTOCOL: must be classic or consumer/);
  });

  it('passes them to the source', () => {
    const options = runtimeOptionsOf(validateTopology(shopSpec(), { env: {} }), kafka, { TRIBUTARY_GROUP_INSTANCE_ID: 'slot-3', LOG_LEVEL: 'silent' });
    expect(options.source.groupInstanceId).toBe('slot-3');
    expect(options.source.groupProtocol).toBeUndefined();
  });

  it('passes the bounds and timings to the runtime', () => {
    const env = { TRIBUTARY_MAX_INFLIGHT_RECORDS: '5000', TRIBUTARY_COMMIT_INTERVAL_MS: '1000', TRIBUTARY_BACKPRESSURE_FLUSH_MS: '250', TRIBUTARY_MEMORY_LIMIT_MB: '512', LOG_LEVEL: 'silent' };
    const options = runtimeOptionsOf(validateTopology(shopSpec(), { env: {} }), kafka, env);
    expect(options).toMatchObject({ limits: { maxInflightRecords: 5000 }, commitIntervalMs: 1000, backpressureFlushMs: 250, memoryLimitBytes: 512 * 2 ** 20 });
    expect(runtimeOptionsOf(validateTopology(shopSpec(), { env: {} }), kafka, { TRIBUTARY_MEMORY_LIMIT_MB: 'off', LOG_LEVEL: 'silent' }).memoryLimitBytes).toBeUndefined();
    expect(runtimeOptionsOf(validateTopology(shopSpec(), { env: {} }), kafka, { LOG_LEVEL: 'silent' }).backpressureFlushMs).toBeUndefined();
  });

  it('on ECS, derives the id from the task unless it is set, turned off, or static membership does not apply', async () => {
    const topology = validateTopology(shopSpec(), { env: {} });
    expect((await withGroupInstanceId(topology, ecs, task)).TRIBUTARY_GROUP_INSTANCE_ID).toBe('trib-0a1b');
    expect((await withGroupInstanceId(topology, { ...ecs, TRIBUTARY_GROUP_INSTANCE_ID: 'slot-3' }, task)).TRIBUTARY_GROUP_INSTANCE_ID).toBe('slot-3');
    expect((await withGroupInstanceId(topology, { ...ecs, TRIBUTARY_GROUP_INSTANCE_ID: 'none' }, task)).TRIBUTARY_GROUP_INSTANCE_ID).toBe('none');
    expect((await withGroupInstanceId(topology, { ...ecs, TRIBUTARY_GROUP_PROTOCOL: 'consumer' }, task)).TRIBUTARY_GROUP_INSTANCE_ID).toBeUndefined();
    const kafkajs = validateTopology(shopWith('tx', (s) => (s.client = 'kafkajs')), { env: {} });
    expect((await withGroupInstanceId(kafkajs, ecs, task)).TRIBUTARY_GROUP_INSTANCE_ID).toBeUndefined();
    expect((await withGroupInstanceId(topology, { LOG_LEVEL: 'silent' }, task)).TRIBUTARY_GROUP_INSTANCE_ID).toBeUndefined();
  });
});

describe('start-up warnings', () => {
  it('warns that the health check fails with TRIBUTARY_HTTP_PORT=off (any case), and only then', () => {
    const warnings = (env: Record<string, string>) => startupWarnings(parseSettings({ TRIBUTARY_LOCAL: '1', ...env }).settings);
    expect(warnings({ TRIBUTARY_HTTP_PORT: 'OFF' })).toEqual([expect.stringMatching(/^TRIBUTARY_HTTP_PORT=off: no \/healthz, so the image HEALTHCHECK .* always fail/)]);
    expect(warnings({})).toEqual([]);
    expect(warnings({ TRIBUTARY_HTTP_PORT: '0' })).toEqual([]);
  });
});
