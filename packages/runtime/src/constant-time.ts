import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets in time independent of where they differ. Both sides are hashed
 * first so their lengths are equal and the length of the secret does not leak either.
 * The ingress compares tokens and signatures with it, the dashboard its basic-auth credentials.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
