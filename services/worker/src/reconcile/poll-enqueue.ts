import { type ClaimDecision, claimTask, defineClaimCommand } from '@runway-relay/admission';
import {
  CALLBACK_JOB_NAME,
  type CallbackJob,
  type CallbackJobOptions,
  jobIdFor,
  type RelayKeys,
} from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';

export interface PollEnqueuerOptions {
  redis: RedisClient;
  keys: RelayKeys;
  /** The callbacks queue (the ingress's queue: same name and prefix). */
  queue: Queue;
  /** `callbackJobOptions(config)`, as the ingress adds jobs. */
  jobOptions: CallbackJobOptions;
  /** Seconds the task record is kept (`TASK_TTL_DAYS` · 86400). */
  ttlSeconds: number;
  now?: () => number;
}

/**
 * The reconciler's `enqueue`: a job from a poll goes through the ingress's dedupe claim
 * (the same script, from packages/admission) and, when the claim says so, onto the callbacks queue
 * under the same deterministic id. A callback that arrived meanwhile makes the poll a
 * duplicate, and a later one is a duplicate of the poll: one job, one download.
 * A `conflict` (the poll disagrees with an accepted callback) is recorded on the task by the
 * script and holds it, as for a callback; its `task.conflict` event is not published here.
 */
export function createPollEnqueuer(options: PollEnqueuerOptions): (job: CallbackJob) => Promise<ClaimDecision> {
  defineClaimCommand(options.redis);
  const now = options.now ?? Date.now;
  return async (job) => {
    const { decision } = await claimTask(options.redis, options.keys, {
      job,
      nowMs: now(),
      ttlSeconds: options.ttlSeconds,
    });
    if (decision === 'new' || decision === 'ensure') {
      await options.queue.add(CALLBACK_JOB_NAME, job, {
        ...options.jobOptions,
        jobId: jobIdFor(job.callback.task_id, job.callback.outcome),
      });
    }
    return decision;
  };
}
