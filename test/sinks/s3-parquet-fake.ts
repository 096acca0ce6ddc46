/** An in-memory stand-in for the S3 client in the sink's unit tests: stores PutObject bodies. */
import type { S3Client } from '@aws-sdk/client-s3';

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

