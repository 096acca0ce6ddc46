import { describe, expect, it } from 'vitest';
import { SinkRetriableError, ValidationError } from '../../src/core/errors.ts';
import { createLogger, logsRecordContent, serializeError } from '../../src/core/logger.ts';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = createLogger({ component: 'test' }, 'info', { write: (chunk: string) => void chunks.push(chunk) });
  return { logger, lines: () => chunks.map((c) => JSON.parse(c) as Record<string, unknown>) };
}

describe('the logger', () => {
  it('redacts credentials and SASL settings wherever a log object carries them', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'p0',
        kafka: { brokers: ['b:9092'], sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p1' } },
        aws: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 's1' } },
        options: { s3: { secretAccessKey: 's2', sessionToken: 't2' } },
      },
      'connecting',
    );
    const [line] = lines();
    expect(line).toMatchObject({
      password: '[redacted]',
      kafka: { brokers: ['b:9092'], sasl: '[redacted]' },
      aws: { region: 'eu-west-1', credentials: '[redacted]' },
      options: { s3: { secretAccessKey: '[redacted]', sessionToken: '[redacted]' } },
    });
    for (const secret of ['p0', 'p1', 's1', 's2', 't2', 'AKIA']) expect(JSON.stringify(line)).not.toContain(`"${secret}"`);
  });

  it('logs an error about a record by its summary, without the quoted value or the stack', () => {
    const { logger, lines } = capture();
    const error = new ValidationError('user_email: expected number, got string "ann@example.com"', { stepId: 'validate', summary: 'user_email: expected number, got string' });
    logger.error({ err: error }, 'failed');
    expect(lines()[0]?.err).toEqual(
      logsRecordContent() ? expect.objectContaining({ message: error.message }) : { type: 'ValidationError', code: 'TRIB_VALIDATION', message: 'user_email: expected number, got string', stepId: 'validate' },
    );
    expect(serializeError(error, false)).not.toHaveProperty('stack');
    expect(serializeError(error, true)).toMatchObject({ message: error.message, stack: expect.any(String) });
  });

  it('logs other errors in full, with their stack', () => {
    const error = new SinkRetriableError('table t: retries exhausted');
    expect(serializeError(error, false)).toMatchObject({ type: 'SinkRetriableError', message: 'table t: retries exhausted', stack: expect.any(String), code: 'TRIB_SINK_RETRIABLE' });
  });

  it('allows record content only with TRIBUTARY_LOG_RECORD_CONTENT on (1/true/yes, as every boolean setting)', () => {
    expect(logsRecordContent({})).toBe(false);
    expect(logsRecordContent({ TRIBUTARY_LOG_RECORD_CONTENT: '0' })).toBe(false);
    expect(logsRecordContent({ TRIBUTARY_LOG_RECORD_CONTENT: 'no' })).toBe(false);
    expect(logsRecordContent({ TRIBUTARY_LOG_RECORD_CONTENT: 'true' })).toBe(true);
    expect(logsRecordContent({ TRIBUTARY_LOG_RECORD_CONTENT: '1' })).toBe(true);
  });
});
