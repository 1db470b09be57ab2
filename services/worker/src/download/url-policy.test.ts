import { redactUrl } from '@runway-relay/contracts';
import { describe, expect, it } from 'vitest';
import { assertUrlAllowed, parseDownloadUrl, type UrlPolicy } from './url-policy.js';

const strict: UrlPolicy = { allowHttp: false, allowPrivate: false, allowedHosts: [] };

function category(url: string, policy: UrlPolicy): string | null {
  try {
    assertUrlAllowed(parseDownloadUrl(url), policy);
    return null;
  } catch (error) {
    return (error as { category?: string }).category ?? 'other';
  }
}

describe('assertUrlAllowed', () => {
  it('allows https to a public host', () => {
    expect(category('https://cdn.example.com/v.mp4?sig=1', strict)).toBeNull();
  });

  it.each(['ftp://cdn.example.com/v.mp4', 'file:///etc/passwd', 'http://cdn.example.com/v.mp4', 'gopher://x/'])(
    'refuses %s as blocked_url',
    (url) => {
      expect(category(url, strict)).toBe('blocked_url');
    },
  );

  it('allows http only when configured', () => {
    expect(category('http://cdn.example.com/v.mp4', { ...strict, allowHttp: true })).toBeNull();
  });

  it('enforces the host allow-list', () => {
    const policy = { ...strict, allowedHosts: ['*.cloudfront.net'] };
    expect(category('https://d1.cloudfront.net/v.mp4', policy)).toBeNull();
    expect(category('https://evil.example/v.mp4', policy)).toBe('blocked_url');
  });

  it.each([
    'https://169.254.169.254/latest/meta-data/',
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://[::ffff:10.0.0.1]/',
    'https://0x7f.1/',
    'https://2130706433/',
  ])('refuses the literal private address in %s unless allowPrivate', (url) => {
    expect(category(url, strict)).toBe('blocked_url');
    expect(category(url, { ...strict, allowPrivate: true })).toBeNull();
  });

  it('treats an unparseable URL as blocked_url', () => {
    expect(category('not a url', strict)).toBe('blocked_url');
  });
});

describe('redactUrl', () => {
  it('keeps origin and path, drops query, fragment and credentials', () => {
    expect(redactUrl('https://user:pw@cdn.example.com:8443/a/v.mp4?X-Amz-Signature=secret#frag')).toBe(
      'https://cdn.example.com:8443/a/v.mp4',
    );
    expect(redactUrl(new URL('https://cdn.example.com/v.mp4?sig=1'))).toBe('https://cdn.example.com/v.mp4');
  });

  it('does not echo unparseable input', () => {
    expect(redactUrl('::not a url?sig=secret')).toBe('[invalid url]');
  });
});
