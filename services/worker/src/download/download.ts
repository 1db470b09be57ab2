import type { Readable } from 'node:stream';
import type { MediaKind } from '@runway-relay/contracts';
import { redactUrl } from '@runway-relay/contracts';
import { header } from '@runway-relay/runtime';
import { type Dispatcher, request } from 'undici';
import { DownloadError, errorForStatus, toDownloadError } from './download-error.js';
import type { DownloadOptions } from './download-options.js';
import { createMediaEndCheck } from './media-end-check.js';
import { expectKind, isAcceptableContentType, SNIFF_BYTES, sniffMedia } from './media-sniff.js';
import { type DownloadResult, meterBody } from './metered-body.js';
import { assertUrlAllowed, parseDownloadUrl } from './url-policy.js';

/** A response that passed every check before its body is read; stream `body` to its end. */
export interface OpenedDownload {
  /**
   * Every byte of the media. Fails with `too_large`, `timeout` or `source_unavailable` while
   * streaming; the consumer must read it to the end or destroy it (which closes the connection).
   */
  body: Readable;
  /** The sniffed MIME type: what the bytes are, not what the source claimed. */
  contentType: string;
  /** File extension of the sniffed type, without the dot. */
  ext: string;
  /** The declared Content-Length, or null when the source did not declare one. */
  declaredLength: number | null;
  /** The URL finally served, redacted (origin + path, no query): safe to log and store. */
  finalUrl: string;
  /** Host name of the final URL, e.g. for object metadata. */
  finalHost: string;
  /** Redirects followed. */
  redirects: number;
  /** Size and sha256; resolves after `body` has been read to its end. */
  result(): Promise<DownloadResult>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Opens a streaming download of provider media (docs/architecture.md §6): follows redirects itself so each
 * hop is checked (scheme, host allow-list, and, in the agent, the connected address), maps
 * error statuses, refuses an unacceptable Content-Type or an oversized Content-Length before
 * reading, then sniffs the first bytes; while streaming, checks the size against the limit and
 * the declared length, and the structure of the sniffed type against where the body ends
 * (media-end-check.ts). Requests go through `options.dispatcher`, the process's safe agent
 * (safe-agent.ts), which judges every connected address. Every failure is a {@link DownloadError}, except an
 * abort through `signal`, which rejects with the signal's reason.
 */
export async function openDownload(
  url: string,
  kind: MediaKind,
  options: DownloadOptions,
  signal?: AbortSignal,
): Promise<OpenedDownload> {
  signal?.throwIfAborted();
  const mapError = (error: unknown): unknown => (signal?.aborted ? signal.reason : toDownloadError(error));
  try {
    return await open(url, kind, options, mapError, signal);
  } catch (error) {
    throw mapError(error);
  }
}

async function open(
  url: string,
  kind: MediaKind,
  options: DownloadOptions,
  mapError: (error: unknown) => unknown,
  signal: AbortSignal | undefined,
): Promise<OpenedDownload> {
  const requested = parseDownloadUrl(url);
  const { response, finalUrl, redirects } = await followRedirects(requested, kind, options, signal);
  const shown = redactUrl(finalUrl);
  const { statusCode, headers, body } = response;
  if (statusCode < 200 || statusCode > 299) {
    discard(body);
    throw errorForStatus(statusCode, header(headers, 'retry-after'));
  }

  const declaredType = header(headers, 'content-type');
  if (!isAcceptableContentType(kind, declaredType, [finalUrl.pathname, requested.pathname])) {
    discard(body);
    const message = `Content-Type ${declaredType ?? '(none)'} is not acceptable for a ${kind}: ${shown}`;
    throw new DownloadError('content_type_mismatch', message, { status: statusCode });
  }

  const declaredLength = parseContentLength(header(headers, 'content-length'));
  if (declaredLength !== null && declaredLength > options.maxBytes) {
    discard(body);
    const message = `declared ${declaredLength} bytes exceeds the limit of ${options.maxBytes}: ${shown}`;
    throw new DownloadError('too_large', message, { status: statusCode });
  }

  const metered = await meterBody(body, {
    maxBytes: options.maxBytes,
    declaredLength,
    prefixBytes: SNIFF_BYTES,
    mapError,
    // Sniffed here as well as below: the check must be in place before the first byte passes.
    endCheck: (prefix) => createMediaEndCheck(sniffMedia(prefix)),
  });
  const sniffed = sniffMedia(metered.prefix);
  if (sniffed === null || !expectKind(kind, sniffed)) {
    metered.body.destroy();
    const what = sniffed === null ? 'unrecognised bytes' : sniffed.mime;
    throw new DownloadError('content_type_mismatch', `expected a ${kind}, got ${what}: ${shown}`, {
      status: statusCode,
    });
  }

  return {
    body: metered.body,
    contentType: sniffed.mime,
    ext: sniffed.ext,
    declaredLength,
    finalUrl: shown,
    finalHost: finalUrl.hostname,
    redirects,
    result: metered.result,
  };
}

interface FinalResponse {
  response: Dispatcher.ResponseData;
  finalUrl: URL;
  redirects: number;
}

/**
 * Requests `start`, following up to `maxRedirects` redirects by hand: undici's redirect
 * interceptor would not let us check each target. Exceeding the limit is `blocked_url`, not
 * `source_unavailable`: it is our policy refusing the chain, and retrying would not change it.
 */
async function followRedirects(
  start: URL,
  kind: MediaKind,
  options: DownloadOptions,
  signal: AbortSignal | undefined,
): Promise<FinalResponse> {
  let current = start;
  for (let redirects = 0; ; redirects++) {
    assertUrlAllowed(current, options);
    const response = await request(current, {
      method: 'GET',
      dispatcher: options.dispatcher,
      signal,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
      // Identity only: a compressed body could be neither sniffed nor length-checked.
      headers: {
        accept: kind === 'video' ? 'video/*, */*;q=0.5' : 'image/*, */*;q=0.5',
        'accept-encoding': 'identity',
      },
    });
    if (!REDIRECT_STATUSES.has(response.statusCode)) return { response, finalUrl: current, redirects };

    discard(response.body);
    const location = header(response.headers, 'location');
    if (location === undefined) {
      const message = `HTTP ${response.statusCode} redirect without a Location: ${redactUrl(current)}`;
      throw new DownloadError('source_unavailable', message, { status: response.statusCode, retryable: false });
    }
    if (redirects >= options.maxRedirects) {
      const message = `more than ${options.maxRedirects} redirects, last at ${redactUrl(current)}`;
      throw new DownloadError('blocked_url', message, { status: response.statusCode });
    }
    current = parseDownloadUrl(location, current);
  }
}

/** Drops a body we will not read; destroying closes the connection rather than draining it. */
function discard(body: Readable): void {
  // undici reports a destroyed unread body as an 'error' (RequestAbortedError): expected here.
  body.on('error', () => {});
  body.destroy();
}

function parseContentLength(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}
