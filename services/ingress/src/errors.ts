import { HttpError } from '@runway-relay/runtime';

// The ingress's own errors; the class, the body shape and Fastify's codes are shared (packages/runtime).

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
