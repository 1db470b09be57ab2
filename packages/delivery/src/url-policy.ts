import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { redactUrl } from '@runway-relay/contracts';
import { isForbiddenAddress } from '@runway-relay/net-guard';

/** Which endpoint URLs may be registered and connected to (DELIVERY_ALLOW_HTTP / _PRIVATE). */
export interface EndpointUrlPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
}

/** Longest endpoint URL, as typed and in its canonical (stored) form. */
export const MAX_ENDPOINT_URL_LENGTH = 2048;

/** Resolves a host name to all its addresses. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export const resolveWithDns: ResolveHost = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** An endpoint URL the policy refuses; `reason` is safe to show to the API caller. */
export class EndpointUrlError extends Error {
  override readonly name = 'EndpointUrlError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Throws {@link EndpointUrlError} unless `text` may be registered: https (or http when
 * allowed), no credentials in it, a canonical form of at most {@link MAX_ENDPOINT_URL_LENGTH}
 * characters, and, unless private targets are allowed, a host that is not and does not
 * resolve to a forbidden address. Returns the parsed URL, whose `href` is what to store. This
 * is the creation-time check; the delivery agent judges the resolved addresses again at every
 * connect (DNS can change).
 */
export async function assertEndpointUrlAllowed(
  text: string,
  policy: EndpointUrlPolicy,
  resolve: ResolveHost = resolveWithDns,
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EndpointUrlError('url is not a valid URL');
  }
  const shown = redactUrl(url);
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && policy.allowHttp))) {
    throw new EndpointUrlError(`scheme ${url.protocol} is not allowed (https only): ${shown}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new EndpointUrlError('url must not carry credentials');
  }
  // Percent-encoding can make the stored form longer than the text typed.
  if (url.href.length > MAX_ENDPOINT_URL_LENGTH) {
    throw new EndpointUrlError(`url is longer than ${MAX_ENDPOINT_URL_LENGTH} characters once normalised`);
  }
  if (policy.allowPrivate) return url;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0) {
    if (isForbiddenAddress(host)) throw new EndpointUrlError(`address ${host} is not public: ${shown}`);
    return url;
  }
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    throw new EndpointUrlError(`host ${host} does not resolve: ${shown}`);
  }
  const bad = addresses.find((address) => isForbiddenAddress(address));
  if (bad !== undefined) throw new EndpointUrlError(`host ${host} resolves to ${bad}, not a public address: ${shown}`);
  if (addresses.length === 0) throw new EndpointUrlError(`host ${host} does not resolve: ${shown}`);
  return url;
}
