import { describe, expect, it } from 'vitest';
import { keySlot } from './hash-slot.js';

// Expected values: `CLUSTER KEYSLOT` of Redis 7 (test/cluster.test.ts checks one against a live cluster).
describe('keySlot', () => {
  it.each([
    ['foo', 12182],
    ['bar', 5061],
    ['123456789', 12739],
    ['{user1000}.following', 3443],
    ['a{b}c', 3300],
    ['{runway}:relay:task:x', 440],
    ['é{ü}', 9552],
  ])('%s → %i', (key, slot) => {
    expect(keySlot(key)).toBe(slot);
  });

  it('hashes only the first non-empty tag, as Redis does', () => {
    expect(keySlot('{runway}:relay:task:a')).toBe(keySlot('runway'));
    expect(keySlot('{runway}:bull:runway-callbacks:wait')).toBe(keySlot('runway'));
    expect(keySlot('{}x')).toBe(10595); // empty tag: the whole key
    expect(keySlot('x{}{y}')).toBe(14166);
    expect(keySlot('{{a}}')).toBe(keySlot('{a'));
    expect(keySlot('a}{b')).toBe(11640); // no closing brace after the opening one
  });
});
