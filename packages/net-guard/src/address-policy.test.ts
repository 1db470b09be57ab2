import { describe, expect, it } from 'vitest';
import { hostAllowed, isForbiddenAddress } from './address-policy.js';

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['0.0.0.0', true],
    ['0.1.2.3', true],
    ['224.0.0.1', true],
    ['239.255.255.250', true],
    ['240.0.0.1', true],
    ['255.255.255.255', true],
    ['198.18.0.1', true],
    ['198.19.255.255', true],
    ['::1', true],
    ['::', true],
    ['[::1]', true],
    ['fc00::1', true],
    ['fd12:3456::1', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:a00:1', true],
    ['::FFFF:169.254.169.254', true],
    ['0:0:0:0:0:ffff:7f00:1', true],
    ['64:ff9b::127.0.0.1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['2002:7f00:1::1', true],
    // Azure's wireserver (instance metadata and agent channel), reachable from every Azure VM.
    ['168.63.129.16', true],
    ['::ffff:168.63.129.16', true],
    // IPv4-translated addresses (RFC 2765, ::ffff:0:0:0/96) carry an IPv4 address like mapped ones.
    ['::ffff:0:127.0.0.1', true],
    ['::ffff:0:7f00:1', true],
    ['0:0:0:0:ffff:0:a9fe:a9fe', true],
    ['::FFFF:0:10.0.0.1', true],
    ['::ffff:0:168.63.129.16', true],
    ['not-an-ip', true],
    ['', true],
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['198.20.0.1', false],
    ['2001:4860::8888', false],
    ['2001:4860:4860::8888', false],
    ['2606:4700:4700::1111', false],
    ['::ffff:8.8.8.8', false],
    ['::ffff:0:8.8.8.8', false],
    ['168.63.129.17', false],
    ['64:ff9b::8.8.8.8', false],
    ['2002:808:808::1', false],
  ])('%s → forbidden: %s', (ip, forbidden) => {
    expect(isForbiddenAddress(ip)).toBe(forbidden);
  });
});

describe('hostAllowed', () => {
  it('allows any host when the list is empty', () => {
    expect(hostAllowed('anything.example', [])).toBe(true);
  });

  it('matches exact names case-insensitively, ignoring a trailing dot', () => {
    expect(hostAllowed('CDN.Example.com', ['cdn.example.com'])).toBe(true);
    expect(hostAllowed('cdn.example.com.', ['CDN.example.com'])).toBe(true);
    expect(hostAllowed('other.example.com', ['cdn.example.com'])).toBe(false);
  });

  it('matches *.domain wildcards on subdomains of any depth, not the apex or look-alikes', () => {
    const list = ['*.cloudfront.net'];
    expect(hostAllowed('d1.cloudfront.net', list)).toBe(true);
    expect(hostAllowed('a.b.CLOUDFRONT.net', list)).toBe(true);
    expect(hostAllowed('cloudfront.net', list)).toBe(false);
    expect(hostAllowed('evilcloudfront.net', list)).toBe(false);
    expect(hostAllowed('cloudfront.net.evil.com', list)).toBe(false);
  });

  it('compares IPv6 literals without brackets', () => {
    expect(hostAllowed('[2001:db8::1]', ['2001:db8::1'])).toBe(true);
  });
});
