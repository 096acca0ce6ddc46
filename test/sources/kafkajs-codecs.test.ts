import kafkajs from 'kafkajs';
import { compress as snappyRaw } from 'snappy';
import { describe, expect, it } from 'vitest';
import {
  isXerialFramed,
  lz4Codec,
  registerKafkajsCodecs,
  snappyCodec,
  snappyDecode,
  XERIAL_MAGIC,
  zstdCodec,
} from '../../src/sources/kafkajs-codecs.ts';

const data = Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, type: 'score' }))));

describe('kafkajs codecs', () => {
  it.each([
    ['lz4', lz4Codec],
    ['zstd', zstdCodec],
    ['snappy', snappyCodec],
  ])('%s round-trips', async (_, codec) => {
    const compressed = await codec.compress({ buffer: data });
    expect(compressed.length).toBeLessThan(data.length);
    expect((await codec.decompress(compressed)).equals(data)).toBe(true);
  });

  it('LZ4 writes the frame format Kafka uses (magic 0x184D2204)', async () => {
    const compressed = await lz4Codec.compress({ buffer: data });
    expect(compressed.readUInt32LE(0)).toBe(0x184d2204);
  });

  it('snappy encodes with xerial framing, as the Java producer does', async () => {
    const compressed = await snappyCodec.compress({ buffer: data });
    expect(isXerialFramed(compressed)).toBe(true);
    expect(compressed.subarray(0, 8).equals(XERIAL_MAGIC)).toBe(true);
  });

  it('snappy decodes raw blocks (librdkafka, @platformatic/kafka) and multi-chunk xerial frames', async () => {
    expect((await snappyDecode(await snappyRaw(data))).equals(data)).toBe(true);
    const header = Buffer.alloc(16);
    XERIAL_MAGIC.copy(header);
    header.writeUInt32BE(1, 8);
    header.writeUInt32BE(1, 12);
    const parts: Buffer[] = [header];
    for (const chunk of [data.subarray(0, 1000), data.subarray(1000)]) {
      const block = await snappyRaw(chunk);
      const size = Buffer.alloc(4);
      size.writeUInt32BE(block.length);
      parts.push(size, block);
    }
    expect((await snappyDecode(Buffer.concat(parts))).equals(data)).toBe(true);
    await expect(snappyDecode(Buffer.concat(parts).subarray(0, 30))).rejects.toThrow(/truncated/);
  });

  it('registers the three codecs in kafkajs', () => {
    registerKafkajsCodecs();
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    expect(CompressionCodecs[CompressionTypes.LZ4]()).toBe(lz4Codec);
    expect(CompressionCodecs[CompressionTypes.ZSTD]()).toBe(zstdCodec);
    expect(CompressionCodecs[CompressionTypes.Snappy]()).toBe(snappyCodec);
  });
});
