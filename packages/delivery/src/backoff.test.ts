import { describe, expect, it } from 'vitest';
import { deliveryBackoffDelay, MAX_RETRY_AFTER_MS, parseRetryAfter } from './backoff.js';

describe('deliveryBackoffDelay (full jitter)', () => {
  it('draws uniformly below base·2^(retry−1)', () => {
    expect(deliveryBackoffDelay(1, 10_000, 0, () => 0)).toBe(0);
    expect(deliveryBackoffDelay(1, 10_000, 0, () => 0.999_999)).toBe(10_000);
    expect(deliveryBackoffDelay(4, 10_000, 0, () => 0.5)).toBe(40_000);
    expect(deliveryBackoffDelay(14, 10_000, 0, () => 1)).toBe(10_000 * 2 ** 13);
  });

  it('never waits less than Retry-After, capped at 6 h', () => {
    expect(deliveryBackoffDelay(1, 10, 5_000, () => 0.5)).toBe(5_000);
    expect(deliveryBackoffDelay(1, 10, 365 * 86_400_000, () => 0.5)).toBe(MAX_RETRY_AFTER_MS);
    expect(deliveryBackoffDelay(10, 10_000, 1_000, () => 0.5)).toBe(2_560_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Thu, 03 Dec 2026 12:00:30 GMT', 30_000],
    ['Thu, 03 Dec 2026 11:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    [undefined, undefined],
  ])('%s → %s', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
