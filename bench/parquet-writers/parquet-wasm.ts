import {
  Bool,
  Float64,
  Int64,
  makeBuilder,
  RecordBatch,
  Schema,
  Field,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  tableToIPC,
  type Builder,
  type DataType,
} from 'apache-arrow';
import { pushValues, type ColumnBatch } from '../../src/sinks/parquet/columns.ts';
import type { Column } from '../../src/sinks/parquet/schema.ts';
import {
  DEFAULT_ROW_GROUP_ROWS,
  type ParquetCompression,
  type ParquetFileOptions,
  type ParquetFileWriter,
  type ParquetWriterFactory,
} from '../../src/sinks/parquet/writer.ts';

type Wasm = typeof import('parquet-wasm');

function arrowType(column: Column): DataType {
  switch (column.type) {
    case 'string':
      return new Utf8();
    case 'int64':
      return new Int64();
    case 'double':
      return new Float64();
    case 'boolean':
      return new Bool();
    case 'timestamp':
      return new TimestampMillisecond('UTC');
  }
}

class ParquetWasmFile implements ParquetFileWriter {
  readonly #wasm: Wasm;
  readonly #compression: ParquetCompression;
  readonly #rowGroupRows: number;
  readonly #int64: boolean[];
  readonly #schema: Schema;
  readonly #builders: Builder[];
  readonly #batches: RecordBatch[] = [];
  #buffered = 0;

  constructor(wasm: Wasm, options: ParquetFileOptions) {
    this.#wasm = wasm;
    this.#compression = options.compression ?? 'snappy';
    this.#rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.#int64 = options.columns.map((c) => c.type === 'int64' || c.type === 'timestamp');
    this.#schema = new Schema(options.columns.map((c) => new Field(c.name, arrowType(c), c.nullable)));
    this.#builders = this.#schema.fields.map((f) => makeBuilder({ type: f.type, nullValues: [null, undefined] }));
  }

  write(batch: ColumnBatch): void {
    for (let start = 0; start < batch.length; ) {
      const end = Math.min(batch.length, start + this.#rowGroupRows - this.#buffered);
      batch.vectors.forEach((vector, i) => {
        const values: unknown[] = [];
        pushValues(vector, values as never, start, end);
        const builder = this.#builders[i] as Builder;
        for (const value of values) builder.append(value !== null && this.#int64[i] ? BigInt(value as number) : value);
      });
      this.#buffered += end - start;
      start = end;
      if (this.#buffered >= this.#rowGroupRows) this.#flushBatch();
    }
  }

  #flushBatch(): void {
    if (this.#buffered === 0) return;
    const children = this.#builders.map((b) => b.flush());
    const data = makeData({ type: new Struct(this.#schema.fields), length: this.#buffered, nullCount: 0, children });
    this.#batches.push(new RecordBatch(this.#schema, data));
    this.#buffered = 0;
  }

  async finish(): Promise<Uint8Array> {
    this.#flushBatch();
    const { Compression, Table: WasmTable, WriterPropertiesBuilder, writeParquet } = this.#wasm;
    const codec = {
      snappy: Compression.SNAPPY,
      zstd: Compression.ZSTD,
      gzip: Compression.GZIP,
      uncompressed: Compression.UNCOMPRESSED,
    }[this.#compression];
    const table = WasmTable.fromIPCStream(tableToIPC(new Table(this.#schema, this.#batches), 'stream'));
    this.#batches.length = 0;
    const properties = new WriterPropertiesBuilder()
      .setCompression(codec)
      .setMaxRowGroupSize(this.#rowGroupRows)
      .setCreatedBy('tributary (parquet-wasm)')
      .build();
    return writeParquet(table, properties);
  }
}

/**
 * A bake-off contender: parquet-wasm 0.8 (the Rust `parquet` crate in WebAssembly) fed by apache-arrow builders: rows are
 * appended to Arrow columns, then the table crosses into WebAssembly as Arrow IPC and is encoded
 * there. Snappy, zstd and gzip; timestamps with the TIMESTAMP(MILLIS, UTC) logical type.
 */
export async function loadParquetWasmWriter(): Promise<ParquetWriterFactory> {
  const wasm = await import('parquet-wasm');
  return {
    name: 'parquet-wasm',
    compressions: ['snappy', 'zstd', 'gzip', 'uncompressed'],
    timestampLogicalType: true,
    open: (options) => new ParquetWasmFile(wasm, options),
  };
}
