/**
 * LZ4, zstd and Snappy codecs for kafkajs, which ships only gzip (reading an LZ4 batch otherwise
 * crashes the consumer with `KafkaJSNotImplemented`).
 *
 * - LZ4: Kafka (record batch v2) uses the LZ4 *frame* format: lz4-napi `compressFrame`/`decompressFrame`.
 * - zstd: node:zlib (Node 24).
 * - Snappy: Kafka's Java producer writes xerial-framed snappy (`\x82SNAPPY\0` header, then
 *   big-endian length-prefixed raw snappy chunks); librdkafka and @platformatic/kafka write raw snappy.
 *   Decoding accepts both; encoding writes xerial framing, which every Kafka client reads.
 *
 * @example
 * ```ts
 * registerKafkajsCodecs(); // once, before a kafkajs consumer or producer starts
 * ```
 */
import { promisify } from 'node:util';
import { zstdCompress, zstdDecompress } from 'node:zlib';
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

const { CompressionCodecs, CompressionTypes } = kafkajs;
const zstdCompressAsync = promisify(zstdCompress);
const zstdDecompressAsync = promisify(zstdDecompress);

/** A kafkajs codec: `compress` gets the encoder (its `buffer` is the bytes). */
export interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_BLOCK_BYTES = 32 * 1024;

export function isXerialFramed(buffer: Buffer): boolean {
  return buffer.length >= XERIAL_HEADER_BYTES && buffer.subarray(0, 8).equals(XERIAL_MAGIC);
}

/** Decodes xerial-framed or raw snappy. */
export async function snappyDecode(buffer: Buffer): Promise<Buffer> {
  if (!isXerialFramed(buffer)) return (await snappyUncompress(buffer)) as Buffer;
  const chunks: Buffer[] = [];
  let offset = XERIAL_HEADER_BYTES;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw new Error('truncated xerial snappy chunk header');
    const size = buffer.readUInt32BE(offset);
    offset += 4;
    if (offset + size > buffer.length) throw new Error('truncated xerial snappy chunk');
    chunks.push((await snappyUncompress(buffer.subarray(offset, offset + size))) as Buffer);
    offset += size;
  }
  return Buffer.concat(chunks);
}

/** Encodes xerial-framed snappy (what the Java producer writes), in 32 KiB blocks. */
export async function snappyEncodeXerial(buffer: Buffer): Promise<Buffer> {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeUInt32BE(1, 8); // version
  header.writeUInt32BE(1, 12); // minimum compatible version
  const parts: Buffer[] = [header];
  for (let offset = 0; offset < buffer.length; offset += XERIAL_BLOCK_BYTES) {
    const block = await snappyCompress(buffer.subarray(offset, offset + XERIAL_BLOCK_BYTES));
    const size = Buffer.alloc(4);
    size.writeUInt32BE(block.length, 0);
    parts.push(size, block);
  }
  return Buffer.concat(parts);
}

export const lz4Codec: KafkajsCodec = {
  compress: (encoder) => compressFrame(encoder.buffer),
  decompress: (buffer) => decompressFrame(buffer),
};

export const zstdCodec: KafkajsCodec = {
  compress: (encoder) => zstdCompressAsync(encoder.buffer),
  decompress: (buffer) => zstdDecompressAsync(buffer),
};

export const snappyCodec: KafkajsCodec = {
  compress: (encoder) => snappyEncodeXerial(encoder.buffer),
  decompress: snappyDecode,
};

let registered = false;

/** Registers the LZ4, zstd and Snappy codecs in kafkajs (idempotent, process-wide). */
export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  const codecs = CompressionCodecs as Record<number, () => KafkajsCodec>;
  codecs[CompressionTypes.LZ4] = () => lz4Codec;
  codecs[CompressionTypes.ZSTD] = () => zstdCodec;
  codecs[CompressionTypes.Snappy] = () => snappyCodec;
}
