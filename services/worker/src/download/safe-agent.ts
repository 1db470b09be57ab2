import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { isForbiddenAddress } from './address-policy.js';
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
 * The SSRF guarantee lives here rather than in a pre-flight DNS check: the address is judged
 * when the socket is opened (for every redirect hop, since each hop connects through this
 * agent), so a name that resolves to a public address for a check and to 169.254.169.254
 * for the connection (DNS rebinding) cannot slip through. Three gates:
 * literal IP hosts are judged before connecting (`net` skips `lookup` for them); names are
 * resolved by our own `lookup`, which refuses when ANY resolved address is forbidden; and the
 * connected socket's `remoteAddress` is judged again before a byte of the request is sent.
 */
export function createSafeAgent(options: SafeAgentOptions): Agent {
  const forbidden = options.allowPrivate ? () => false : (options.isForbidden ?? isForbiddenAddress);
  const baseConnect = buildConnector({ timeout: options.connectTimeoutMs, lookup: guardedLookup(forbidden) });

  const connect: buildConnector.connector = (target, callback) => {
    if (isIP(target.hostname) !== 0 && forbidden(target.hostname)) {
      // Asynchronously, as a real connection failure would be.
      process.nextTick(() => callback(blockedAddress(target.hostname, target.hostname), null));
      return;
    }
    baseConnect(target, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const remote = socket.remoteAddress;
      if (remote !== undefined && forbidden(remote)) {
        socket.destroy();
        callback(blockedAddress(target.hostname, remote), null);
        return;
      }
      callback(null, socket);
    });
  };

  return new Agent({ connect, headersTimeout: options.headersTimeoutMs, bodyTimeout: options.idleTimeoutMs });
}

/**
 * A `net` lookup that resolves every address of the name and refuses the connection when
 * any of them is forbidden. Refusing (rather than filtering out the bad ones) is deliberate:
 * a public media host has no reason to also resolve to a private address.
 */
function guardedLookup(forbidden: (ip: string) => boolean): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, '');
        return;
      }
      const bad = addresses.find((entry) => forbidden(entry.address));
      if (bad !== undefined) {
        callback(blockedAddress(hostname, bad.address), '');
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

function blockedAddress(hostname: string, address: string): DownloadError {
  const shown = hostname === address ? address : `${hostname} (${address})`;
  return new DownloadError('blocked_url', `refused to connect to forbidden address ${shown}`);
}
