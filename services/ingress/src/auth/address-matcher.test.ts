import { describe, expect, it } from 'vitest';
import { addressMatcher } from './address-matcher.js';

describe('addressMatcher', () => {
  const matches = addressMatcher(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7']);
  it.each([
    ['203.0.113.200', true],
    ['203.0.114.1', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    ['::ffff:203.0.113.5', true],
    ['::ffff:203.0.114.5', false],
    ['not-an-ip', false],
    ['', false],
  ])('%s → %s', (ip, expected) => {
    expect(matches?.(ip)).toBe(expected);
  });

  it('is null for an empty list, so "no list" cannot be mistaken for "nobody"', () => {
    expect(addressMatcher([])).toBeNull();
  });
});
