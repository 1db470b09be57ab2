import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from './constant-time.js';
import { header } from './header.js';

describe('constantTimeEqual', () => {
  it.each([
    ['secret', 'secret', true],
    ['secret', 'secreT', false],
    ['secret', 'secret-longer', false],
    ['', '', true],
  ])('%j vs %j → %s', (a, b, expected) => {
    expect(constantTimeEqual(a, b)).toBe(expected);
  });
});

describe('header', () => {
  it('takes the first value of a repeated header and undefined for an absent one', () => {
    expect(header({ a: ['1', '2'], b: '3' }, 'a')).toBe('1');
    expect(header({ a: ['1', '2'], b: '3' }, 'b')).toBe('3');
    expect(header({}, 'c')).toBeUndefined();
  });
});
