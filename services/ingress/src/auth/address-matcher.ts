import proxyAddr from '@fastify/proxy-addr';

/** True when an address is in a configured list (CIDRs or single addresses, IPv4 or IPv6). */
export type AddressMatcher = (address: string) => boolean;

/**
 * Compiles `CALLBACK_ALLOWED_IPS` or `TRUSTED_PROXIES` into a matcher, or null for an empty list.
 * It is the same proxy-addr compiler Fastify's `trustProxy` uses, so the allow-list, the
 * trusted-proxy exemptions and `request.ip` judge an address alike: an IPv4-mapped IPv6
 * address matches its IPv4 subnet, and anything that is not an IP address matches nothing.
 */
export function addressMatcher(entries: readonly string[]): AddressMatcher | null {
  if (entries.length === 0) return null;
  const matches = proxyAddr.compile([...entries]);
  return (address) => matches(address, 0);
}
