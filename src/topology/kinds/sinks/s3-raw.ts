import { s3RawSink } from '../../../sinks/s3-raw.ts';
import { bucketName, oneOf } from '../../checks.ts';
import { child } from '../../schema.ts';
import { fileLimits, prefix, rotation, timezone, type Rotation, type RotationSpec } from '../common.ts';
import { defineSink, option, type NodeBase } from '../kind.ts';
import { missingS3 } from './s3-parquet.ts';

/**
 * The records of sources as they came, before `parse`: newline-delimited, compressed, one object per
 * topic, partition, hour and file cut, replay-proof like `s3-parquet`. Reads sources only.
 */
export interface S3RawSinkSpec {
  readonly id: string;
  readonly kind: 's3-raw';
  readonly from: string | readonly string[];
  readonly bucket: string;
  /** Default `raw` (`errors` with `layout: dead-letters`). */
  readonly prefix?: string;
  /** `record` (default): a JSON line per record with offset, key, headers and value; `value`: the bytes and a newline. */
  readonly format?: 'record' | 'value';
  /** Default `gzip`. */
  readonly compression?: 'gzip' | 'zstd' | 'none';
  /** `source` (default): `<prefix>/<topic>/<hour>/`; `dead-letters`: `<prefix>/<step>/<error code>/<hour>/`, from a dead-letter topic. */
  readonly layout?: 'source' | 'dead-letters';
  /** Close a file at whichever comes first. Defaults 100,000 rows, `64MiB`, `5m`. */
  readonly rotation?: RotationSpec;
  /** Time zone of the hour partitions (by Kafka timestamp). Default `UTC`. */
  readonly timezone?: string;
}

export interface S3RawSink extends NodeBase {
  readonly kind: 's3-raw';
  readonly bucket: string;
  readonly prefix: string;
  readonly format: 'record' | 'value';
  readonly compression: 'gzip' | 'zstd' | 'none';
  readonly layout: 'source' | 'dead-letters';
  readonly rotation: Rotation;
  readonly timeZone: string;
}

export const s3RawKind = defineSink<S3RawSinkSpec, S3RawSink>()({
  kind: 's3-raw',
  doc: 'Archives source records as they came (before parse) as compressed newline-delimited files on S3, per topic, partition and hour; replay-proof like s3-parquet. Reads sources only.',
  options: {
    bucket: option(bucketName, { required: true, doc: 'The bucket.' }),
    prefix: option(prefix, { doc: 'Default raw (errors with layout dead-letters).' }),
    format: option(oneOf('record', 'value'), { default: 'record', doc: 'record: a JSON line per record with offset, key, headers and value; value: the bytes and a newline.' }),
    compression: option(oneOf('gzip', 'zstd', 'none'), { default: 'gzip', doc: 'The file codec.' }),
    layout: option(oneOf('source', 'dead-letters'), { default: 'source', doc: 'source: <prefix>/<topic>/<hour>/; dead-letters: <prefix>/<step>/<error code>/<hour>/, from a dead-letter topic.' }),
    rotation: option(rotation, { default: {}, doc: 'Close a file at whichever comes first: { rows, bytes, interval }.' }),
    timezone: option(timezone, { default: 'UTC', doc: 'Time zone of the hour partitions (by Kafka timestamp).' }),
  },
  read: (o, base, c) => {
    const layout = o.get('layout');
    const format = o.get('format');
    if (layout === 'dead-letters' && format === 'value') c.report(child(o.at, 'format'), 'must be record with layout dead-letters (it keeps the headers)');
    return {
      ...base,
      kind: 's3-raw',
      bucket: o.get('bucket'),
      prefix: o.has('prefix') ? (o.get('prefix') as string) : layout === 'dead-letters' ? 'errors' : 'raw',
      format,
      compression: o.get('compression'),
      layout,
      rotation: o.get('rotation'),
      timeZone: o.get('timezone'),
    };
  },
  compile: (sink, ctx, deps) => {
    if (!deps.s3) throw missingS3(sink.id);
    return s3RawSink(
      {
        id: sink.id,
        client: deps.s3,
        bucket: sink.bucket,
        prefix: sink.prefix,
        format: sink.format,
        compression: sink.compression,
        layout: sink.layout,
        timeZone: sink.timeZone,
        ...fileLimits(sink.rotation),
        ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
      },
      ctx.sinkContext,
    );
  },
  describe: (sink) => `${sink.bucket}/${sink.prefix}, ${sink.compression}`,
  readsSources: true,
  readsSourcesOnly: true,
  rotates: true,
  buckets: (sink) => [sink.bucket],
});
