import { isIP } from 'node:net';
import { redactUrl } from '@runway-relay/contracts';
import { hostAllowed, isForbiddenAddress } from './address-policy.js';
import { DownloadError } from './download-error.js';

/** The parts of the download options that decide which URLs may be requested. */
export interface UrlPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
  allowedHosts: readonly string[];
}

/**
 * Parses a download URL or a redirect `Location` (relative to `base`). Unparseable targets
 * are `blocked_url`: we will not guess what a malformed link meant.
 */
export function parseDownloadUrl(text: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch (error) {
    throw new DownloadError('blocked_url', 'unparseable download URL', { cause: error });
  }
}

/**
 * Throws `blocked_url` unless `url` may be requested: `https:` (or `http:` when allowed), a
 * host on the allow-list, and, unless private targets are allowed, no literal forbidden IP.
 * Called for the first URL and for every redirect target. Names that resolve to forbidden
 * addresses are refused later, at connect time, by the safe agent.
 */
export function assertUrlAllowed(url: URL, policy: UrlPolicy): void {
  const shown = redactUrl(url);
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && policy.allowHttp);
  if (!schemeOk) {
    throw new DownloadError('blocked_url', `scheme ${url.protocol} is not allowed: ${shown}`);
  }
  if (!hostAllowed(url.hostname, policy.allowedHosts)) {
    throw new DownloadError('blocked_url', `host ${url.hostname} is not on the allow-list: ${shown}`);
  }
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!policy.allowPrivate && isIP(literal) !== 0 && isForbiddenAddress(literal)) {
    throw new DownloadError('blocked_url', `address ${literal} is not allowed: ${shown}`);
  }
}
