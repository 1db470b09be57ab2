import { createBoxEndCheck } from './bmff-end-check.js';
import type { MediaEndCheck } from './end-check.js';
import type { SniffedMedia } from './media-sniff.js';
import { createGifEndCheck, createJpegEndCheck, createPngEndCheck, createWebpEndCheck } from './trailer-end-checks.js';

export type { EndVerdict, MediaEndCheck } from './end-check.js';

/** Sniffed types stored as ISO BMFF, whose top-level boxes must tile the file. */
const BMFF_TYPES = new Set(['video/mp4', 'video/quicktime', 'image/avif', 'image/heic', 'image/heif', 'audio/mp4']);

/**
 * The structural end check of a sniffed type, or null when there is none. It catches what a
 * length check cannot: a source that declares a Content-Length smaller than the file, of which
 * the client then reads exactly the declared, truncated, part.
 *
 * WebM/Matroska gets none: a live-style muxer writes its Segment (and Clusters) with an
 * "unknown size", legal and common, so no size says where the file must end. Unknown types get
 * none either: there is nothing to check them against.
 */
export function createMediaEndCheck(sniffed: SniffedMedia | null): MediaEndCheck | null {
  if (sniffed === null) return null;
  if (BMFF_TYPES.has(sniffed.mime)) return createBoxEndCheck(sniffed.ext.toUpperCase());
  switch (sniffed.mime) {
    case 'image/png':
      return createPngEndCheck();
    case 'image/jpeg':
      return createJpegEndCheck();
    case 'image/gif':
      return createGifEndCheck();
    case 'image/webp':
      return createWebpEndCheck();
    default:
      return null;
  }
}
