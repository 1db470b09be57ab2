import { describe, expect, it } from 'vitest';
import { relayBackoffDelay } from './queue-options.js';

describe('relayBackoffDelay', () => {
  it('doubles per attempt around the base, with jitter between 0.5x and 1.5x', () => {
    expect(relayBackoffDelay(1, 1000, 0, () => 0)).toBe(500);
    expect(relayBackoffDelay(1, 1000, 0, () => 0.5)).toBe(1000);
    expect(relayBackoffDelay(3, 1000, 0, () => 0.5)).toBe(4000);
    expect(relayBackoffDelay(3, 1000, 0, () => 0.999)).toBeLessThan(6000);
  });
  it('never retries sooner than Retry-After', () => {
    expect(relayBackoffDelay(1, 1000, 7000, () => 0.5)).toBe(7000);
  });
  it('spans hours with the defaults, inside the 14-day link life', () => {
    let total = 0;
    for (let n = 1; n < 12; n++) total += relayBackoffDelay(n, 5000, 0, () => 0.5);
    expect(total / 3_600_000).toBeGreaterThan(2);
    expect(total / 86_400_000).toBeLessThan(14);
  });
});
