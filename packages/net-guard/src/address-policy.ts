import { BlockList, isIP } from 'node:net';

/** IPv4 ranges no download may reach: nothing in them is a public media host. */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network", includes the unspecified address
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. cloud metadata 169.254.169.254
  ['168.63.129.16', 32], // Azure's wireserver: a public address that only answers, privileged, inside Azure
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast 255.255.255.255
];

/**
 * IPv6 ranges refused outright. Ranges that embed an IPv4 address (mapped, translated, NAT64, 6to4) are
 * not listed: the embedded address is extracted and judged by the IPv4 rules instead, so
 * `::ffff:8.8.8.8` stays allowed while `::ffff:127.0.0.1` does not.
 */
const FORBIDDEN_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible range
  ['64:ff9b:1::', 48], // local-use NAT64: translates to whatever the local network decides
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: tunnels to an address we cannot judge
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (private)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

function buildBlockList(): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of FORBIDDEN_V4) list.addSubnet(network, prefix, 'ipv4');
  for (const [network, prefix] of FORBIDDEN_V6) list.addSubnet(network, prefix, 'ipv6');
  return list;
}

// Immutable after construction, so sharing it is not a mutable module-level singleton.
const BLOCKED = buildBlockList();

/**
 * True when `ip` must not be connected to: loopback, private, link-local, multicast,
 * unspecified, CGNAT, reserved, benchmarking and documentation ranges (v4 and v6), including
 * IPv4 addresses smuggled inside IPv6 (IPv4-mapped `::ffff:0:0/96`, IPv4-translated
 * `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). Anything that is not a valid IP address is forbidden (fail closed).
 */
export function isForbiddenAddress(ip: string): boolean {
  const address = normalize(ip);
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const embedded = embeddedIPv4(address);
  if (embedded !== null) return BLOCKED.check(embedded, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** Strips URL brackets and a zone id (`fe80::1%eth0`, which `dns.lookup` may return). */
function normalize(ip: string): string {
  const unbracketed = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const zone = unbracketed.indexOf('%');
  return (zone === -1 ? unbracketed : unbracketed.slice(0, zone)).toLowerCase();
}

// The first 12 bytes of ::ffff:0:0/96, ::ffff:0:0:0/96 (RFC 2765 IPv4-translated) and 64:ff9b::/96.
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const TRANSLATED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
const NAT64_PREFIX = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

function hasPrefix(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

/** The IPv4 address an IPv6 address stands for, or null when it embeds none. */
function embeddedIPv4(ipv6: string): string | null {
  const bytes = parseIPv6(ipv6);
  if (bytes === null) return null;
  const isMapped = hasPrefix(bytes, MAPPED_PREFIX);
  const isTranslated = hasPrefix(bytes, TRANSLATED_PREFIX);
  const isNat64 = hasPrefix(bytes, NAT64_PREFIX);
  if (isMapped || isTranslated || isNat64) return Array.from(bytes.subarray(12, 16)).join('.');
  // 6to4 carries the IPv4 address in bits 16..48.
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return Array.from(bytes.subarray(2, 6)).join('.');
  return null;
}

/** Parses a valid IPv6 text address (as accepted by `net.isIPv6`) into 16 bytes. */
function parseIPv6(address: string): Uint8Array | null {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // Dotted IPv4 tail, e.g. ::ffff:127.0.0.1: becomes two 16-bit groups.
    const octets = last.split('.').map(Number);
    tail.push(((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0));
    text = `${text.slice(0, lastColon + 1)}0`; // placeholder group, dropped below
  }
  const [head = '', rest] = text.split('::');
  const parseGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  let left = parseGroups(head);
  let right = rest === undefined ? [] : parseGroups(rest);
  if (tail.length > 0) {
    if (rest === undefined) left = [...left.slice(0, -1), ...tail];
    else right = [...right.slice(0, -1), ...tail];
  }
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return null;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/**
 * True when `host` may be downloaded from: the list is empty (any host), or it names `host`
 * exactly, or a `*.example.com` entry covers it (any depth of subdomain, not the apex
 * itself). Case-insensitive; a trailing dot and IPv6 brackets are ignored.
 */
export function hostAllowed(host: string, allowList: readonly string[]): boolean {
  if (allowList.length === 0) return true;
  const name = canonicalHost(host);
  return allowList.some((entry) => {
    const pattern = canonicalHost(entry);
    // '*.example.com' → suffix '.example.com': subdomains match, the apex and 'evilexample.com' do not.
    if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1));
    return name === pattern;
  });
}

function canonicalHost(host: string): string {
  const trimmed = host.trim().toLowerCase().replace(/\.$/, '');
  return trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
}
