import { z } from 'zod';
import { envInt } from './env.js';

/** Retry and retention policy of callback jobs, read by whoever adds jobs. */
export const JobPolicyEnvSchema = z.object({
  /** Attempts per job before it fails for good. With the default backoff, 12 attempts span ~3 h. */
  JOB_ATTEMPTS: envInt(12, 1, 100),
  /** First retry delay in ms; doubles each attempt, with jitter. */
  JOB_BACKOFF_MS: envInt(5000, 10, 86_400_000),
  /** Seconds completed jobs are kept (Bull Board history); the task record outlives them. */
  JOB_KEEP_COMPLETED_S: envInt(86_400, 0),
  /** Seconds failed jobs are kept so an operator can retry them. */
  JOB_KEEP_FAILED_S: envInt(14 * 86_400, 0),
});
export type JobPolicyConfig = z.infer<typeof JobPolicyEnvSchema>;
