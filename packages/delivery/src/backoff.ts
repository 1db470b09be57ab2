import { deliveryBackoffCapMs } from '@runway-relay/contracts';

/** Name of the deliveries queue's backoff strategy. */
export const DELIVERY_BACKOFF = 'delivery-full-jitter';

/** The longest `Retry-After` honoured: a receiver cannot park a message beyond a retry window. */
export const MAX_RETRY_AFTER_MS = 6 * 3_600_000;

/**
 * Delay before retry `retry` (1-based): "full jitter", a uniform draw in [0, base·2^(retry−1)],
 * so a burst of messages that failed together (an endpoint's outage) comes back spread out
 * rather than in waves; never sooner than the endpoint's `Retry-After` (capped).
 */
export function deliveryBackoffDelay(retry: number, baseMs: number, retryAfterMs = 0, random = Math.random): number {
  const jittered = Math.round(random() * deliveryBackoffCapMs(retry, baseMs));
  return Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its month; `Date.parse` would also read "-5" or "2026" as dates.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
