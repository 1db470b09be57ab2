/**
 * A URL safe to log or store: origin + path, without the query string (signed URLs carry
 * their signature there), the fragment or any user:password. Unparseable input is not echoed.
 */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    // Opaque origins ('null', e.g. data: or file: URLs) would lose the scheme.
    const origin = parsed.origin === 'null' ? `${parsed.protocol}//${parsed.host}` : parsed.origin;
    return `${origin}${parsed.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
