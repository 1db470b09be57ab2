import { z } from 'zod';

/**
 * How the media server answers one media URL. Written as text in a `behavior` query parameter
 * or registered per media id with `setBehavior`, e.g. `slow:65536`, `status:429`, `redirect:2`.
 */
export type Behavior =
  /** 200 with the whole body. */
  | { kind: 'ok' }
  /** 200, throttled to `bytesPerSecond`. */
  | { kind: 'slow'; bytesPerSecond: number }
  /** Headers, then `bytes` of the body (default: half), then nothing ever again. */
  | { kind: 'stall'; bytes: number | undefined }
  /** Waits `ms` before sending anything (first-byte timeout). */
  | { kind: 'delay'; ms: number }
  /** An error status; 429 and 503 carry `Retry-After: retryAfter` seconds. */
  | { kind: 'status'; code: number; retryAfter: number }
  /** The first `failures` requests of each path get 503, later ones 200. */
  | { kind: 'flaky'; failures: number }
  /** 403 once `ms` have passed since the media id was first seen (signed links expire). */
  | { kind: 'expire-after'; ms: number }
  /** 200 `text/html` error page instead of media. */
  | { kind: 'html' }
  /** An HTML error page served with the media content type (content sniffing catches it). */
  | { kind: 'html-as-media' }
  /** `hops` relative 302 redirects, then 200. */
  | { kind: 'redirect'; hops: number }
  /** 302 redirects forever between two URLs. */
  | { kind: 'redirect-loop' }
  /** One 302 to `location` (e.g. the cloud metadata address, for SSRF tests). */
  | { kind: 'redirect-to'; location: string }
  /** Declares the full Content-Length, sends half, then destroys the socket. */
  | { kind: 'truncate' }
  /** Declares a Content-Length `smaller` or `larger` than the bytes sent, then closes. */
  | { kind: 'lie-length'; direction: 'smaller' | 'larger' }
  /** Declares 10 GiB and streams until the client gives up (capped, never the declared size). */
  | { kind: 'huge-declared' }
  /** Chunked transfer without end. */
  | { kind: 'endless' };

/** Every behaviour name, as written before the first `:`. */
export const BEHAVIOR_NAMES = [
  'ok',
  'slow',
  'stall',
  'delay',
  'status',
  'flaky',
  'expire-after',
  'html',
  'html-as-mp4',
  'html-as-media',
  'redirect',
  'redirect-loop',
  'redirect-to',
  'truncate',
  'lie-length',
  'huge-declared',
  'endless',
] as const;

const NonNegativeInt = z.coerce.number().int().min(0);
const Status = z.coerce.number().int().min(100).max(599);

/** Splits `name:arg` at the first colon only (URLs in `redirect-to:` contain colons). */
function split(text: string): { name: string; arg: string | undefined } {
  const at = text.indexOf(':');
  return at < 0 ? { name: text, arg: undefined } : { name: text.slice(0, at), arg: text.slice(at + 1) };
}

/**
 * Parses a behaviour written as text (see {@link Behavior}); throws a `ZodError` naming the
 * problem for anything else. `html-as-mp4` is an alias of `html-as-media`.
 */
export function parseBehavior(text: string): Behavior {
  const { name, arg } = split(text.trim());
  switch (z.enum(BEHAVIOR_NAMES).parse(name)) {
    case 'ok':
      return { kind: 'ok' };
    case 'slow':
      return {
        kind: 'slow',
        bytesPerSecond: z.coerce
          .number()
          .int()
          .min(1)
          .parse(arg ?? 64 * 1024),
      };
    case 'stall':
      return { kind: 'stall', bytes: arg === undefined ? undefined : NonNegativeInt.parse(arg) };
    case 'delay':
      return { kind: 'delay', ms: NonNegativeInt.parse(arg ?? 60_000) };
    case 'status': {
      const [code, retryAfter] = (arg ?? '500').split(':');
      return { kind: 'status', code: Status.parse(code), retryAfter: NonNegativeInt.parse(retryAfter ?? 1) };
    }
    case 'flaky':
      return { kind: 'flaky', failures: NonNegativeInt.parse(arg ?? 1) };
    case 'expire-after':
      return { kind: 'expire-after', ms: NonNegativeInt.parse(arg) };
    case 'html':
      return { kind: 'html' };
    case 'html-as-mp4':
    case 'html-as-media':
      return { kind: 'html-as-media' };
    case 'redirect':
      return { kind: 'redirect', hops: NonNegativeInt.parse(arg ?? 1) };
    case 'redirect-loop':
      return { kind: 'redirect-loop' };
    case 'redirect-to':
      return { kind: 'redirect-to', location: z.url().parse(arg) };
    case 'truncate':
      return { kind: 'truncate' };
    case 'lie-length':
      return { kind: 'lie-length', direction: z.enum(['smaller', 'larger']).parse(arg ?? 'smaller') };
    case 'huge-declared':
      return { kind: 'huge-declared' };
    case 'endless':
      return { kind: 'endless' };
  }
}

/** Writes a behaviour back as text (the inverse of {@link parseBehavior}). */
export function formatBehavior(behavior: Behavior): string {
  switch (behavior.kind) {
    case 'slow':
      return `slow:${behavior.bytesPerSecond}`;
    case 'stall':
      return behavior.bytes === undefined ? 'stall' : `stall:${behavior.bytes}`;
    case 'delay':
      return `delay:${behavior.ms}`;
    case 'status':
      return `status:${behavior.code}:${behavior.retryAfter}`;
    case 'flaky':
      return `flaky:${behavior.failures}`;
    case 'expire-after':
      return `expire-after:${behavior.ms}`;
    case 'redirect':
      return `redirect:${behavior.hops}`;
    case 'redirect-to':
      return `redirect-to:${behavior.location}`;
    case 'lie-length':
      return `lie-length:${behavior.direction}`;
    default:
      return behavior.kind;
  }
}
