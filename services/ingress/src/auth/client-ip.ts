import { BlockList, isIP } from 'node:net';

/** Builds a BlockList (used here as an allow-list) from CIDRs or single addresses. */
export function cidrList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/** True when `ip` is inside `list`; IPv4-mapped IPv6 addresses are checked as IPv4. */
export function listContains(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return list.check(mapped[1], 'ipv4');
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The sender's address: the socket peer, unless that peer is a trusted proxy, in which case
 * X-Forwarded-For is walked from the right past every trusted proxy. Addresses added by
 * an untrusted client on the left are never believed.
 */
export function clientIp(socketIp: string, forwardedFor: string | undefined, trusted: BlockList | null): string {
  if (!trusted || !forwardedFor || !listContains(trusted, socketIp)) return socketIp;
  const hops = forwardedFor
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!listContains(trusted, hop)) return hop;
  }
  return hops[0] ?? socketIp;
}
