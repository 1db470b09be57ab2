import { describe, expect, it } from 'vitest';
import { DownloadError, errorForStatus, parseRetryAfter, toDownloadError } from './download-error.js';

describe('errorForStatus', () => {
  it.each([403, 404, 410])('%i is link_expired and not retryable', (status) => {
    const error = errorForStatus(status);
    expect(error).toMatchObject({ category: 'link_expired', retryable: false, status });
  });

  it.each([500, 502, 503, 504, 408])('%i is a retryable source_unavailable', (status) => {
    expect(errorForStatus(status)).toMatchObject({ category: 'source_unavailable', retryable: true, status });
  });

  it.each([400, 401, 405, 416, 300, 304])('%i is a non-retryable source_unavailable', (status) => {
    expect(errorForStatus(status)).toMatchObject({ category: 'source_unavailable', retryable: false });
  });

  it('429 is retryable and honours Retry-After', () => {
    expect(errorForStatus(429, '7')).toMatchObject({
      category: 'source_unavailable',
      retryable: true,
      retryAfterMs: 7000,
    });
    expect(errorForStatus(429).retryAfterMs).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
  });

  it('clamps past dates to 0 and ignores garbage', () => {
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('toDownloadError', () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });

  it.each(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])(
    '%s is a retryable timeout',
    (code) => {
      expect(toDownloadError(coded(code))).toMatchObject({ category: 'timeout', retryable: true });
    },
  );

  it.each(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'CERT_HAS_EXPIRED', 'ENOTFOUND', 'HPE_INVALID_CONSTANT'])(
    '%s is a retryable source_unavailable',
    (code) => {
      const error = toDownloadError(coded(code));
      expect(error).toMatchObject({ category: 'source_unavailable', retryable: true });
      expect(error.cause).toBeInstanceOf(Error);
    },
  );

  it('treats a request undici rejects as invalid as non-retryable', () => {
    expect(toDownloadError(coded('UND_ERR_INVALID_ARG'))).toMatchObject({
      category: 'source_unavailable',
      retryable: false,
    });
  });

  it('passes DownloadErrors through unchanged', () => {
    const original = new DownloadError('blocked_url', 'nope');
    expect(toDownloadError(original)).toBe(original);
    expect(original.retryable).toBe(false);
  });
});
