import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32, deflateSync } from 'node:zlib';

/** The two media files of a generated task: the video and its cover image. */
export type MediaKind = 'video' | 'cover';

/** File name and content type of each kind, as the provider's CDN serves them. */
export const MEDIA_FILES: Readonly<Record<MediaKind, { file: string; contentType: string }>> = {
  video: { file: 'video.mp4', contentType: 'video/mp4' },
  cover: { file: 'cover.png', contentType: 'image/png' },
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData) >>> 0);
  return Buffer.concat([length, typeAndData, crc]);
}

/** Builds a valid 1x1 RGBA PNG of one colour (signature, IHDR, IDAT, IEND with correct CRCs). */
export function tinyPng(rgba: readonly [number, number, number, number] = [255, 136, 0, 255]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(6, 9); // colour type: RGBA
  // compression, filter and interlace methods stay 0
  const scanline = Buffer.from([0, ...rgba]); // filter type 0, then one pixel
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(scanline)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function box(type: string, payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + payload.length);
  return Buffer.concat([size, Buffer.from(type, 'latin1'), payload]);
}

/** The `ftyp` box every MP4 starts with: major brand `isom`, compatible isom/iso2/avc1/mp41. */
function ftypBox(): Buffer {
  const minorVersion = Buffer.alloc(4);
  minorVersion.writeUInt32BE(0x200);
  return box('ftyp', Buffer.concat([Buffer.from('isom', 'latin1'), minorVersion, Buffer.from('isomiso2avc1mp41')]));
}

/** A tiny MP4 (ftyp + free + empty mdat): enough for magic-number sniffing (bytes 4..8 = `ftyp`). */
export function tinyMp4(): Buffer {
  return Buffer.concat([ftypBox(), box('free', Buffer.alloc(0)), box('mdat', Buffer.alloc(0))]);
}

/**
 * The bytes a generated body of `size` bytes starts with. For a video: `ftyp` then an `mdat` box
 * header spanning the rest of the body (64-bit size when needed), so the file stays well formed.
 */
export function mediaHeader(kind: MediaKind, size: number): Buffer {
  if (kind === 'cover') return tinyPng();
  const ftyp = ftypBox();
  const rest = size - ftyp.length;
  if (rest <= 0xffffffff) {
    const mdat = Buffer.alloc(8);
    mdat.writeUInt32BE(Math.max(rest, 8));
    mdat.write('mdat', 4, 'latin1');
    return Buffer.concat([ftyp, mdat]);
  }
  const mdat = Buffer.alloc(16);
  mdat.writeUInt32BE(1); // size 1: the real size follows as a 64-bit integer
  mdat.write('mdat', 4, 'latin1');
  mdat.writeBigUInt64BE(BigInt(rest), 8);
  return Buffer.concat([ftyp, mdat]);
}

/** Chunk size of generated bodies (64 KiB: Node's stream default high-water mark for files). */
export const GENERATED_CHUNK = 64 * 1024;

/**
 * Yields the deterministic bytes of a generated body: the header of `kind`, then an AES-CTR
 * keystream keyed by `seed` (native speed, so 1 GiB bodies cost little CPU). Nothing is buffered
 * beyond one chunk. The same (kind, size, seed) always yields the same bytes.
 */
export function* generatedChunks(
  kind: MediaKind,
  size: number,
  seed: string,
  chunkSize = GENERATED_CHUNK,
): Generator<Buffer> {
  const key = createHash('sha256').update(`${kind}:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const header = mediaHeader(kind, size);
  const zeros = Buffer.alloc(chunkSize);
  let offset = 0;
  while (offset < size) {
    const length = Math.min(chunkSize, size - offset);
    const chunk = cipher.update(length === chunkSize ? zeros : zeros.subarray(0, length));
    if (offset < header.length) header.copy(chunk, 0, offset, Math.min(header.length, offset + length));
    offset += length;
    yield chunk;
  }
}

/** A readable stream of {@link generatedChunks} (backpressure-aware, never buffers the body). */
export function generatedBody(kind: MediaKind, size: number, seed: string): Readable {
  return Readable.from(generatedChunks(kind, size, seed), { objectMode: false });
}

/** sha256 (hex) of a generated body, computed by streaming it through the hash. */
export async function generatedSha256(kind: MediaKind, size: number, seed: string): Promise<string> {
  const hash = createHash('sha256');
  let sinceYield = 0;
  for (const chunk of generatedChunks(kind, size, seed)) {
    hash.update(chunk);
    sinceYield += chunk.length;
    // Let servers in the same process keep answering while a large body is hashed.
    if (sinceYield >= 16 * 1024 * 1024) {
      sinceYield = 0;
      await yieldToLoop();
    }
  }
  return hash.digest('hex');
}
