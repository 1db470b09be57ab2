import { describe, expect, it } from 'vitest';
import { cidrList, clientIp, listContains } from './client-ip.js';

describe('cidrList / listContains', () => {
  const list = cidrList(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7']);
  it.each([
    ['203.0.113.200', true],
    ['203.0.114.1', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    ['::ffff:203.0.113.5', true],
    ['not-an-ip', false],
  ])('%s → %s', (ip, expected) => {
    expect(listContains(list, ip)).toBe(expected);
  });
});

describe('clientIp', () => {
  const trusted = cidrList(['10.0.0.0/8']);
  it('uses the socket address when no proxy is trusted', () => {
    expect(clientIp('10.0.0.1', '1.2.3.4', null)).toBe('10.0.0.1');
  });
  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientIp('8.8.8.8', '1.2.3.4', trusted)).toBe('8.8.8.8');
  });
  it('walks X-Forwarded-For from the right past trusted proxies', () => {
    expect(clientIp('10.0.0.1', 'spoofed, 1.2.3.4, 10.0.0.2', trusted)).toBe('1.2.3.4');
  });
});
