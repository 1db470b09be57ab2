import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generatedBody, generatedChunks, generatedSha256 } from './media.js';
import { PNG_FILLER_CHUNK_DATA, tinyMp4, tinyPng, videoHeader } from './media-layout.js';

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

describe('tinyMp4 and videoHeader', () => {
  it('puts ftyp at bytes 4..8 with the isom brand', () => {
    const mp4 = tinyMp4();
    expect(mp4.toString('latin1', 4, 8)).toBe('ftyp');
    expect(mp4.toString('latin1', 8, 12)).toBe('isom');
    expect(mp4.readUInt32BE(0)).toBe(32);
  });

  it('gives a video an mdat box spanning the rest of the body (64-bit size past 4 GiB)', () => {
    const small = videoHeader(1000);
    expect(small.toString('latin1', 36, 40)).toBe('mdat');
    expect(small.readUInt32BE(32)).toBe(1000 - 32);
    const huge = videoHeader(10 * 1024 ** 3);
    expect(huge.readUInt32BE(32)).toBe(1);
    expect(huge.readBigUInt64BE(40)).toBe(BigInt(10 * 1024 ** 3 - 32));
  });
});

/** Top-level ISO BMFF boxes of `file` as [type, size]; throws unless they tile it exactly. */
function readBoxes(file: Buffer): [string, number][] {
  const boxes: [string, number][] = [];
  let offset = 0;
  while (offset < file.length) {
    const size32 = file.readUInt32BE(offset);
    const size = size32 === 1 ? Number(file.readBigUInt64BE(offset + 8)) : size32;
    if (size < (size32 === 1 ? 16 : 8)) throw new Error(`box at ${offset} declares ${size} bytes`);
    boxes.push([file.toString('latin1', offset + 4, offset + 8), size]);
    offset += size;
  }
  if (offset !== file.length) throw new Error(`last box ends at ${offset}, the file at ${file.length}`);
  return boxes;
}

const generated = (kind: 'video' | 'cover', size: number, seed = 'seed', chunkSize?: number) =>
  Buffer.concat([...generatedChunks(kind, size, seed, chunkSize)]);

describe('generated bodies', () => {
  it('have exactly the requested size and start with the header of their kind', () => {
    for (const size of [0, 10, 65_536, 200_001]) {
      const body = generated('video', size);
      expect(body.length).toBe(size);
      const header = videoHeader(size).subarray(0, size);
      expect(body.subarray(0, header.length).equals(header)).toBe(true);
    }
    const cover = generated('cover', 5000);
    expect(cover.length).toBe(5000);
    expect(cover.subarray(0, 8).equals(tinyPng().subarray(0, 8))).toBe(true);
  });

  it('are MP4s whose ftyp and mdat boxes tile the file exactly', () => {
    for (const size of [40, 1000, 65_536, 200_001, 3 * 1024 * 1024 + 7]) {
      expect(readBoxes(generated('video', size)), `${size} bytes`).toEqual([
        ['ftyp', 32],
        ['mdat', size - 32],
      ]);
    }
  });

  it('are PNGs ending with IEND, with correct CRCs, decoding to the tiny image', () => {
    const tiny = tinyPng();
    const max = 12 + PNG_FILLER_CHUNK_DATA;
    // Exact tiny size, an empty filler chunk, one chunk, several, and remainders that must not be cut below 12 bytes.
    const sizes = [tiny.length, tiny.length + 12, 5000, tiny.length + max, tiny.length + max + 5, 3 * max + 100];
    for (const size of sizes) {
      const png = generated('cover', size, 'seed', 7_000);
      expect(png.length, `${size} bytes`).toBe(size);
      const chunks = readChunks(png);
      expect(chunks.slice(0, 2).map((c) => c.type)).toEqual(['IHDR', 'IDAT']);
      expect(chunks.at(-1)?.type).toBe('IEND');
      expect(new Set(chunks.slice(2, -1).map((c) => c.type))).toEqual(new Set(size === tiny.length ? [] : ['fiLl']));
      for (const chunk of chunks.slice(2, -1)) expect(chunk.data.length).toBeLessThanOrEqual(PNG_FILLER_CHUNK_DATA);
      for (const chunk of chunks) {
        expect(chunk.crc, `${chunk.type} of ${size}`).toBe(
          referenceCrc32(Buffer.concat([Buffer.from(chunk.type, 'latin1'), chunk.data])),
        );
      }
      expect(inflateSync(chunks[1]?.data ?? Buffer.alloc(0)).length).toBe(5);
    }
    expect(generated('cover', tiny.length).equals(tiny)).toBe(true);
  });

  it('are deterministic per seed and differ between seeds', () => {
    const a = generated('video', 100_000, 'a');
    expect(generated('video', 100_000, 'a', 1000).equals(a)).toBe(true);
    expect(generated('video', 100_000, 'b').equals(a)).toBe(false);
    // Cover CRCs cover bytes of several chunks: the chunk size must not change them.
    const cover = generated('cover', 150_000, 'a');
    expect(generated('cover', 150_000, 'a', 7).equals(cover)).toBe(true);
    expect(generated('cover', 150_000, 'b').equals(cover)).toBe(false);
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
    const cover = generated('cover', 70_000, 'stream');
    expect(createHash('sha256').update(cover).digest('hex')).toBe(await generatedSha256('cover', 70_000, 'stream'));
  });

  it('of a huge declared size start at once (the layout is lazy, as endless and huge-declared need)', () => {
    for (const kind of ['video', 'cover'] as const) {
      const first = generatedChunks(kind, Number.MAX_SAFE_INTEGER, 'endless').next();
      expect(first.value?.length).toBe(64 * 1024);
    }
  });
});
