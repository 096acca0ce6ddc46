import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkajsLogCreator } from '../../src/sources/kafkajs-mapping.ts';

const { logLevel } = kafkajs;

function recorder() {
  const lines: [string, string][] = [];
  const at = (level: string) => (_fields: unknown, msg: string) => void lines.push([level, msg]);
  return { lines, logger: { error: at('error'), warn: at('warn'), debug: at('debug') } as never };
}

describe('kafkajsLogCreator', () => {
  const entry = (level: number, message: string) => ({ namespace: 'x', level, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message } });

  it('tells the dependency of each broker it could not reach, logging that at debug only (kafkajs logs every try at error)', () => {
    const { lines, logger } = recorder();
    const failed: unknown[] = [];
    const log = kafkajsLogCreator(logger, { failed: (e) => failed.push(e) })();
    log(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
    log(entry(logLevel.ERROR, 'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
    log(entry(logLevel.ERROR, 'Crash: KafkaJSNoBrokerAvailableError: No broker available'));
    log(entry(logLevel.WARN, 'Something else'));
    log(entry(logLevel.INFO, 'Consumer has joined the group'));
    expect(failed.map((e) => (e as Error).message)).toEqual([
      'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
    ]);
    expect(lines).toEqual([
      ['debug', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'],
      ['debug', 'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092'],
      ['error', 'Crash: KafkaJSNoBrokerAvailableError: No broker available'],
      ['warn', 'Something else'],
    ]);
  });
});
