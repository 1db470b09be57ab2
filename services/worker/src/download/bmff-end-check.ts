import type { MediaEndCheck } from './end-check.js';

/** A box header: 32-bit size + 4-char type, then a 64-bit largesize when the size is 1. */
const HEADER = 8;
const LARGE_HEADER = 16;

/**
 * Checks that the top-level boxes of an ISO BMFF file (MP4, MOV, HEIF/AVIF) tile it exactly:
 * each box starts where the previous one ends, none is smaller than its own header, and the
 * body ends on a box boundary, or inside a last box of size 0 ("to the end of the file").
 * Only headers are read; payloads are skipped by count, so memory stays at one 16-byte header
 * whatever the size, and a header split across chunks is carried over.
 *
 * @param label Format name for messages, e.g. `MP4`.
 */
export function createBoxEndCheck(label: string): MediaEndCheck {
  /** Bytes seen so far. */
  let offset = 0;
  /** Start and end of the box being skipped; the end is Infinity for a size-0 box. */
  let boxStart = 0;
  let boxEnd = 0;
  let boxType = '';
  const header = Buffer.alloc(LARGE_HEADER);
  let headerLength = 0;
  let failure: string | null = null;

  /** Header bytes needed before the box size is known (16 once the 32-bit size says 1). */
  const headerNeeded = () => (headerLength >= HEADER && header.readUInt32BE(0) === 1 ? LARGE_HEADER : HEADER);

  /** Parses a complete header into the box to skip; records a failure for an impossible size. */
  const enterBox = () => {
    boxType = printable(header.toString('latin1', 4, 8));
    const size32 = header.readUInt32BE(0);
    headerLength = 0;
    if (size32 === 0) {
      boxEnd = Number.POSITIVE_INFINITY;
      return;
    }
    const size = size32 === 1 ? Number(header.readBigUInt64BE(8)) : size32;
    const minimum = size32 === 1 ? LARGE_HEADER : HEADER;
    if (size < minimum) {
      failure = `corrupt ${label}: box '${boxType}' at ${boxStart} declares ${size} bytes, less than its ${minimum}-byte header`;
      return;
    }
    boxEnd = boxStart + size;
  };

  return {
    update(chunk) {
      let at = 0;
      while (failure === null && at < chunk.length) {
        if (offset < boxEnd) {
          const skipped = Math.min(boxEnd - offset, chunk.length - at);
          at += skipped;
          offset += skipped;
          continue;
        }
        if (headerLength === 0) boxStart = offset;
        const taken = Math.min(headerNeeded() - headerLength, chunk.length - at);
        chunk.copy(header, headerLength, at, at + taken);
        headerLength += taken;
        at += taken;
        offset += taken;
        if (headerLength === headerNeeded()) enterBox();
      }
    },
    finish() {
      if (failure !== null) return { ok: false, reason: failure };
      if (headerLength > 0) {
        const reason = `body ends inside an ${label} box header (box at ${boxStart}, ${headerLength} of ${headerNeeded()} header bytes)`;
        return { ok: false, reason };
      }
      if (offset < boxEnd && boxEnd !== Number.POSITIVE_INFINITY) {
        const reason =
          `body ends inside an ${label} box (box '${boxType}' at ${boxStart} declares ${boxEnd - boxStart} bytes, ` +
          `${offset - boxStart} arrived)`;
        return { ok: false, reason };
      }
      if (offset === 0) return { ok: false, reason: `empty ${label} body` };
      return { ok: true };
    },
  };
}

/** The box type for a message: its four characters, anything not printable ASCII as '?'. */
function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, '?');
}
