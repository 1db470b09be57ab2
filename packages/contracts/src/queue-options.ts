import type { JobPolicyConfig } from './config/job-policy.js';

/** The options every callback job is added with (BullMQ `JobsOptions` shape, kept dependency-free). */
export interface CallbackJobOptions {
  attempts: number;
  backoff: { type: typeof RELAY_BACKOFF; delay: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
}

/**
 * Name of the workers' backoff strategy: exponential with jitter, but never sooner than a
 * source's `Retry-After` (BullMQ's built-in exponential type cannot see the error).
 */
export const RELAY_BACKOFF = 'relay-exponential';

/** Delay before retry number `attemptsMade` (1-based): base·2^(n-1), ±50 % jitter, at least `retryAfterMs`. */
export function relayBackoffDelay(
  attemptsMade: number,
  baseMs: number,
  retryAfterMs = 0,
  random = Math.random,
): number {
  const exponential = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  const jittered = exponential * (0.5 + random());
  return Math.round(Math.max(jittered, retryAfterMs));
}

/**
 * Exponential backoff with jitter (spreads retries of a burst that failed together) and
 * bounded retention: a job plus its dedupe record costs ~1.1 KB of Redis memory.
 */
export function callbackJobOptions(policy: JobPolicyConfig): CallbackJobOptions {
  return {
    attempts: policy.JOB_ATTEMPTS,
    backoff: { type: RELAY_BACKOFF, delay: policy.JOB_BACKOFF_MS },
    removeOnComplete: { age: policy.JOB_KEEP_COMPLETED_S, count: 100_000 },
    removeOnFail: { age: policy.JOB_KEEP_FAILED_S, count: 100_000 },
  };
}
