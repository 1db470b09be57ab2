/**
 * What went wrong with a request to the provider's API:
 * - `auth`: 401, the API key is wrong or revoked;
 * - `credits`: 402, the account has no credits left;
 * - `rate_limited`: 429 (HTTP or the body's `code`);
 * - `bad_request`: any other 4xx, e.g. 400/422 for a refused body, 404 for an unknown task;
 * - `server`: 5xx from the provider;
 * - `network`: no answer (refused connection, reset, timeout);
 * - `invalid_answer`: an answer that is not the documented shape.
 */
export type ProviderErrorKind =
  | 'auth'
  | 'credits'
  | 'rate_limited'
  | 'bad_request'
  | 'server'
  | 'network'
  | 'invalid_answer';

export interface ProviderErrorDetails {
  kind: ProviderErrorKind;
  /** The endpoint's name, e.g. `record_detail`. */
  endpoint: string;
  /** The provider's own `code` from the body (or the HTTP status when the body had none). */
  code?: number;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** ms the provider asked us to wait (`Retry-After`). */
  retryAfterMs?: number;
  /** Attempts made, retries included. */
  attempts?: number;
  /** No connection was ever made: the provider cannot have acted on the request. */
  notSent?: boolean;
  cause?: unknown;
}

/** Kinds a later attempt can fix without anyone changing anything. */
const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set(['rate_limited', 'server', 'network']);

/** A failed request to the provider's API. Its message never contains the API key. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly endpoint: string;
  readonly code: number | undefined;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** Whether asking again later may succeed. */
  readonly retryable: boolean;
  /** No connection was ever made: the provider cannot have acted on the request. */
  readonly notSent: boolean;
  attempts: number;

  constructor(message: string, details: ProviderErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.endpoint = details.endpoint;
    this.code = details.code;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.retryable = RETRYABLE.has(details.kind);
    this.notSent = details.notSent ?? false;
    this.attempts = details.attempts ?? 1;
  }
}

/** The kind of a provider code (the body's `code`, or the HTTP status). */
export function kindOfCode(code: number): ProviderErrorKind {
  if (code === 401 || code === 403) return 'auth';
  if (code === 402) return 'credits';
  if (code === 429) return 'rate_limited';
  if (code >= 500) return 'server';
  return 'bad_request';
}
