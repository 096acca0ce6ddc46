import { Worker } from 'node:worker_threads';
import type { EncoderReply, EncoderRequest } from './encoder-worker.ts';
import type { ParquetRow } from './schema.ts';
import {
  WRITER_COMPRESSIONS,
  type ParquetFileOptions,
  type ParquetFileWriter,
  type ParquetWriterFactory,
  type ParquetWriterName,
} from './writer.ts';

interface Waiter {
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

/**
 * Encodes Parquet files in a worker thread: `factory` has the same interface as an in-thread writer,
 * but `write` only posts the rows (as JSON, which costs the main thread less than half of a structured
 * clone; row values are strings, finite numbers, booleans and nulls, so nothing is lost) and the
 * encoding runs beside the main thread.
 * One worker serves every file of a sink. The worker keeps the process alive only while a `finish`
 * is pending.
 *
 * @example
 * const encoder = new WorkerParquetEncoder('hyparquet');
 * const file = encoder.factory.open({ columns });
 * file.write(rows);
 * const bytes = await file.finish();
 * await encoder.terminate();
 */
export class WorkerParquetEncoder {
  readonly factory: ParquetWriterFactory;
  readonly #worker: Worker;
  readonly #waiters = new Map<number, Waiter>();
  #nextId = 1;
  #failure: Error | undefined;

  constructor(writer: ParquetWriterName) {
    this.#worker = new Worker(new URL('./encoder-worker.ts', import.meta.url), { workerData: { writer } });
    this.#worker.unref();
    this.#worker.on('message', (reply: EncoderReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`Parquet encoder worker exited with code ${code}`)));
    this.factory = {
      name: writer,
      compressions: WRITER_COMPRESSIONS[writer],
      timestampLogicalType: writer === 'hyparquet' || writer === 'parquet-wasm',
      open: (options) => this.#open(options),
    };
  }

  #post(request: EncoderRequest): void {
    this.#worker.postMessage(request);
  }

  #open(options: ParquetFileOptions): ParquetFileWriter {
    const id = this.#nextId++;
    this.#post({ op: 'open', id, options });
    return {
      write: (rows: readonly ParquetRow[]) => {
        if (rows.length > 0) this.#post({ op: 'write', id, rows: JSON.stringify(rows) });
      },
      finish: () =>
        new Promise<Uint8Array>((resolve, reject) => {
          if (this.#failure !== undefined) return reject(this.#failure);
          this.#waiters.set(id, { resolve, reject });
          this.#worker.ref();
          this.#post({ op: 'finish', id });
        }),
    };
  }

  #settle(reply: EncoderReply): void {
    const waiter = this.#waiters.get(reply.id);
    this.#waiters.delete(reply.id);
    if (this.#waiters.size === 0) this.#worker.unref();
    if (reply.ok) waiter?.resolve(reply.bytes);
    else waiter?.reject(new Error(`Parquet encoder worker: ${reply.message}`));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  /** Stops the worker; files not finished are lost. */
  async terminate(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    this.#fail(new Error('Parquet encoder worker terminated'));
    await this.#worker.terminate();
  }
}
