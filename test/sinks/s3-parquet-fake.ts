/** An in-memory stand-in for the S3 client in the sink's unit tests: stores PutObject bodies. */
import type { S3Client } from '@aws-sdk/client-s3';
import { silentLogger } from '../../src/runtime/logger.ts';
import { Metrics } from '../../src/runtime/metrics.ts';
import type { Envelope } from '../../src/runtime/envelope.ts';
import type { TributaryError } from '../../src/errors.ts';
import type { SinkContext } from '../../src/sinks/sink.ts';

export class FakeS3 {
  readonly objects = new Map<string, Uint8Array>();
  sends = 0;
  /** The next `failures` sends throw. */
  failures = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  /** Holds every send until `open()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  open(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async send(command: { constructor: { name: string }; input: { Key: string; Body: Uint8Array } }): Promise<object> {
    this.sends += 1;
    if (this.#gate) await this.#gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('injected failure'), { name: 'InternalError' });
    }
    if (command.constructor.name !== 'PutObjectCommand') throw new Error(`unexpected ${command.constructor.name}`);
    this.objects.set(command.input.Key, command.input.Body);
    return {};
  }

  get client(): S3Client {
    return this as unknown as S3Client;
  }
}

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
