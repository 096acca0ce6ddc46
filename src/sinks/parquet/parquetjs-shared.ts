import { Writable } from 'node:stream';
import type { Column, ParquetRow } from './schema.ts';
import {
  DEFAULT_ROW_GROUP_ROWS,
  type ParquetFileOptions,
  type ParquetFileWriter,
  type ParquetWriterFactory,
  WRITER_COMPRESSIONS,
} from './writer.ts';

/** The part of the parquetjs API (parquetjs-lite and @dsnp/parquetjs share it) that Tributary uses. */
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

  constructor(lib: ParquetjsLib, options: ParquetFileOptions) {
    const compression = (options.compression ?? 'snappy').toUpperCase();
    const fields: Record<string, ParquetjsField> = {};
    for (const column of options.columns) {
      fields[column.name] = { type: TYPES[column.type], optional: column.nullable, compression };
    }
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

  async write(rows: readonly ParquetRow[]): Promise<void> {
    const writer = await this.#writer;
    for (const row of rows) await writer.appendRow(row);
  }

  async finish(): Promise<Uint8Array> {
    await (await this.#writer).close();
    return Buffer.concat(this.#chunks);
  }
}

/** A writer factory over a parquetjs-style library. */
export function parquetjsFactory(name: 'parquetjs-lite' | 'dsnp', lib: ParquetjsLib): ParquetWriterFactory {
  const compressions = WRITER_COMPRESSIONS[name];
  return { name, compressions, timestampLogicalType: false, open: (options) => new ParquetjsFile(lib, options) };
}
