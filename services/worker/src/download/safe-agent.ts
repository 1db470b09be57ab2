import { createGuardedConnector, isForbiddenAddress } from '@runway-relay/net-guard';
import { Agent } from 'undici';
import { DownloadError } from './download-error.js';

/** Connection settings of the download agent; see DownloadEnvSchema for defaults. */
export interface SafeAgentOptions {
  /** TCP + TLS connect timeout (DNS lookup included), ms. */
  connectTimeoutMs: number;
  /** Default time to the response headers, ms (a request may override it). */
  headersTimeoutMs: number;
  /** Default longest silence while a body streams, ms (a request may override it). */
  idleTimeoutMs: number;
  /** Connect to loopback/private/link-local addresses too: tests and local simulators only. */
  allowPrivate: boolean;
  /**
   * The address policy; defaults to {@link isForbiddenAddress}. A seam for tests that need
   * 127.0.0.1 to count as "public" while still refusing every other private address.
   */
  isForbidden?: (ip: string) => boolean;
}

/**
 * Builds the undici Agent every download goes through; build one per worker process and
 * reuse it (it pools keep-alive connections per origin).
 *
 * The SSRF guarantee lives in its connector (`createGuardedConnector`, packages/net-guard):
 * the address is judged when the socket is opened, for every redirect hop, since each hop
 * connects through this agent.
 */
export function createSafeAgent(options: SafeAgentOptions): Agent {
  const forbidden = options.allowPrivate ? () => false : (options.isForbidden ?? isForbiddenAddress);
  const connect = createGuardedConnector({
    connectTimeoutMs: options.connectTimeoutMs,
    isForbidden: forbidden,
    refusal: blockedAddress,
  });
  return new Agent({ connect, headersTimeout: options.headersTimeoutMs, bodyTimeout: options.idleTimeoutMs });
}

function blockedAddress(hostname: string, address: string): DownloadError {
  const shown = hostname === address ? address : `${hostname} (${address})`;
  return new DownloadError('blocked_url', `refused to connect to forbidden address ${shown}`);
}
