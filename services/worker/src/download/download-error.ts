import { FAILURE_TAXONOMY, type FailureCategory } from '@runway-relay/contracts';

/** The failure categories a download can end in (a subset of the shared taxonomy). */
export type DownloadFailureCategory = Extract<
  FailureCategory,
  'link_expired' | 'source_unavailable' | 'timeout' | 'too_large' | 'content_type_mismatch' | 'blocked_url'
>;

export interface DownloadErrorOptions {
  /** Defaults to the shared taxonomy's value for the category. */
  retryable?: boolean;
  /** How long the source asked us to wait (429 `Retry-After`), ms. */
  retryAfterMs?: number;
  /** HTTP status of the response that caused the failure, if any. */
  status?: number;
  cause?: unknown;
}

/**
 * A classified download failure. The worker turns a non-retryable one into BullMQ's
 * `UnrecoverableError`; `retryAfterMs` lets it delay the next attempt as the source asked.
 */
export class DownloadError extends Error {
  readonly code = 'ERR_DOWNLOAD';
  readonly category: DownloadFailureCategory;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(category: DownloadFailureCategory, message: string, options: DownloadErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DownloadError';
    this.category = category;
    this.retryable = options.retryable ?? FAILURE_TAXONOMY[category].retryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }
}

/**
 * Parses a `Retry-After` header (delta seconds or an HTTP date) into ms from `now`.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Classifies a non-2xx, non-redirect response.
 * 403/404/410: signed links answer these once expired, and only a new generation brings the
 * media back. 408/429/5xx are transient. Any other status will not change on retry.
 */
export function errorForStatus(status: number, retryAfter?: string, now: number = Date.now()): DownloadError {
  const message = `source answered HTTP ${status}`;
  if (status === 403 || status === 404 || status === 410) {
    return new DownloadError('link_expired', message, { status });
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return new DownloadError('source_unavailable', message, {
      status,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 408 || status >= 500) {
    return new DownloadError('source_unavailable', message, { status, retryable: true });
  }
  return new DownloadError('source_unavailable', message, { status, retryable: false });
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

// undici refusing to send the request at all (an argument it rejects): a retry sends the same.
const INVALID_REQUEST_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * Maps anything thrown or emitted by undici, `net`, `tls` or `dns` to a DownloadError.
 * Timeouts are `timeout`; everything else on the wire (refused, reset, closed socket, TLS,
 * DNS, parser errors, length mismatches) is a retryable `source_unavailable`: a network
 * failure says nothing permanent about the link. A request undici itself rejects as invalid
 * is a non-retryable `source_unavailable`. DownloadErrors pass through unchanged.
 */
export function toDownloadError(error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new DownloadError('timeout', `download timed out (${code}): ${detail}`, { cause: error });
  }
  if (code !== undefined && INVALID_REQUEST_CODES.has(code)) {
    return new DownloadError('source_unavailable', `request refused by the client: ${detail}`, {
      retryable: false,
      cause: error,
    });
  }
  const what = code === undefined ? 'network error' : `network error (${code})`;
  return new DownloadError('source_unavailable', `${what}: ${detail}`, { retryable: true, cause: error });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
