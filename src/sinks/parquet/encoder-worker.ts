/**
 * Worker-thread entry of `WorkerParquetEncoder`: holds the files being built and encodes them off
 * the main thread. Messages: `open`, `write` (no reply) and `finish` (replies with the bytes).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ColumnBatch } from './columns.ts';
import { loadParquetWriter, type ParquetFileOptions, type ParquetFileWriter, type ParquetWriterName } from './writer.ts';

export type EncoderRequest =
  | { readonly op: 'open'; readonly id: number; readonly options: ParquetFileOptions }
  /** Columns, their typed arrays transferred: a fraction of the main thread's cost of rows as JSON. */
  | { readonly op: 'write'; readonly id: number; readonly batch: ColumnBatch }
  | { readonly op: 'finish'; readonly id: number };

export type EncoderReply =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly message: string };

interface File {
  readonly writer: ParquetFileWriter;
  /** Writes run in order even when a writer is asynchronous. */
  chain: Promise<void>;
}

const port = parentPort;
if (port !== null) {
  const factory = await loadParquetWriter((workerData as { writer: ParquetWriterName }).writer);
  const files = new Map<number, File>();
  port.on('message', (request: EncoderRequest) => {
    if (request.op === 'open') {
      files.set(request.id, { writer: factory.open(request.options), chain: Promise.resolve() });
      return;
    }
    const file = files.get(request.id);
    if (file === undefined) {
      port.postMessage({ id: request.id, ok: false, message: `no open file ${request.id}` } satisfies EncoderReply);
      return;
    }
    if (request.op === 'write') {
      file.chain = file.chain.then(() => file.writer.write(request.batch));
      return;
    }
    files.delete(request.id);
    file.chain
      .then(() => file.writer.finish())
      .then((bytes) => {
        // Transfer, not copy: an exclusive buffer of the exact length.
        const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
        port.postMessage({ id: request.id, ok: true, bytes: own } satisfies EncoderReply, [own.buffer as ArrayBuffer]);
      })
      .catch((error: unknown) => {
        port.postMessage({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) } satisfies EncoderReply);
      });
  });
}
