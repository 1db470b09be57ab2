import { z } from 'zod';
import { envBoolean, envInt } from './env.js';

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 to 64 random bytes. */
export const WebhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by base64 of 24 to 64 bytes');

/**
 * Webhook delivery to the application's endpoints (docs/delivery.md). Read by the worker (the
 * attempts run there) and by the dashboard (endpoint admin: URL policy, the env endpoint,
 * replay job options).
 */
export const DeliveryEnvSchema = z.object({
  /** An endpoint configured by environment (read-only, id `env`). Unset: none. */
  DELIVERY_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Its Standard Webhooks secret (`whsec_…`); required with `DELIVERY_URL`. */
  DELIVERY_SECRET: WebhookSecretSchema.optional(),
  /** Allow endpoints on loopback/private/link-local addresses: tests and local development only. */
  DELIVERY_ALLOW_PRIVATE: envBoolean(false),
  /** Allow plain http endpoint URLs (https only by default). */
  DELIVERY_ALLOW_HTTP: envBoolean(false),
  /** Longest attempt, connect to the end of the response excerpt, ms. */
  DELIVERY_TIMEOUT_MS: envInt(15_000, 100, 300_000),
  /** Attempts per message, first one included (default 15: ~23 h expected span, see docs/delivery.md). */
  DELIVERY_ATTEMPTS: envInt(15, 1, 50),
  /** Cap of the first retry's delay, ms; each later cap doubles (full jitter below it). */
  DELIVERY_BACKOFF_MS: envInt(10_000, 1, 3_600_000),
  /** Lifetime of the presigned GET links in `media.stored` messages, seconds (S3: at most 7 days). */
  DELIVERY_LINK_TTL_S: envInt(86_400, 60, 604_800),
  /** Delivery attempts one worker process runs at once (all endpoints). */
  DELIVERY_CONCURRENCY: envInt(16, 1, 1000),
  /**
   * ms an event read by a worker process that died before acknowledging it waits before another
   * process claims it (XAUTOCLAIM): longer than a healthy fan-out of one batch takes.
   */
  DELIVERY_CLAIM_IDLE_MS: envInt(60_000, 1000, 3_600_000),
  /** Consecutive failed attempts that open an endpoint's circuit breaker. */
  DELIVERY_BREAKER_THRESHOLD: envInt(5, 1, 1000),
  /** ms an open breaker waits before one half-open probe. */
  DELIVERY_BREAKER_COOLDOWN_MS: envInt(60_000, 100, 86_400_000),
  /** Attempts kept in the log per endpoint (newest first). */
  DELIVERY_LOG_MAX_ATTEMPTS: envInt(10_000, 10, 1_000_000),
  /** Attempts kept in one message's log. */
  DELIVERY_LOG_MAX_MESSAGE_ATTEMPTS: envInt(50, 1, 1000),
  /** Messages kept per endpoint (their records and logs go with them). */
  DELIVERY_LOG_MAX_MESSAGES: envInt(10_000, 10, 1_000_000),
  /** Seconds a message and its attempts are kept after their last change (default 7 days). */
  DELIVERY_LOG_RETENTION_S: envInt(604_800, 3600, 31_536_000),
});
export type DeliveryConfig = z.infer<typeof DeliveryEnvSchema>;

/** Cross-field rules, called from the worker's and the dashboard's `superRefine`. */
export function refineDeliveryEnv(env: DeliveryConfig, ctx: z.RefinementCtx): void {
  if ((env.DELIVERY_URL === undefined) !== (env.DELIVERY_SECRET === undefined)) {
    const missing = env.DELIVERY_URL === undefined ? 'DELIVERY_URL' : 'DELIVERY_SECRET';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'DELIVERY_URL and DELIVERY_SECRET go together' });
  }
  if (env.DELIVERY_URL?.startsWith('http:') && !env.DELIVERY_ALLOW_HTTP) {
    ctx.addIssue({ code: 'custom', path: ['DELIVERY_URL'], message: 'must be https (or set DELIVERY_ALLOW_HTTP)' });
  }
  // A message's record expires RETENTION after its last change: the longest wait between two
  // attempts must stay below it, or a message waiting for its retry would lose its record.
  const longestWaitMs = deliveryBackoffCapMs(env.DELIVERY_ATTEMPTS - 1, env.DELIVERY_BACKOFF_MS);
  if (longestWaitMs >= env.DELIVERY_LOG_RETENTION_S * 1000) {
    ctx.addIssue({
      code: 'custom',
      path: ['DELIVERY_LOG_RETENTION_S'],
      message: `must exceed the longest retry delay (${Math.ceil(longestWaitMs / 1000)} s with DELIVERY_ATTEMPTS and DELIVERY_BACKOFF_MS)`,
    });
  }
}

/** Upper bound of the delay before retry `retry` (1-based): base·2^(retry−1); the delay is drawn below it. */
export function deliveryBackoffCapMs(retry: number, baseMs: number): number {
  return baseMs * 2 ** Math.max(0, retry - 1);
}
