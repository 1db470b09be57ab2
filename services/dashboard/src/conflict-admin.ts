import { publishConflict } from '@runway-relay/admission';
import {
  acceptedCallbackFields,
  type CallbackJob,
  type CallbackJobOptions,
  CallbackJobSchema,
  callbackJobName,
  indexTaskStatus,
  jobIdFor,
  parseTaskState,
  type RelayKeys,
  type TaskState,
} from '@runway-relay/contracts';
import type { EventStreamOptions, Logger, RedisClient } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';

/** Which of two conflicting callbacks stands. */
export type ConflictSide = 'accepted' | 'conflicting';

export type ResolveResult =
  | { ok: true; jobId: string; kept: ConflictSide }
  | { ok: false; reason: 'not_found' | 'no_conflict' }
  /** Keeping the accepted side needs its job (its data holds the media URLs): retention removed it. */
  | { ok: false; reason: 'job_removed'; jobId: string };

export interface ConflictAdminDeps {
  redis: RedisClient;
  queue: Queue;
  keys: RelayKeys;
  events: EventStreamOptions;
  jobOptions: CallbackJobOptions;
  logger: Logger;
  /** Life of task records (`TASK_TTL_DAYS`), for the task indexes. */
  ttlSeconds: number;
  now?: () => number;
}

export interface ConflictAdmin {
  /** Ends a task's open conflict, keeping one side, and re-runs the task with it. */
  resolve(taskId: string, keep: ConflictSide, by: 'operator' | 'provider_api'): Promise<ResolveResult>;
}

/** The task record's fields of a newly accepted callback, with the job that re-runs it. */
function acceptedFields(job: CallbackJob, fingerprint: string, summary: string): Record<string, string | number> {
  return {
    ...acceptedCallbackFields(job, fingerprint, summary),
    job_id: jobIdFor(job.callback.task_id, job.callback.outcome),
  };
}

/**
 * Resolves a conflict between two authenticated callbacks of one task (see the ingress's
 * claim script). The task record changes first, in one MULTI: the conflict is closed, the
 * revision bumped (the re-run's events get new ids), the status back to `accepted` and, when
 * the conflicting side is kept, it becomes the accepted callback and the objects of the other
 * side leave the record (the re-run downloads the kept side's media). Then the job of the kept
 * side runs again and a `task.conflict` event with `state: "resolved"` says what was kept.
 */
export function createConflictAdmin(deps: ConflictAdminDeps): ConflictAdmin {
  const { redis, queue, keys } = deps;
  const now = deps.now ?? Date.now;

  /** Runs the kept side's job again: retried when it finished, updated or added otherwise. */
  const rerun = async (jobId: string, data: CallbackJob, replaceData: boolean): Promise<void> => {
    const job = await queue.getJob(jobId);
    if (job === undefined) {
      await queue.add(callbackJobName(data.callback), data, { ...deps.jobOptions, jobId });
      return;
    }
    if (replaceData) await job.updateData(data);
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
    }
    // Waiting, delayed or active: it runs (or ends) with the record as changed above.
  };

  return {
    async resolve(taskId, keep, by) {
      const key = keys.task(taskId);
      const state: TaskState | null = parseTaskState(await redis.hgetall(key));
      if (state === null) return { ok: false, reason: 'not_found' };
      const { conflict, content } = state;
      if (state.conflict_state !== 'open' || conflict === undefined || content === undefined) {
        return { ok: false, reason: 'no_conflict' };
      }
      const keptJob =
        keep === 'conflicting' ? conflict.job : await queue.getJob(jobIdFor(taskId, state.accepted_outcome));
      const jobId = jobIdFor(taskId, keep === 'conflicting' ? conflict.job.callback.outcome : state.accepted_outcome);
      if (keptJob === undefined) return { ok: false, reason: 'job_removed', jobId };

      const update = redis
        .multi()
        .hset(key, {
          conflict_state: 'resolved',
          resolution: `${keep}:${by}`,
          status: 'accepted',
          updated_at: now(),
          ...(keep === 'conflicting'
            ? acceptedFields(conflict.job, conflict.fingerprint, JSON.stringify(conflict.summary))
            : {}),
        })
        .hincrby(key, 'revision', 1);
      if (keep === 'conflicting') update.hdel(key, 'video', 'cover', 'error_category', 'error_detail', 'sig_ts');
      indexTaskStatus(update, keys, taskId, 'accepted', now(), deps.ttlSeconds);
      await update.exec();

      // The queue is an edge too: a job edited in Bull Board must still match the contract.
      const data = keep === 'conflicting' ? conflict.job : CallbackJobSchema.parse((keptJob as { data: unknown }).data);
      await rerun(jobId, data, keep === 'conflicting');
      await publishConflict(redis, deps.events, {
        taskId,
        accepted: content,
        conflicting: conflict,
        resolution: { kept: keep, by },
      });
      deps.logger.info({ task_id: taskId, kept: keep, by, job_id: jobId }, 'conflict resolved, task re-run');
      return { ok: true, jobId, kept: keep };
    },
  };
}
