import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';

export interface GuardedConnectorOptions {
  /** TCP + TLS connect timeout (DNS lookup included), ms. */
  connectTimeoutMs: number;
  /** True for an address that must not be connected to (e.g. {@link isForbiddenAddress}). */
  isForbidden: (ip: string) => boolean;
  /** The error a refused connection fails with; `address` is the forbidden one. */
  refusal: (hostname: string, address: string) => Error;
}

/**
 * An undici connector that judges the addresses it connects to, for an `Agent({ connect })`.
 * The check lives at connect time rather than in a pre-flight DNS check, so a name that
 * resolves to a public address for a check and to 169.254.169.254 for the connection (DNS
 * rebinding) cannot slip through. Three gates: literal IP hosts are judged before connecting
 * (`net` skips `lookup` for them); names are resolved by our own `lookup`, which refuses when
 * ANY resolved address is forbidden; and the connected socket's `remoteAddress` is judged
 * again before a byte of the request is sent.
 */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const { isForbidden, refusal } = options;
  const baseConnect = buildConnector({ timeout: options.connectTimeoutMs, lookup: guardedLookup(options) });
  return (target, callback) => {
    if (isIP(target.hostname) !== 0 && isForbidden(target.hostname)) {
      // Asynchronously, as a real connection failure would be.
      process.nextTick(() => callback(refusal(target.hostname, target.hostname), null));
      return;
    }
    baseConnect(target, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const remote = socket.remoteAddress;
      if (remote !== undefined && isForbidden(remote)) {
        socket.destroy();
        callback(refusal(target.hostname, remote), null);
        return;
      }
      callback(null, socket);
    });
  };
}

/**
 * A `net` lookup that resolves every address of the name and refuses the connection when any
 * of them is forbidden. Refusing (rather than filtering out the bad ones) is deliberate: a
 * public host has no reason to also resolve to a private address.
 */
function guardedLookup(options: GuardedConnectorOptions): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, '');
        return;
      }
      const bad = addresses.find((entry) => options.isForbidden(entry.address));
      if (bad !== undefined) {
        callback(options.refusal(hostname, bad.address), '');
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        return;
      }
      // With autoSelectFamily (Node's default) `net` asks for all addresses; otherwise for one.
      if (lookupOptions.all === true) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
