import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { coverLayout, type LayoutPart, videoLayout } from './media-layout.js';

/** The two media files of a generated task: the video and its cover image. */
export type MediaKind = 'video' | 'cover';

/** File name and content type of each kind, as the provider's CDN serves them. */
export const MEDIA_FILES: Readonly<Record<MediaKind, { file: string; contentType: string }>> = {
  video: { file: 'video.mp4', contentType: 'video/mp4' },
  cover: { file: 'cover.png', contentType: 'image/png' },
};

/** Chunk size of generated bodies (64 KiB: Node's stream default high-water mark for files). */
export const GENERATED_CHUNK = 64 * 1024;

/** The layout of a generated body of `kind`: a valid MP4 or PNG of exactly `size` bytes. */
export function mediaLayout(kind: MediaKind, size: number): Generator<LayoutPart> {
  return kind === 'video' ? videoLayout(size) : coverLayout(size);
}

/**
 * Yields the deterministic bytes of a generated body: an AES-CTR keystream keyed by `seed`
 * (native speed, so 1 GiB bodies cost little CPU) with the layout of `kind` written over it, so
 * the body is a structurally valid file that ends where its format says. Nothing is buffered
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
  const overlay = layoutWriter(mediaLayout(kind, size));
  const zeros = Buffer.alloc(chunkSize);
  let offset = 0;
  while (offset < size) {
    const length = Math.min(chunkSize, size - offset);
    const chunk = cipher.update(length === chunkSize ? zeros : zeros.subarray(0, length));
    overlay(chunk);
    offset += length;
    yield chunk;
  }
}

/**
 * Returns a function that writes the next stretch of `parts` over each chunk it is given, in
 * order (parts may straddle chunks). Lazy, so a layout of a 10 GiB body costs nothing up front.
 */
function layoutWriter(parts: Iterator<LayoutPart>): (chunk: Buffer) => void {
  let current: LayoutPart | undefined;
  let used = 0;
  let crc = 0;
  let crcOn = false;
  /** The part to write next, markers applied; undefined once the layout is exhausted. */
  const next = (): LayoutPart | undefined => {
    for (;;) {
      if (current !== undefined && used < partLength(current)) return current;
      const step = parts.next();
      if (step.done === true) return undefined;
      current = step.value;
      used = 0;
      if (current.kind === 'crc-start') {
        crc = 0;
        crcOn = true;
      } else if (current.kind === 'crc-end') {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32BE(crc >>> 0);
        crcOn = false;
        current = { kind: 'bytes', bytes };
      }
    }
  };
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      const part = next();
      // Past the layout (only for sizes too small to be valid): the rest stays keystream.
      if (part === undefined) return;
      const n = Math.min(partLength(part) - used, chunk.length - at);
      if (part.kind === 'bytes') part.bytes.copy(chunk, at, used, used + n);
      if (crcOn) crc = crc32(chunk.subarray(at, at + n), crc);
      used += n;
      at += n;
    }
  };
}

function partLength(part: LayoutPart): number {
  if (part.kind === 'bytes') return part.bytes.length;
  return part.kind === 'filler' ? part.length : 0;
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
