import { describe, expect, it } from 'vitest';
import { validateRuntimeOptions } from '../../src/runtime/runtime-options.ts';
import type { SourceOptions } from '../../src/sources/source.ts';

const check = (source: Partial<SourceOptions>) => () =>
  validateRuntimeOptions({ source: { brokers: ['127.0.0.1:19092'], groupId: 'g', topics: ['t'], ...source }, deadLetterTopic: 'dlq' });

describe('validateRuntimeOptions: group membership', () => {
  it('accepts static membership on the classic protocol and KIP-848 on @platformatic/kafka', () => {
    expect(check({ groupInstanceId: 'tributary-0.a_b' })).not.toThrow();
    expect(check({ groupProtocol: 'consumer' })).not.toThrow();
    expect(check({ client: 'kafkajs', groupInstanceId: 'slot-1' })).not.toThrow(); // ignored, with a warning
  });

  it('refuses KIP-848 on kafkajs, static membership with KIP-848, and an id Kafka would refuse', () => {
    expect(check({ client: 'kafkajs', groupProtocol: 'consumer' })).toThrow(/kafkajs has only the classic protocol/);
    expect(check({ groupProtocol: 'consumer', groupInstanceId: 'slot-1' })).toThrow(/static membership needs the classic protocol/);
    expect(check({ groupInstanceId: 'slot 1' })).toThrow(/groupInstanceId must be 1-249/);
    expect(check({ groupProtocol: 'eager' as 'classic' })).toThrow(/groupProtocol must be 'classic' or 'consumer'/);
  });
});
