import type { MediaKind } from '@runway-relay/contracts';

/** The real type of a media file, as told by its first bytes. */
export interface SniffedMedia {
  mime: string;
  /** File extension without the dot, used for the object key. */
  ext: string;
}

/** Bytes {@link sniffMedia} needs to recognise every supported format. */
export const SNIFF_BYTES = 16;

const VIDEO_EXTENSIONS = new Set(['mp4', 'm4v', 'mov', 'webm']);
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp', 'gif']);

/** ISO BMFF major brands that are not video (HEIF/AVIF stills, audio-only MP4). */
const NON_VIDEO_BRANDS: Readonly<Record<string, SniffedMedia>> = {
  avif: { mime: 'image/avif', ext: 'avif' },
  avis: { mime: 'image/avif', ext: 'avif' },
  heic: { mime: 'image/heic', ext: 'heic' },
  heix: { mime: 'image/heic', ext: 'heic' },
  mif1: { mime: 'image/heif', ext: 'heif' },
  msf1: { mime: 'image/heif', ext: 'heif' },
  'M4A ': { mime: 'audio/mp4', ext: 'm4a' },
};

const EBML = [0x1a, 0x45, 0xdf, 0xa3];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];

function startsWith(bytes: Buffer, signature: readonly number[], offset = 0): boolean {
  return signature.every((byte, i) => bytes[offset + i] === byte);
}

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.subarray(start, end).toString('latin1');
}

/**
 * Recognises the media type from the first bytes of a file, or null when unknown.
 * The declared Content-Type is only a claim; this is what the object is stored as.
 */
export function sniffMedia(firstBytes: Buffer): SniffedMedia | null {
  if (firstBytes.length >= 12 && ascii(firstBytes, 4, 8) === 'ftyp') {
    const brand = ascii(firstBytes, 8, 12);
    if (brand === 'qt  ') return { mime: 'video/quicktime', ext: 'mov' };
    return NON_VIDEO_BRANDS[brand] ?? { mime: 'video/mp4', ext: 'mp4' };
  }
  // EBML header: Matroska and WebM share it; WebM is what generators produce.
  if (startsWith(firstBytes, EBML)) return { mime: 'video/webm', ext: 'webm' };
  if (startsWith(firstBytes, PNG)) return { mime: 'image/png', ext: 'png' };
  if (startsWith(firstBytes, JPEG)) return { mime: 'image/jpeg', ext: 'jpg' };
  if (firstBytes.length >= 12 && ascii(firstBytes, 0, 4) === 'RIFF' && ascii(firstBytes, 8, 12) === 'WEBP') {
    return { mime: 'image/webp', ext: 'webp' };
  }
  const gif = ascii(firstBytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return { mime: 'image/gif', ext: 'gif' };
  return null;
}

/** True when the sniffed type fits the kind: a video for `video`, an image for `cover`. */
export function expectKind(kind: MediaKind, sniffed: SniffedMedia | null): boolean {
  if (sniffed === null) return false;
  return sniffed.mime.startsWith(kind === 'video' ? 'video/' : 'image/');
}

/** The lower-cased extension of a URL path's last segment, or '' when it has none. */
export function pathExtension(pathname: string): string {
  const segment = pathname.slice(pathname.lastIndexOf('/') + 1);
  const dot = segment.lastIndexOf('.');
  return dot === -1 ? '' : segment.slice(dot + 1).toLowerCase();
}

/**
 * Whether a declared Content-Type may be downloaded as `kind` (docs/architecture.md §6): `video/*` for a
 * video, `image/*` for a cover. A generic binary type (or none at all, which object stores
 * sometimes send) is accepted only when one of `urlPaths` ends in an extension of the kind;
 * anything else (an HTML error page above all) is refused before reading the body.
 */
export function isAcceptableContentType(
  kind: MediaKind,
  contentType: string | undefined,
  urlPaths: readonly string[],
): boolean {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType.startsWith(kind === 'video' ? 'video/' : 'image/')) return true;
  if (mediaType === '' || mediaType === 'application/octet-stream' || mediaType === 'binary/octet-stream') {
    const extensions = kind === 'video' ? VIDEO_EXTENSIONS : IMAGE_EXTENSIONS;
    return urlPaths.some((path) => extensions.has(pathExtension(path)));
  }
  return false;
}
