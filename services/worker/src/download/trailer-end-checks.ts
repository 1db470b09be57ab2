import type { MediaEndCheck } from './end-check.js';

/** The IEND chunk every PNG ends with: length 0, type `IEND`, its constant CRC. */
const PNG_IEND = Buffer.from('0000000049454e44ae426082', 'hex');
const GIF_TRAILER = 0x3b;
const JPEG_EOI = [0xff, 0xd9] as const;

/** Keeps the last `size` bytes seen, across chunks of any size. */
function tailKeeper(size: number): { push(chunk: Buffer): void; bytes(): Buffer } {
  let tail = Buffer.alloc(0);
  return {
    push(chunk) {
      // A copy, so the chunk (possibly a slice of a larger buffer) can be freed.
      tail =
        chunk.length >= size
          ? Buffer.from(chunk.subarray(chunk.length - size))
          : Buffer.from(Buffer.concat([tail, chunk]).subarray(-size));
    },
    bytes: () => tail,
  };
}

/** A PNG must end with its IEND chunk: a body cut anywhere else lacks those 12 bytes. */
export function createPngEndCheck(): MediaEndCheck {
  const tail = tailKeeper(PNG_IEND.length);
  return {
    update: (chunk) => tail.push(chunk),
    finish: () =>
      tail.bytes().equals(PNG_IEND) ? { ok: true } : { ok: false, reason: 'body does not end with the PNG IEND chunk' },
  };
}

/** A GIF must end with its trailer byte 0x3B (a weak check: a cut body ends so 1 time in 256). */
export function createGifEndCheck(): MediaEndCheck {
  const tail = tailKeeper(1);
  return {
    update: (chunk) => tail.push(chunk),
    finish: () =>
      tail.bytes()[0] === GIF_TRAILER
        ? { ok: true }
        : { ok: false, reason: 'body does not end with the GIF trailer (3B)' },
  };
}

/**
 * A JPEG must end with its EOI marker FF D9, trailing 0x00 bytes allowed. Why tolerate them:
 * decoders stop at EOI and ignore what follows, and some encoders and storage layers pad files
 * with zeros; refusing them would fail (and retry) good covers. A cut body cannot pass this
 * way: entropy-coded data never holds FF D9 (an FF there is always followed by 00 or an RST
 * marker), so only a cut right after an embedded thumbnail's EOI could, which is vanishingly
 * rare. Anything else after EOI (e.g. a motion photo's appended video) is refused.
 */
export function createJpegEndCheck(): MediaEndCheck {
  /** The last byte seen, to pair with a chunk whose only non-zero byte is its first. */
  let previous = -1;
  /** The last two bytes once trailing zeros are set aside. */
  let ending: [number, number] = [-1, -1];
  return {
    update(chunk) {
      let last = chunk.length - 1;
      while (last >= 0 && chunk[last] === 0) last -= 1;
      if (last >= 0) ending = [last > 0 ? (chunk[last - 1] ?? -1) : previous, chunk[last] ?? -1];
      if (chunk.length > 0) previous = chunk[chunk.length - 1] ?? -1;
    },
    finish: () =>
      ending[0] === JPEG_EOI[0] && ending[1] === JPEG_EOI[1]
        ? { ok: true }
        : { ok: false, reason: 'body does not end with the JPEG EOI marker (FF D9)' },
  };
}

/** A WebP is one RIFF chunk: its size field (bytes 4..8, little-endian) plus 8 is the file length. */
export function createWebpEndCheck(): MediaEndCheck {
  const head = Buffer.alloc(8);
  let length = 0;
  return {
    update(chunk) {
      if (length < head.length) chunk.copy(head, length, 0, Math.min(chunk.length, head.length - length));
      length += chunk.length;
    },
    finish() {
      if (length < head.length) return { ok: false, reason: `body of ${length} bytes is too short for a RIFF header` };
      const declared = head.readUInt32LE(4) + 8;
      if (declared === length) return { ok: true };
      return { ok: false, reason: `body is ${length} bytes but its RIFF header declares ${declared}` };
    },
  };
}
