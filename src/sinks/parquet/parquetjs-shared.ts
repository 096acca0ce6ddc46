import { Writable } from 'node:stream';
import { setOwn } from '../../core/json.ts';
import type { Column, ParquetRow } from './schema.ts';
import {
  DEFAULT_ROW_GROUP_ROWS,
  inheritedName,
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
  readonly #inherited: boolean;

  constructor(lib: ParquetjsLib, options: ParquetFileOptions) {
    const compression = (options.compression ?? 'snappy').toUpperCase();
    const fields: Record<string, ParquetjsField> = {};
    for (const column of options.columns) setOwn(fields, column.name, { type: TYPES[column.type], optional: column.nullable, compression });
    this.#inherited = options.columns.some((c) => inheritedName(c.name));
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
    // A row without a `constructor` field must not hand the writer Object.prototype's.
    for (const row of rows) await writer.appendRow(this.#inherited ? Object.assign(Object.create(null) as ParquetRow, row) : row);
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
