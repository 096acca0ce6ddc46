/** A sink context for sink tests: dead letters are kept (to assert on) and their leases released at once. */
import type { TributaryError } from '../../src/core/errors.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import type { SinkContext } from '../../src/core/sink.ts';

export interface DeadLettered {
  envelope: Envelope<unknown>;
  error: TributaryError;
  stepId: string;
}

/** A sink context whose dead letters are kept and released at once. */
export function testContext(): { context: SinkContext; metrics: Metrics; dead: DeadLettered[] } {
  const metrics = new Metrics();
  const dead: DeadLettered[] = [];
  const context: SinkContext = {
    metrics,
    logger: silentLogger,
    deadLetter: (envelope, error, stepId) => {
      dead.push({ envelope, error, stepId });
      envelope.lease.release();
    },
  };
  return { context, metrics, dead };
}
