import type { JobPolicyConfig } from './config/job-policy.js';

/** The options every callback job is added with (BullMQ `JobsOptions` shape, kept dependency-free). */
export interface CallbackJobOptions {
  attempts: number;
  backoff: { type: 'exponential'; delay: number; jitter: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
}

/**
 * Exponential backoff with jitter (spreads retries of a burst that failed together) and
 * bounded retention: a job plus its dedupe record costs ~1.1 KB of Redis memory.
 */
export function callbackJobOptions(policy: JobPolicyConfig): CallbackJobOptions {
  return {
    attempts: policy.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: policy.JOB_BACKOFF_MS, jitter: 0.5 },
    removeOnComplete: { age: policy.JOB_KEEP_COMPLETED_S, count: 100_000 },
    removeOnFail: { age: policy.JOB_KEEP_FAILED_S, count: 100_000 },
  };
}
