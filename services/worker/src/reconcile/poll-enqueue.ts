import { type AdmitDeps, admitCallback, type ClaimDecision, prepareAdmission } from '@runway-relay/admission';
import type { CallbackJob } from '@runway-relay/contracts';

export interface PollEnqueuerOptions extends AdmitDeps {
  now?: () => number;
}

/**
 * The reconciler's `enqueue`: a job from a poll is admitted exactly as a delivered callback
 * (`admitCallback` from packages/admission: the same claim script, the same deterministic job
 * id, the same `task.conflict` event). A callback that arrived meanwhile makes the poll a
 * duplicate, and a later one is a duplicate of the poll: one job, one download. A poll that
 * disagrees with an accepted callback (other URLs) holds the task and publishes
 * `task.conflict`, as a conflicting callback does.
 */
export function createPollEnqueuer(options: PollEnqueuerOptions): (job: CallbackJob) => Promise<ClaimDecision> {
  prepareAdmission(options.redis);
  const now = options.now ?? Date.now;
  return async (job) => {
    const { decision } = await admitCallback(options, {
      callback: job.callback,
      // The poll has no body of its own: nothing outside the schema to keep.
      body: null,
      receipt: job.receipt,
      nowMs: now(),
      source: 'poll',
    });
    return decision;
  };
}
