/** An in-memory stand-in for the S3 client in the sink's unit tests: stores PutObject bodies, lists by prefix. */
import type { S3Client } from '@aws-sdk/client-s3';

interface Command {
  constructor: { name: string };
  input: { Key?: string; Body?: Uint8Array; Prefix?: string; ContinuationToken?: string };
}

export class FakeS3 {
  readonly objects = new Map<string, Uint8Array>();
  /** PutObject sends (listings are counted in `lists`). */
  sends = 0;
  /** The next `failures` PutObject sends throw. */
  failures = 0;
  /** ListObjectsV2 pages sent, and the prefixes asked for. */
  lists = 0;
  readonly listed: string[] = [];
  /** The next `listFailures` listings throw. */
  listFailures = 0;
  /** Keys per listing page. */
  pageSize = 1000;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  /** Holds every PutObject send until `open()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  open(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  /** A held send rejects when its `abortSignal` aborts, like the SDK's. */
  async send(command: Command, options: { abortSignal?: AbortSignal } = {}): Promise<object> {
    if (command.constructor.name === 'ListObjectsV2Command') return this.#list(command.input);
    if (command.constructor.name !== 'PutObjectCommand') throw new Error(`unexpected ${command.constructor.name}`);
    this.sends += 1;
    if (this.#gate) {
      const signal = options.abortSignal;
      await Promise.race([
        this.#gate,
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true })),
      ]);
    }
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('injected failure'), { name: 'InternalError' });
    }
    this.objects.set(command.input.Key as string, command.input.Body as Uint8Array);
    return {};
  }

  /** Keys in order; a page's continuation token is its last key. */
  #list({ Prefix = '', ContinuationToken }: Command['input']): object {
    this.lists += 1;
    this.listed.push(Prefix);
    if (this.listFailures > 0) {
      this.listFailures -= 1;
      throw Object.assign(new Error('injected listing failure'), { name: 'InternalError' });
    }
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(Prefix) && (ContinuationToken === undefined || k > ContinuationToken)).sort();
    const page = keys.slice(0, this.pageSize);
    const truncated = keys.length > page.length;
    return { Contents: page.map((Key) => ({ Key })), IsTruncated: truncated, ...(truncated ? { NextContinuationToken: page.at(-1) } : {}) };
  }

  get client(): S3Client {
    return this as unknown as S3Client;
  }
}
