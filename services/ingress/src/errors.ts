/** An HTTP error with a stable machine-readable `error` code (the JSON body's `error` field). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const unauthorized = (reason: string) => new HttpError(401, 'unauthorized', reason);

export const signatureReplayed = () =>
  new HttpError(401, 'signature_replayed', 'this signature was already used with another body');

export const signatureStale = () =>
  new HttpError(
    401,
    'signature_stale',
    'a success may supersede a failure only with a signature newer than the failure it replaces',
  );

export const invalidCallback = (issues: Array<{ path: string; message: string }>) =>
  new HttpError(422, 'invalid_callback', 'the callback does not match the schema', issues);

export const redisUnavailable = (retryAfterS: number) =>
  new HttpError(503, 'unavailable', 'storage for callbacks is unavailable, retry later', undefined, {
    'retry-after': String(retryAfterS),
  });

export const notReplicated = (retryAfterS: number) =>
  new HttpError(503, 'not_replicated', 'the callback is not yet safe on a Redis replica, retry later', undefined, {
    'retry-after': String(retryAfterS),
  });

/** Fastify's own client errors, mapped to our codes (the JSON body names the problem). */
export const FASTIFY_ERROR_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};
