export { redactUrl } from '@runway-relay/contracts';
export { hostAllowed, isForbiddenAddress } from './address-policy.js';
export { type OpenedDownload, openDownload } from './download.js';
export {
  DownloadError,
  type DownloadErrorOptions,
  type DownloadFailureCategory,
  errorForStatus,
  parseRetryAfter,
  toDownloadError,
} from './download-error.js';
export { type DownloadOptions, downloadOptionsFromConfig, safeAgentOptionsFromConfig } from './download-options.js';
export { expectKind, isAcceptableContentType, type SniffedMedia, sniffMedia } from './media-sniff.js';
export type { DownloadResult } from './metered-body.js';
export { createSafeAgent, type SafeAgentOptions } from './safe-agent.js';
