import { Writable } from 'node:stream';
import { setOwn } from '../../core/json.ts';
import { toRows, type ColumnBatch } from './columns.ts';
import type { Column } from './schema.ts';
import { DEFAULT_ROW_GROUP_ROWS, type ParquetCompression, type ParquetFileOptions, type ParquetFileWriter, type ParquetWriterFactory } from './writer.ts';

/** The part of the parquetjs API (parquetjs-lite and its forks share it) that Tributary uses. */
export interface ParquetjsLib {
  ParquetSchema: new (fields: Record<string, ParquetjsField>) => object;
  ParquetWriter: {
    openStream(schema: object, stream: Writable, options: { rowGroupSize: number }): Promise<ParquetjsWriter>;
  };
}

interface ParquetjsField {
  type: string;
  optional: boolean;
  compression: string;
}

interface ParquetjsWriter {
  appendRow(row: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

const TYPES: Record<Column['type'], string> = {
  string: 'UTF8',
  int64: 'INT64',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP_MILLIS',
};

class ParquetjsFile implements ParquetFileWriter {
  readonly #chunks: Buffer[] = [];
  readonly #writer: Promise<ParquetjsWriter>;
  readonly #columns: readonly Column[];

  constructor(lib: ParquetjsLib, options: ParquetFileOptions) {
    const compression = (options.compression ?? 'snappy').toUpperCase();
    const fields: Record<string, ParquetjsField> = {};
    for (const column of options.columns) setOwn(fields, column.name, { type: TYPES[column.type], optional: column.nullable, compression });
    this.#columns = options.columns;
    const chunks = this.#chunks;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    this.#writer = lib.ParquetWriter.openStream(new lib.ParquetSchema(fields), sink, {
      rowGroupSize: options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS,
    });
    // Surfaced by write() or finish(); never an unhandled rejection in between.
    this.#writer.catch(() => {});
  }

  async write(batch: ColumnBatch): Promise<void> {
    const writer = await this.#writer;
    // Rows without a prototype: one without a `constructor` field must not hand the writer Object.prototype's.
    for (const row of toRows(batch, this.#columns)) await writer.appendRow(row);
  }

  async finish(): Promise<Uint8Array> {
    await (await this.#writer).close();
    return Buffer.concat(this.#chunks);
  }
}

/** A writer factory over a parquetjs-style library. */
export function parquetjsFactory(name: string, lib: ParquetjsLib, compressions: readonly ParquetCompression[]): ParquetWriterFactory {
  return { name, compressions, timestampLogicalType: false, open: (options) => new ParquetjsFile(lib, options) };
}
