import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generatedBody, generatedChunks, generatedSha256, mediaHeader, tinyMp4, tinyPng } from './media.js';

/** An independent CRC-32 (table-driven, as in the PNG specification's sample code). */
function referenceCrc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface PngChunk {
  type: string;
  data: Buffer;
  crc: number;
}

function readChunks(png: Buffer): PngChunk[] {
  const chunks: PngChunk[] = [];
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    chunks.push({ type, data, crc: png.readUInt32BE(offset + 8 + length) });
    offset += 12 + length;
  }
  return chunks;
}

describe('tinyPng', () => {
  const png = tinyPng([1, 2, 3, 255]);

  it('starts with the PNG signature', () => {
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('has IHDR, IDAT and IEND chunks with correct CRCs', () => {
    const chunks = readChunks(png);
    expect(chunks.map((chunk) => chunk.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (const chunk of chunks) {
      expect(chunk.crc).toBe(referenceCrc32(Buffer.concat([Buffer.from(chunk.type, 'latin1'), chunk.data])));
    }
  });

  it('describes a 1x1 8-bit RGBA image whose pixel data inflates to one scanline', () => {
    const [ihdr, idat] = readChunks(png);
    expect(ihdr?.data.readUInt32BE(0)).toBe(1);
    expect(ihdr?.data.readUInt32BE(4)).toBe(1);
    expect([...(ihdr?.data.subarray(8) ?? [])]).toEqual([8, 6, 0, 0, 0]);
    expect([...inflateSync(idat?.data ?? Buffer.alloc(0))]).toEqual([0, 1, 2, 3, 255]);
  });
});

describe('tinyMp4 and mediaHeader', () => {
  it('puts ftyp at bytes 4..8 with the isom brand', () => {
    const mp4 = tinyMp4();
    expect(mp4.toString('latin1', 4, 8)).toBe('ftyp');
    expect(mp4.toString('latin1', 8, 12)).toBe('isom');
    expect(mp4.readUInt32BE(0)).toBe(32);
  });

  it('gives a video an mdat box spanning the rest of the body (64-bit size past 4 GiB)', () => {
    const small = mediaHeader('video', 1000);
    expect(small.toString('latin1', 36, 40)).toBe('mdat');
    expect(small.readUInt32BE(32)).toBe(1000 - 32);
    const huge = mediaHeader('video', 10 * 1024 ** 3);
    expect(huge.readUInt32BE(32)).toBe(1);
    expect(huge.readBigUInt64BE(40)).toBe(BigInt(10 * 1024 ** 3 - 32));
  });
});

describe('generated bodies', () => {
  it('have exactly the requested size and start with the header of their kind', () => {
    for (const size of [0, 10, 65_536, 200_001]) {
      const body = Buffer.concat([...generatedChunks('video', size, 'seed')]);
      expect(body.length).toBe(size);
      const header = mediaHeader('video', size).subarray(0, size);
      expect(body.subarray(0, header.length).equals(header)).toBe(true);
    }
    const cover = Buffer.concat([...generatedChunks('cover', 5000, 'seed')]);
    expect(cover.subarray(0, tinyPng().length).equals(tinyPng())).toBe(true);
  });

  it('are deterministic per seed and differ between seeds', () => {
    const a = Buffer.concat([...generatedChunks('video', 100_000, 'a')]);
    expect(Buffer.concat([...generatedChunks('video', 100_000, 'a', 1000)]).equals(a)).toBe(true);
    expect(Buffer.concat([...generatedChunks('video', 100_000, 'b')]).equals(a)).toBe(false);
  });

  it('stream with a sha256 equal to generatedSha256', async () => {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of generatedBody('video', 3 * 1024 * 1024 + 7, 'stream')) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    expect(size).toBe(3 * 1024 * 1024 + 7);
    expect(hash.digest('hex')).toBe(await generatedSha256('video', 3 * 1024 * 1024 + 7, 'stream'));
  });
});
