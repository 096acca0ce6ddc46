import { DEFAULT_PARQUET_WRITER, PARQUET_STATISTICS, PARQUET_WRITERS, WRITER_COMPRESSIONS, type ParquetStatistics, type ParquetWriterName } from '../../../sinks/parquet/writer.ts';
import { DEFAULT_MAX_COLUMNS } from '../../../sinks/s3-parquet-options.ts';
import { s3ParquetSink } from '../../../sinks/s3-parquet.ts';
import { bool, bucketName, oneOf, path, positiveInt } from '../../checks.ts';
import { ConfigError } from '../../../core/errors.ts';
import type { Check, Described } from '../../schema.ts';
import { child, described, entries, fail, isPlainObject, oneOrMore } from '../../schema.ts';
import { fileLimits, lastSegment, object, prefix, properties, rotation, timezone, type Rotation, type RotationSpec } from '../common.ts';
import { defineSink, option, type NodeBase } from '../kind.ts';

/** As the Parquet sink: `timestamp` is epoch ms (ISO strings are converted). */
export type ColumnType = 'string' | 'int64' | 'double' | 'boolean' | 'timestamp';

export interface S3ParquetSinkSpec {
  readonly id: string;
  readonly kind: 's3-parquet';
  readonly from: string | readonly string[];
  readonly bucket: string;
  /** Objects go to `<prefix>/<topic>/year=YYYY/month=MM/day=dd/hour=HH/`. Default `events`. */
  readonly prefix?: string;
  /** Fields whose values partition before the hour, Hive style: `[platform]` gives `<topic>/platform=ios/year=…/`. */
  readonly partitionBy?: string | readonly string[];
  /** Declared columns (nullable unless `{ type, nullable: false }`); default: inferred from the records. */
  readonly columns?: Readonly<Record<string, ColumnType | { readonly type: ColumnType; readonly nullable?: boolean }>>;
  /** Fields no declared column names: `widen` (default) adds columns, `drop` leaves them out. */
  readonly extraFields?: 'widen' | 'drop';
  /** Columns at most, declared ones included; a record that would add more goes to dead letters (`TRIB_SCHEMA_LIMIT`). Default 256. */
  readonly maxColumns?: number;
  /** Close a file at whichever comes first. Defaults 100,000 rows, `64MiB`, `5m`. */
  readonly rotation?: RotationSpec;
  /** Default `snappy`; `none` (or `uncompressed`) for none. zstd needs the hyparquet writer. */
  readonly compression?: 'snappy' | 'zstd' | 'gzip' | 'none' | 'uncompressed';
  /** Columns with min/max statistics: `numeric` (default; numbers, timestamps, booleans) or `all`. */
  readonly statistics?: ParquetStatistics;
  /** Time zone of the hour partitions. Default `UTC`. */
  readonly timezone?: string;
  /** Default `hyparquet`. */
  readonly writer?: ParquetWriterName;
  /** Worker threads encoding files. Default 1. */
  readonly encoderWorkers?: number;
}

export interface S3ParquetSink extends NodeBase {
  readonly kind: 's3-parquet';
  readonly bucket: string;
  readonly prefix: string;
  readonly partitionBy: readonly string[];
  /** As the Parquet sink's `ColumnSpec`s. */
  readonly columns: readonly { readonly name: string; readonly type: ColumnType; readonly nullable: boolean }[] | undefined;
  readonly extraFields: 'widen' | 'drop';
  readonly maxColumns: number;
  readonly rotation: Rotation;
  readonly compression: 'snappy' | 'zstd' | 'gzip' | 'uncompressed';
  readonly statistics: ParquetStatistics;
  readonly timeZone: string;
  readonly writer: ParquetWriterName;
  readonly encoderWorkers: number;
}

const pathList = oneOrMore(path);
/** One field path or a list of distinct ones. */
const partitionBy: Described<string[]> = described((value, at, c) => {
  const fields = pathList(value, at, c);
  if (fields === undefined || fields.some((f) => typeof f !== 'string')) return fields;
  const names = fields.map((f) => f.replaceAll('.', '_'));
  if (new Set(names).size !== names.length) return fail(c, at, `lists a field twice (directory names: ${names.join(', ')})`);
  return fields;
}, pathList.schema);

const columnType = oneOf('string', 'int64', 'double', 'boolean', 'timestamp');

type Column = { type: ColumnType; nullable: boolean };

const columnObject = object((f) => ({ type: f.req('type', columnType), nullable: f.def('nullable', bool, true) }), properties({ type: columnType, nullable: bool }, {}, ['type']));
const column: Check<Column> = (value, at, c) => (isPlainObject(value) ? columnObject(value, at, c) : { type: columnType(value, at, c), nullable: true });

const columnEntries = entries(column, undefined, { min: 1 });
const columns: Described<({ name: string } & Column)[]> = described(
  (value, at, c) => columnEntries(value, at, c)?.map(([name, col]) => ({ name, ...col })),
  { type: 'object', minProperties: 1, additionalProperties: { anyOf: [columnType.schema, columnObject.schema] } },
);

export const s3ParquetKind = defineSink<S3ParquetSinkSpec, S3ParquetSink>()({
  kind: 's3-parquet',
  doc: 'Writes records to hourly-partitioned Parquet files on S3 (<prefix>/<topic>/year=YYYY/month=MM/day=dd/hour=HH/), named by their offsets so that a replay overwrites rather than duplicates.',
  options: {
    bucket: option(bucketName, { required: true, doc: 'The bucket.' }),
    prefix: option(prefix, { default: 'events', doc: 'Objects go to <prefix>/<topic>/year=YYYY/month=MM/day=dd/hour=HH/.' }),
    partitionBy: option(partitionBy, { default: [], doc: 'Fields whose values partition before the hour, Hive style: [platform] gives <topic>/platform=ios/year=…/.' }),
    columns: option(columns, { doc: 'Declared columns (nullable unless { type, nullable: false }); default: inferred from the records.' }),
    extraFields: option(oneOf('widen', 'drop'), { default: 'widen', doc: 'Fields no declared column names: widen adds columns, drop leaves them out.' }),
    maxColumns: option(positiveInt, { default: DEFAULT_MAX_COLUMNS, doc: 'Columns at most; a record that would add more goes to dead letters (TRIB_SCHEMA_LIMIT).' }),
    rotation: option(rotation, { default: {}, doc: 'Close a file at whichever comes first: { rows, bytes, interval }.' }),
    compression: option(oneOf('snappy', 'zstd', 'gzip', 'none', 'uncompressed'), { default: 'snappy', doc: 'The codec; none (or uncompressed) for none.' }),
    statistics: option(oneOf(...PARQUET_STATISTICS), {
      default: 'numeric',
      doc: 'Columns with min/max statistics: numeric (numbers, timestamps, booleans) or all (string columns too; the encoder then compares every string value as UTF-8).',
    }),
    timezone: option(timezone, { default: 'UTC', doc: 'Time zone of the hour partitions.' }),
    writer: option(oneOf(...PARQUET_WRITERS), { default: DEFAULT_PARQUET_WRITER, doc: 'The Parquet encoder (see the README on writers).' }),
    encoderWorkers: option(positiveInt, { default: 1, doc: 'Worker threads encoding files; more than one only pays with more than two cores.' }),
  },
  read: (o, base, c) => {
    const writer = o.get('writer');
    const given = o.get('compression');
    const compression = given === 'none' ? 'uncompressed' : given;
    const supported = writer === undefined ? undefined : WRITER_COMPRESSIONS[writer];
    if (compression !== undefined && supported !== undefined && !supported.includes(compression)) {
      const able = PARQUET_WRITERS.filter((w) => WRITER_COMPRESSIONS[w].includes(compression));
      c.report(child(o.at, 'compression'), `${compression} needs the ${able.join(' or ')} writer (writer is ${writer})`);
    }
    return {
      ...base,
      kind: 's3-parquet',
      bucket: o.get('bucket'),
      prefix: o.get('prefix'),
      partitionBy: o.get('partitionBy'),
      columns: o.get('columns'),
      extraFields: o.get('extraFields'),
      maxColumns: o.get('maxColumns'),
      rotation: o.get('rotation'),
      compression,
      statistics: o.get('statistics'),
      timeZone: o.get('timezone'),
      writer,
      encoderWorkers: o.get('encoderWorkers'),
    };
  },
  compile: (sink, ctx, deps) => {
    if (!deps.s3) throw missingS3(sink.id);
    return s3ParquetSink(
      {
        id: sink.id,
        client: deps.s3,
        bucket: sink.bucket,
        prefix: sink.prefix,
        partitionBy: sink.partitionBy,
        writer: sink.writer,
        encoderWorkers: sink.encoderWorkers,
        compression: sink.compression,
        statistics: sink.statistics,
        ...(sink.columns ? { columns: sink.columns } : {}),
        extraFields: sink.extraFields,
        maxColumns: sink.maxColumns,
        timeZone: sink.timeZone,
        ...fileLimits(sink.rotation),
        ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
      },
      ctx.sinkContext,
    );
  },
  // Pictures truncate long details: with partitionBy, the layout says more than the bucket.
  describe: (sink) => (sink.partitionBy.length === 0 ? `${sink.bucket}/${sink.prefix}` : `${sink.prefix}/ by ${sink.partitionBy.map(lastSegment).join(', ')}, hour`),
  rotates: true,
  buckets: (sink) => [sink.bucket],
});

export function missingS3(id: string): ConfigError {
  return new ConfigError(`/sinks/${id}: no S3 client was given to the compiler`);
}
