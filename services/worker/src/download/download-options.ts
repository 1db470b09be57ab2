import type { DownloadConfig } from '@runway-relay/contracts';
import type { Dispatcher } from 'undici';

/** Limits and policy of one download; defaults live in DownloadEnvSchema (DOWNLOAD_*). */
export interface DownloadOptions {
  /** Largest body accepted, bytes; a larger declared or streamed body fails with `too_large`. */
  maxBytes: number;
  /** Time to the response headers (first byte) of each hop, ms. */
  headersTimeoutMs: number;
  /** Longest silence while the body streams, ms. */
  idleTimeoutMs: number;
  /** Longest whole transfer (open, every byte, upload), ms; enforced by the caller's signal. */
  maxDurationMs?: number;
  /** Redirects followed before giving up with `blocked_url`; 0 follows none. */
  maxRedirects: number;
  /** Exact host names or `*.example.com` patterns, checked on every hop; empty: any host. */
  allowedHosts: readonly string[];
  /**
   * Allow loopback/private/link-local targets (tests and local simulators only). Literal IPs
   * in URLs are refused up front; the agent refuses resolved addresses at connect time.
   */
  allowPrivate: boolean;
  /** Accept `http:` URLs (and redirects to them); only `https:` otherwise. */
  allowHttp: boolean;
  /**
   * The agent requests go through: build one per worker process with `createSafeAgent` and
   * reuse it. It carries the connect-time address policy and the connect timeout, so it is
   * required: a download never builds an agent of its own.
   */
  dispatcher: Dispatcher;
}

/** Maps the worker's DOWNLOAD_* configuration to download options. */
export function downloadOptionsFromConfig(config: DownloadConfig, dispatcher: Dispatcher): DownloadOptions {
  return {
    maxBytes: config.DOWNLOAD_MAX_BYTES,
    headersTimeoutMs: config.DOWNLOAD_TIMEOUT_MS,
    idleTimeoutMs: config.DOWNLOAD_IDLE_TIMEOUT_MS,
    maxRedirects: config.DOWNLOAD_MAX_REDIRECTS,
    maxDurationMs: config.DOWNLOAD_MAX_DURATION_MS,
    allowedHosts: config.DOWNLOAD_ALLOWED_HOSTS,
    allowPrivate: config.DOWNLOAD_ALLOW_PRIVATE,
    allowHttp: config.DOWNLOAD_ALLOW_HTTP,
    dispatcher,
  };
}

/** Maps the DOWNLOAD_* configuration to the download agent's options (see `createSafeAgent`). */
export function safeAgentOptionsFromConfig(config: DownloadConfig) {
  return {
    connectTimeoutMs: config.DOWNLOAD_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: config.DOWNLOAD_TIMEOUT_MS,
    idleTimeoutMs: config.DOWNLOAD_IDLE_TIMEOUT_MS,
    allowPrivate: config.DOWNLOAD_ALLOW_PRIVATE,
  };
}
