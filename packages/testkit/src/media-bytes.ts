import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

// Small, structurally valid media files for tests of code that sniffs and checks media.

export const MiB = 1024 * 1024;

/**
 * The first 32 bytes of an MP4 of `size` bytes (at least 32, under 4 GiB): an `ftyp` box (brand
 * isom), then the header of an `mdat` box spanning the rest, so the boxes tile the file exactly.
 */
export function mp4Head(size: number): Buffer {
  const head = Buffer.from('000000186674797069736f6d0000020069736f6d6d703431000000006d646174', 'hex');
  head.writeUInt32BE(size - 24, 24);
  return head;
}

/** A structurally complete MP4 of `size` bytes: {@link mp4Head}, then a pattern as `mdat` payload. */
export function mp4Bytes(size: number): Buffer {
  const bytes = patternBytes(size);
  mp4Head(size).copy(bytes);
  return bytes;
}

/**
 * A structurally complete PNG of `size` bytes (at least 57): signature, IHDR (1x1 RGBA), one
 * IDAT holding a pattern, IEND, with correct CRCs. Only the chunk layout is real: the pattern
 * is no zlib stream, which no download check decodes.
 */
export function pngBytes(size: number): Buffer {
  const ihdr = Buffer.from('00000001000000010806000000', 'hex');
  const idat = patternBytes(size - 8 - (12 + ihdr.length) - 12 - 12);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  typeAndData.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typeAndData) >>> 0, 8 + data.length);
  return chunk;
}

function patternBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
