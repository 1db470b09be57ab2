import {
  type CallbackOutcome,
  type CallbackSummary,
  jobIdFor,
  parseTaskState,
  type RelayKeys,
  type StoredObject,
  type TaskState,
} from '@runway-relay/contracts';
import type { Logger, RedisClient } from '@runway-relay/runtime';
import type { Job, Queue } from 'bullmq';

/** One of a task's jobs as the admin API shows it. */
export interface JobView {
  id: string;
  /** BullMQ state: waiting, active, delayed, completed, failed, … */
  state: string;
  attemptsMade: number;
  failedReason: string | null;
}

/** A stored media file with a time-limited GET URL (null without a store or if presigning failed). */
export interface ObjectView extends Omit<StoredObject, 'bucket'> {
  url: string | null;
}

/** `GET /api/tasks/:taskId`. Times are ISO 8601. */
export interface TaskView {
  task_id: string;
  status: TaskState['status'];
  accepted_outcome: CallbackOutcome;
  code: number;
  msg: string;
  video_id: string | null;
  attempts: number;
  deliveries: number;
  duplicates: number;
  first_received_at: string;
  last_received_at: string;
  objects: ObjectView[];
  last_error: { category: string; detail: string } | null;
  jobs: JobView[];
  /** Two authenticated callbacks disagreed; `open` holds the task until resolved. */
  conflict: {
    state: 'open' | 'resolved';
    accepted: CallbackSummary | null;
    conflicting: CallbackSummary;
    deliveries: number;
  } | null;
}

/** Outcome of a retry request; expected refusals are values, not exceptions. */
export type RetryResult =
  | { ok: true; jobId: string }
  | { ok: false; reason: 'not_found' }
  /** The job exists (or the task is not failed) but is not in the failed state. */
  | { ok: false; reason: 'not_failed'; jobId: string; state: string }
  /** The task failed but retention removed its job, and the job data (signed media URLs) with it. */
  | { ok: false; reason: 'job_removed'; jobId: string };

export interface TaskAdminDeps {
  redis: RedisClient;
  queue: Queue;
  keys: RelayKeys;
  logger: Logger;
  /** Presigns a GET URL for an object key; omitted when no store is configured. */
  presign?: (key: string) => Promise<string>;
  now?: () => number;
}

export interface TaskAdmin {
  get(taskId: string): Promise<TaskView | null>;
  retry(taskId: string): Promise<RetryResult>;
}

const OUTCOMES: readonly CallbackOutcome[] = ['success', 'failure'];

async function jobView(job: Job): Promise<JobView> {
  return {
    id: job.id ?? '',
    state: await job.getState(),
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason ? job.failedReason : null,
  };
}

/** Task inspection and retry over the task record (docs/architecture.md §4) and the callbacks queue. */
export function createTaskAdmin(deps: TaskAdminDeps): TaskAdmin {
  const { redis, queue, keys } = deps;
  const now = deps.now ?? Date.now;

  const objectView = async (taskId: string, object: StoredObject): Promise<ObjectView> => {
    const { bucket: _bucket, ...rest } = object;
    if (!deps.presign) return { ...rest, url: null };
    try {
      return { ...rest, url: await deps.presign(object.key) };
    } catch (error) {
      // The record is still worth showing while the store is down.
      deps.logger.warn({ err: error, task_id: taskId, key: object.key }, 'presigning failed');
      return { ...rest, url: null };
    }
  };

  return {
    async get(taskId) {
      const state = parseTaskState(await redis.hgetall(keys.task(taskId)));
      if (state === null) return null;
      const jobs = await Promise.all(OUTCOMES.map((outcome) => queue.getJob(jobIdFor(taskId, outcome))));
      const stored = [state.video, state.cover].filter((object) => object !== undefined);
      return {
        task_id: taskId,
        status: state.status,
        accepted_outcome: state.accepted_outcome,
        code: state.code,
        msg: state.msg,
        video_id: state.video_id || null,
        attempts: state.attempts,
        deliveries: state.deliveries,
        duplicates: state.duplicates,
        first_received_at: new Date(state.first_received_at).toISOString(),
        last_received_at: new Date(state.last_received_at).toISOString(),
        objects: await Promise.all(stored.map((object) => objectView(taskId, object))),
        last_error: state.error_category ? { category: state.error_category, detail: state.error_detail ?? '' } : null,
        jobs: await Promise.all(jobs.filter((job): job is Job => job !== undefined).map(jobView)),
        conflict:
          state.conflict && state.conflict_state
            ? {
                state: state.conflict_state,
                accepted: state.content ?? null,
                conflicting: state.conflict.summary,
                deliveries: state.conflicts,
              }
            : null,
      };
    },

    /**
     * Re-runs the job of the task's accepted outcome if it failed, with a fresh set of
     * attempts (the configured retry policy applies again). The status is set to
     * `accepted` before the retry, not after: a fast worker could otherwise finish the job
     * first and have its `stored` / `failed` overwritten.
     */
    async retry(taskId) {
      const key = keys.task(taskId);
      const state = parseTaskState(await redis.hgetall(key));
      if (state === null) return { ok: false, reason: 'not_found' };
      const jobId = jobIdFor(taskId, state.accepted_outcome);
      const job = await queue.getJob(jobId);
      if (job === undefined) {
        return state.status === 'failed'
          ? { ok: false, reason: 'job_removed', jobId }
          : { ok: false, reason: 'not_failed', jobId, state: 'missing' };
      }
      const jobState = await job.getState();
      if (jobState !== 'failed') return { ok: false, reason: 'not_failed', jobId, state: jobState };

      await redis.hset(key, { status: 'accepted', updated_at: now() });
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch (error) {
        const current = await job.getState();
        // Someone else (a concurrent request, Bull Board) moved it on first: theirs stands.
        if (current !== 'failed') return { ok: false, reason: 'not_failed', jobId, state: current };
        await redis.hset(key, { status: state.status });
        throw error;
      }
      deps.logger.info({ task_id: taskId, job_id: jobId }, 'task retried from the dashboard');
      return { ok: true, jobId };
    },
  };
}
