import { describe, expect, it } from 'vitest';
import { formatBehavior, parseBehavior } from './behavior.js';

describe('parseBehavior', () => {
  it.each([
    'ok',
    'slow:1000',
    'stall',
    'stall:10',
    'delay:50',
    'status:429:3',
    'flaky:2',
    'expire-after:100',
    'html',
    'html-as-media',
    'redirect:3',
    'redirect-loop',
    'redirect-to:http://169.254.169.254/latest/meta-data/',
    'truncate',
    'lie-length:larger',
    'huge-declared',
    'endless',
  ])('round-trips %s', (text) => {
    expect(formatBehavior(parseBehavior(text))).toBe(text);
  });

  it('fills defaults and aliases', () => {
    expect(parseBehavior('status:503')).toEqual({ kind: 'status', code: 503, retryAfter: 1 });
    expect(parseBehavior('html-as-mp4')).toEqual({ kind: 'html-as-media' });
    expect(parseBehavior('lie-length')).toEqual({ kind: 'lie-length', direction: 'smaller' });
  });

  it('rejects unknown names and bad arguments', () => {
    for (const text of ['dance', 'status:99', 'flaky:-1', 'redirect-to:not a url', 'expire-after']) {
      expect(() => parseBehavior(text)).toThrow();
    }
  });
});
