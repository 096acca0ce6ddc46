import type { SchedulerLike, Subscription } from 'rxjs';
import type { Envelope, Lease, RecordMeta } from '../core/envelope.ts';
import type { Logger } from '../core/logger.ts';
import type { Column, ColumnType, ParquetRow, SchemaTracker } from './parquet/schema.ts';
import type { ParquetCompression, ParquetFileWriter, ParquetStatistics, ParquetWriterFactory } from './parquet/writer.ts';
import type { HourPartition } from './s3-parquet-key.ts';
import { partitionKey } from '../core/partition.ts';

/**
 * Rows a file gathers before its writer opens and its columns are fixed. Until then a record with a
 * new field joins the file (the file takes every column known when the writer opens); after, it
 * closes the file. So widening costs at most one file per this many rows, however many new fields
 * come: not one file per new field.
 */
export const OPEN_WRITER_ROWS = 10_000;

/** A file being filled: one per topic, partition and directory (hour, after any `partitionBy` values). */
export interface OpenFile {
  readonly stream: Stream;
  /** Of the file's first record: topic, partition and first offset name the object. */
  readonly meta: RecordMeta;
  /** Offset of the file's latest record: the object name ends with it. */
  lastOffset: number;
  readonly hour: HourPartition;
  /** The directory below the sink's prefix (`<topic>/[<field>=<value>/…]<hour>`). */
  readonly dir: string;
  /** The file's columns, fixed when its writer opens (`FileTable.openWriter`); `undefined` before. */
  columns: readonly Column[] | undefined;
  /** The same columns' types by name. */
  types: ReadonlyMap<string, ColumnType> | undefined;
  /** The schema version the columns were taken at. */
  schemaVersion: number;
  /** Opened at `OPEN_WRITER_ROWS` rows or when the file closes, whichever comes first. */
  writer: ParquetFileWriter | undefined;
  readonly factory: ParquetWriterFactory;
  readonly openedAt: number;
  readonly leases: Lease[];
  /** Rows not yet handed to the writer. */
  pending: ParquetRow[];
  /** The writer's calls in order (a writer may be asynchronous). */
  chain: Promise<void>;
  rows: number;
  bytes: number;
  closed: boolean;
  timer: Subscription | undefined;
}

/** Adds a record's row to a file: the file takes over its lease and now ends at its offset. */
export function appendRow(file: OpenFile, envelope: Envelope<unknown>, row: ParquetRow, bytes: number): void {
  file.pending.push(row);
  file.leases.push(envelope.lease);
  file.lastOffset = envelope.meta.offset;
  file.rows += 1;
  file.bytes += bytes;
}

/** The open files of one topic-partition and the latest hour seen there. */
interface Stream {
  readonly topic: string;
  readonly partition: number;
  latestHour: HourPartition;
  /** By directory. */
  readonly files: Map<string, OpenFile>;
  /** The latest offset, to warn once when offsets go back (-1: none yet). */
  lastOffset: number;
  warned: boolean;
}

export interface FileTableOptions {
  readonly id: string;
  readonly logger: Logger;
  readonly schema: SchemaTracker;
  readonly scheduler: SchedulerLike;
  readonly maxFileAgeMs: number;
  readonly compression: ParquetCompression;
  readonly statistics: ParquetStatistics;
  readonly rowGroupRows: number;
  /** Called for every file that must close; it removes the file with `forget`. */
  readonly close: (file: OpenFile) => void;
}

/**
 * The open files of a sink, by topic, partition and hour. Finding a record's file also closes the
 * files the record ends: those of earlier hours once its partition reaches a later hour, one older
 * than `maxFileAgeMs`, one whose writer is open with columns that lack the record's.
 */
export class FileTable {
  readonly #o: FileTableOptions;
  readonly #streams = new Map<string, Stream>();
  /** The stream of the previous record: batches come mostly from one partition. */
  #last: Stream | undefined;

  constructor(options: FileTableOptions) {
    this.#o = options;
  }

  fileFor(meta: RecordMeta, hour: HourPartition, row: ParquetRow, now: number, factory: ParquetWriterFactory, dir: string = hour): OpenFile {
    const stream = this.#stream(meta, hour);
    if (meta.offset < stream.lastOffset && !stream.warned) {
      // Replay recovery relies on offset order: an object's range may now claim a record it lacks.
      stream.warned = true;
      const { topic, partition, offset } = meta;
      this.#o.logger.warn({ step: this.#o.id, topic, partition, offset, previous: stream.lastOffset }, 'records reach the Parquet sink out of offset order');
    }
    stream.lastOffset = meta.offset;
    if (hour > stream.latestHour) {
      // Event time has reached a later hour: files of earlier hours are complete.
      for (const file of stream.files.values()) this.#o.close(file);
      stream.latestHour = hour;
    }
    const file = stream.files.get(dir);
    if (file !== undefined && now - file.openedAt < this.#o.maxFileAgeMs && !this.#lacksColumns(file, row)) return file;
    if (file !== undefined) this.#o.close(file);
    return this.#open(stream, meta, hour, dir, now, factory);
  }

  /** Opens the file's writer (once) with every column the schema has now: the file's rows fit them. */
  openWriter(file: OpenFile): ParquetFileWriter {
    if (file.writer !== undefined) return file.writer;
    const { schema } = this.#o;
    const columns = schema.columns;
    file.columns = columns;
    file.types = new Map(columns.map((c) => [c.name, c.type]));
    file.schemaVersion = schema.version;
    file.writer = file.factory.open({ columns, compression: this.#o.compression, statistics: this.#o.statistics, rowGroupRows: this.#o.rowGroupRows });
    return file.writer;
  }

  /** Every open file. */
  *files(): IterableIterator<OpenFile> {
    for (const stream of this.#streams.values()) yield* stream.files.values();
  }

  /**
   * Forgets revoked partitions (they may come back from an earlier offset); returns their open
   * files, for the caller to drop.
   */
  revoked(partitions: readonly { topic: string; partition: number }[]): OpenFile[] {
    const open: OpenFile[] = [];
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const stream = this.#streams.get(key);
      if (stream === undefined) continue;
      open.push(...stream.files.values());
      this.#streams.delete(key);
      if (this.#last === stream) this.#last = undefined;
    }
    return open;
  }

  /** Removes a closed file from the table and stops its timer. */
  forget(file: OpenFile): void {
    file.timer?.unsubscribe();
    if (file.stream.files.get(file.dir) === file) file.stream.files.delete(file.dir);
  }

  #stream(meta: RecordMeta, hour: HourPartition): Stream {
    const last = this.#last;
    if (last !== undefined && last.topic === meta.topic && last.partition === meta.partition) return last;
    const key = partitionKey(meta.topic, meta.partition);
    let stream = this.#streams.get(key);
    if (stream === undefined) {
      stream = { topic: meta.topic, partition: meta.partition, latestHour: hour, files: new Map(), lastOffset: -1, warned: false };
      this.#streams.set(key, stream);
    }
    this.#last = stream;
    return stream;
  }

  #lacksColumns(file: OpenFile, row: ParquetRow): boolean {
    const schema = this.#o.schema;
    const types = file.types;
    // Not open yet: the writer will take every column the schema has then, this row's included.
    if (types === undefined || file.schemaVersion === schema.version) return false;
    for (const name in row) if (types.get(name) !== schema.typeOf(name)) return true;
    return false;
  }

  #open(stream: Stream, meta: RecordMeta, hour: HourPartition, dir: string, now: number, factory: ParquetWriterFactory): OpenFile {
    const { scheduler } = this.#o;
    const file: OpenFile = {
      stream,
      meta,
      lastOffset: meta.offset,
      hour,
      dir,
      columns: undefined,
      types: undefined,
      schemaVersion: -1,
      writer: undefined,
      factory,
      openedAt: now,
      leases: [],
      pending: [],
      chain: Promise.resolve(),
      rows: 0,
      bytes: 0,
      closed: false,
      timer: undefined,
    };
    file.timer = scheduler.schedule(() => this.#o.close(file), this.#o.maxFileAgeMs);
    stream.files.set(dir, file);
    return file;
  }
}
