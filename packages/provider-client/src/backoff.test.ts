import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelayMs } from './backoff.js';

describe('retryDelayMs', () => {
  it('doubles its ceiling per attempt up to the maximum, drawing below it', () => {
    const top = () => 0.999_999;
    expect(retryDelayMs(1, { baseMs: 100, maxMs: 1000 }, undefined, top)).toBe(100);
    expect(retryDelayMs(3, { baseMs: 100, maxMs: 1000 }, undefined, top)).toBe(400);
    expect(retryDelayMs(9, { baseMs: 100, maxMs: 1000 }, undefined, top)).toBe(1000);
    expect(retryDelayMs(3, { baseMs: 100, maxMs: 1000 }, undefined, () => 0)).toBe(0);
  });

  it('never retries before a Retry-After, capped at the maximum', () => {
    expect(retryDelayMs(1, { baseMs: 100, maxMs: 5000 }, 2000, () => 0)).toBe(2000);
    expect(retryDelayMs(1, { baseMs: 100, maxMs: 5000 }, 60_000, () => 0)).toBe(5000);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates, and ignores anything else', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
