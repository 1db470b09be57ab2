import { createGuardedConnector, isForbiddenAddress } from '@runway-relay/net-guard';
import { Agent } from 'undici';

export interface DeliveryAgentOptions {
  /** DELIVERY_TIMEOUT_MS: bounds the connect, the headers and the body silences. */
  timeoutMs: number;
  /** DELIVERY_ALLOW_PRIVATE: connect to loopback/private addresses (tests, local development). */
  allowPrivate: boolean;
}

/** A connection the SSRF policy refused; never retried (the endpoint's name points inside). */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
}

/**
 * The undici Agent every delivery attempt goes through (one per process, it pools
 * keep-alive connections per endpoint origin). Its connector judges the addresses it
 * connects to, so an endpoint whose name later resolves to 127.0.0.1 or 169.254.169.254 is
 * refused at connect time, after passing the creation-time check.
 */
export function createDeliveryAgent(options: DeliveryAgentOptions): Agent {
  const connect = createGuardedConnector({
    connectTimeoutMs: Math.min(options.timeoutMs, 10_000),
    isForbidden: options.allowPrivate ? () => false : isForbiddenAddress,
    refusal: (hostname, address) =>
      new BlockedAddressError(
        `refused to connect to forbidden address ${hostname === address ? address : `${hostname} (${address})`}`,
      ),
  });
  return new Agent({ connect, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
}
