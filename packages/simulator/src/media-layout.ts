import { crc32, deflateSync } from 'node:zlib';

/**
 * One stretch of a generated body, in file order. A generated body is its layout written over a
 * keystream: `filler` keeps the keystream bytes, everything else overwrites them.
 */
export type LayoutPart =
  /** Fixed bytes (headers, trailers). */
  | { kind: 'bytes'; bytes: Buffer }
  /** `length` bytes of the keystream (the payload nobody parses). */
  | { kind: 'filler'; length: number }
  /** Starts a CRC-32 over the bytes that follow (a PNG chunk's type and data). */
  | { kind: 'crc-start' }
  /** The 4-byte big-endian CRC-32 of the bytes since the last `crc-start`. */
  | { kind: 'crc-end' };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** A PNG chunk's length, type and CRC fields: 12 bytes around its data. */
const PNG_CHUNK_OVERHEAD = 12;
/**
 * Data bytes per filler chunk of a generated cover. PNG caps a chunk at 2^31-1 bytes; encoders
 * split far earlier (libpng: 8 KiB IDATs), and 1 MiB keeps multi-chunk covers cheap to test.
 */
export const PNG_FILLER_CHUNK_DATA = 1024 * 1024;
/**
 * Type of the filler chunks: private (2nd letter lower case) and ancillary (1st lower case), so
 * decoders skip it and the image stays the valid 1x1 of {@link tinyPng}; safe to copy (4th).
 */
const PNG_FILLER_TYPE = 'fiLl';

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData) >>> 0);
  return Buffer.concat([length, typeAndData, crc]);
}

const IEND = pngChunk('IEND', Buffer.alloc(0));

/** Builds a valid 1x1 RGBA PNG of one colour (signature, IHDR, IDAT, IEND with correct CRCs). */
export function tinyPng(rgba: readonly [number, number, number, number] = [255, 136, 0, 255]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(6, 9); // colour type: RGBA
  // compression, filter and interlace methods stay 0
  const scanline = Buffer.from([0, ...rgba]); // filter type 0, then one pixel
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(scanline)), IEND]);
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
 * The bytes a generated video of `size` bytes starts with: `ftyp`, then the header of an `mdat`
 * box spanning the rest of the body (64-bit size past 4 GiB), so the top-level boxes tile the
 * file exactly. Below 40 bytes there is no room for both and the body is a cut-off header.
 */
export function videoHeader(size: number): Buffer {
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

/** A video of `size` bytes: {@link videoHeader}, then keystream as the `mdat` payload. */
export function* videoLayout(size: number): Generator<LayoutPart> {
  const header = videoHeader(size);
  yield { kind: 'bytes', bytes: header };
  if (size > header.length) yield { kind: 'filler', length: size - header.length };
}

/**
 * A cover of `size` bytes: {@link tinyPng} itself at its own size; larger, the same image with
 * private `fiLl` chunks of keystream (correct CRCs) before its IEND, so it ends exactly as a PNG
 * must. A chunk takes at least 12 bytes, so sizes 1 to 11 bytes above the tiny PNG (and any size
 * below it) cannot be a valid PNG: they give the first `size` bytes of the nearest larger one.
 */
export function* coverLayout(size: number): Generator<LayoutPart> {
  const png = tinyPng();
  const beforeIend = png.subarray(0, png.length - IEND.length);
  yield { kind: 'bytes', bytes: beforeIend };
  let left = size - png.length;
  while (left > 0) {
    const max = PNG_CHUNK_OVERHEAD + PNG_FILLER_CHUNK_DATA;
    // Never leave 1..11 bytes behind: they could not hold the next chunk.
    const chunk = left <= max ? Math.max(left, PNG_CHUNK_OVERHEAD) : Math.min(max, left - PNG_CHUNK_OVERHEAD);
    yield* fillerChunk(chunk - PNG_CHUNK_OVERHEAD);
    left -= chunk;
  }
  yield { kind: 'bytes', bytes: IEND };
}

function* fillerChunk(dataLength: number): Generator<LayoutPart> {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(dataLength);
  yield { kind: 'bytes', bytes: length };
  yield { kind: 'crc-start' };
  yield { kind: 'bytes', bytes: Buffer.from(PNG_FILLER_TYPE, 'latin1') };
  if (dataLength > 0) yield { kind: 'filler', length: dataLength };
  yield { kind: 'crc-end' };
}
