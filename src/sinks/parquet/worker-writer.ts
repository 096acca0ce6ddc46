import { Worker } from 'node:worker_threads';
import { transferList, type ColumnBatch } from './columns.ts';
import type { EncoderReply, EncoderRequest } from './encoder-worker.ts';
import { WRITER_COMPRESSIONS, type ParquetFileOptions, type ParquetFileWriter, type ParquetWriterFactory, type ParquetWriterName } from './writer.ts';

interface Waiter {
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

/** Encoder threads running in this process, for {@link encoderHeaps}. */
const live = new Set<EncoderThread>();

/** The V8 heaps of the encoder threads running in this process: bytes reserved and in use, summed. */
export async function encoderHeaps(): Promise<{ totalBytes: number; usedBytes: number }> {
  const stats = await Promise.all([...live].map((thread) => thread.worker.getHeapStatistics().catch(() => undefined)));
  const sum = (pick: (s: NonNullable<(typeof stats)[number]>) => number) => stats.reduce((total, s) => total + (s === undefined ? 0 : pick(s)), 0);
  return { totalBytes: sum((s) => s.total_heap_size), usedBytes: sum((s) => s.used_heap_size) };
}

/** One encoder thread and the `finish` calls it has yet to answer. */
class EncoderThread {
  readonly worker: Worker;
  readonly waiters = new Map<number, Waiter>();
  failure: Error | undefined;

  constructor(writer: ParquetWriterName) {
    this.worker = new Worker(new URL('./encoder-worker.ts', import.meta.url), { workerData: { writer } });
    this.worker.unref();
    this.worker.on('message', (reply: EncoderReply) => this.#settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`Parquet encoder worker exited with code ${code}`)));
    this.worker.once('exit', () => live.delete(this));
    live.add(this);
  }

  post(request: EncoderRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  finish(id: number): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.waiters.set(id, { resolve, reject });
      this.worker.ref();
      this.post({ op: 'finish', id });
    });
  }

  #settle(reply: EncoderReply): void {
    const waiter = this.waiters.get(reply.id);
    this.waiters.delete(reply.id);
    if (this.waiters.size === 0) this.worker.unref();
    if (reply.ok) waiter?.resolve(reply.bytes);
    else waiter?.reject(new Error(`Parquet encoder worker: ${reply.message}`));
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }
}

/**
 * Encodes Parquet files in worker threads: `factory` has the same interface as an in-thread writer,
 * but `write` only posts the batch (its typed arrays transferred, not copied) and the encoding runs
 * beside the main thread. Each file is encoded by one worker; files are spread over `workers` threads
 * in turn. A worker keeps the process alive only while a `finish` is pending.
 *
 * @example
 * const encoder = new WorkerParquetEncoder('hyparquet');
 * const file = encoder.factory.open({ columns });
 * file.write(toColumns(rows, columns));
 * const bytes = await file.finish();
 * await encoder.terminate();
 */
export class WorkerParquetEncoder {
  readonly factory: ParquetWriterFactory;
  readonly #threads: EncoderThread[];
  #nextId = 1;

  constructor(writer: ParquetWriterName, workers = 1) {
    this.#threads = Array.from({ length: Math.max(1, workers) }, () => new EncoderThread(writer));
    this.factory = {
      name: writer,
      compressions: WRITER_COMPRESSIONS[writer],
      timestampLogicalType: writer === 'hyparquet',
      open: (options) => this.#open(options),
    };
  }

  #open(options: ParquetFileOptions): ParquetFileWriter {
    const id = this.#nextId++;
    const thread = this.#threads[id % this.#threads.length] as EncoderThread;
    thread.post({ op: 'open', id, options });
    return {
      write: (batch: ColumnBatch) => {
        if (batch.length > 0) thread.post({ op: 'write', id, batch }, transferList(batch));
      },
      finish: () => thread.finish(id),
    };
  }

  /** Stops the workers; files not finished are lost. */
  async terminate(): Promise<void> {
    await Promise.all(
      this.#threads.map((thread) => {
        thread.worker.removeAllListeners('exit');
        live.delete(thread);
        thread.fail(new Error('Parquet encoder worker terminated'));
        return thread.worker.terminate();
      }),
    );
  }
}
