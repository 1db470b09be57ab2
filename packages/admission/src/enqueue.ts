import {
  type CallbackJob,
  type CallbackJobOptions,
  CallbackJobSchema,
  callbackJobName,
  jobIdFor,
} from '@runway-relay/contracts';
import type { Queue } from 'bullmq';

/**
 * Validates job data against the contract, so the worker never sees a job the contract does
 * not describe. Kept apart from {@link enqueueCallback} so a contract violation is a bug (500),
 * never mistaken for Redis being away (503).
 */
export function validCallbackJob(job: CallbackJob): CallbackJob {
  return CallbackJobSchema.parse(job);
}

/** Adds a validated job under its deterministic id; adding an id that exists is a no-op. */
export async function enqueueCallback(queue: Queue, data: CallbackJob, options: CallbackJobOptions): Promise<void> {
  await queue.add(callbackJobName(data.callback), data, {
    ...options,
    jobId: jobIdFor(data.callback.task_id, data.callback.outcome),
  });
}
