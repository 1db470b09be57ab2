import { type CallbackJob, type CallbackJobOptions, CallbackJobSchema, jobIdFor } from '@runway-relay/contracts';
import type { Queue } from 'bullmq';

/** BullMQ job name of a callback job. */
export const CALLBACK_JOB_NAME = 'callback';

/**
 * Adds the job under its deterministic id. Validated before it is written, so the worker
 * never sees a job the contract does not describe. Adding an id that exists is a no-op.
 */
export async function enqueueCallback(queue: Queue, job: CallbackJob, options: CallbackJobOptions): Promise<void> {
  const data = CallbackJobSchema.parse(job);
  await queue.add(CALLBACK_JOB_NAME, data, {
    ...options,
    jobId: jobIdFor(data.callback.task_id, data.callback.outcome),
  });
}
