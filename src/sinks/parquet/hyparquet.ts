import { zstdCompressSync, gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { compressSync as snappyCompressSync } from 'snappy';
import { pushValues, type ColumnBatch } from './columns.ts';
import type { Column } from './schema.ts';
import {
  DEFAULT_ROW_GROUP_ROWS,
  type ParquetCompression,
  type ParquetFileOptions,
  type ParquetFileWriter,
  type ParquetWriterFactory,
  WRITER_COMPRESSIONS,
} from './writer.ts';

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];
type Codec = 'SNAPPY' | 'ZSTD' | 'GZIP' | 'UNCOMPRESSED';

const CODECS: Record<ParquetCompression, Codec> = {
  snappy: 'SNAPPY',
  zstd: 'ZSTD',
  gzip: 'GZIP',
  uncompressed: 'UNCOMPRESSED',
};

const asBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * Native compressors. The `snappy` binding compresses 5-6× faster than hyparquet's JavaScript snappy,
 * though compression is only a few per cent of encoding (bench/RESULTS.md).
 */
const COMPRESSORS = {
  SNAPPY: (input: Uint8Array) => asBytes(snappyCompressSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength))),
  ZSTD: (input: Uint8Array) => asBytes(zstdCompressSync(input)),
  GZIP: (input: Uint8Array) => asBytes(gzipSync(input)),
};

function element(column: Column): SchemaElement {
  const repetition_type = column.nullable ? 'OPTIONAL' : 'REQUIRED';
  switch (column.type) {
    case 'string':
      return { name: column.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
    case 'int64':
      return { name: column.name, type: 'INT64', repetition_type };
    case 'double':
      return { name: column.name, type: 'DOUBLE', repetition_type };
    case 'boolean':
      return { name: column.name, type: 'BOOLEAN', repetition_type };
    case 'timestamp':
      return {
        name: column.name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type,
      };
  }
}

class HyparquetFile implements ParquetFileWriter {
  readonly #names: string[];
  /** hyparquet takes INT64 as bigint; timestamps are converted by their logical type. */
  readonly #int64: boolean[];
  readonly #rowGroupRows: number;
  /** Per column: whether it gets statistics (see `ParquetFileOptions.statistics`). */
  readonly #statistics: boolean[];
  readonly #bytes = new ByteWriter(1 << 16);
  readonly #writer: ParquetWriter;
  #data: unknown[][];
  #buffered = 0;

  constructor(options: ParquetFileOptions, compressors: Partial<typeof COMPRESSORS>) {
    const { columns } = options;
    this.#names = columns.map((c) => c.name);
    this.#int64 = columns.map((c) => c.type === 'int64');
    this.#statistics = columns.map((c) => options.statistics === 'all' || c.type !== 'string');
    this.#rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.#data = columns.map(() => []);
    this.#writer = new ParquetWriter({
      writer: this.#bytes,
      schema: [{ name: 'root', num_children: columns.length }, ...columns.map(element)],
      codec: CODECS[options.compression ?? 'snappy'],
      compressors,
      createdBy: 'tributary (hyparquet-writer)',
    });
  }

  write(batch: ColumnBatch): void {
    for (let start = 0; start < batch.length; ) {
      const end = Math.min(batch.length, start + this.#rowGroupRows - this.#buffered);
      batch.vectors.forEach((vector, i) => pushValues(vector, this.#data[i] as never, start, end, this.#int64[i]));
      this.#buffered += end - start;
      start = end;
      if (this.#buffered >= this.#rowGroupRows) this.#flushGroup();
    }
  }

  #flushGroup(): void {
    if (this.#buffered === 0) return;
    const columnData = this.#names.map((name, i) => ({ name, data: this.#data[i] as unknown[], statistics: this.#statistics[i] }));
    // The columns are sized to one row group, so this writes exactly one.
    void this.#writer.write({ columnData: columnData as never, rowGroupSize: this.#buffered });
    this.#data = this.#names.map(() => []);
    this.#buffered = 0;
  }

  async finish(): Promise<Uint8Array> {
    this.#flushGroup();
    await this.#writer.finish();
    // A copy of the exact length: the growing buffer can be twice the file's size.
    return new Uint8Array(this.#bytes.getBuffer());
  }
}

/**
 * hyparquet-writer: pure JavaScript, columnar, dictionary encoding, statistics; snappy (native
 * binding), zstd and gzip (node:zlib); timestamps with the TIMESTAMP(MILLIS, UTC) logical type.
 */
export const hyparquetWriter: ParquetWriterFactory = {
  name: 'hyparquet',
  compressions: WRITER_COMPRESSIONS.hyparquet,
  timestampLogicalType: true,
  open: (options) => new HyparquetFile(options, COMPRESSORS),
};

/** The same writer with hyparquet's built-in JavaScript snappy: kept to measure the native binding's gain. */
export const hyparquetJsSnappyWriter: ParquetWriterFactory = {
  ...hyparquetWriter,
  compressions: ['snappy', 'uncompressed'],
  open: (options) => new HyparquetFile(options, {}),
};
