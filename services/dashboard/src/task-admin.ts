import {
  type AuditAction,
  type AuditEntry,
  AuditEntrySchema,
  appendAudit,
  type CallbackOutcome,
  type CallbackSummary,
  indexTaskStatus,
  jobIdFor,
  parseTaskState,
  type RelayEvent,
  type RelayKeys,
  type StoredObject,
  type TaskState,
} from '@runway-relay/contracts';
import {
  type Logger,
  parseStreamEntry,
  type RedisClient,
  type TaskEventRef,
  TaskEventRefSchema,
  taskEventsKey,
} from '@runway-relay/runtime';
import type { Job, Queue } from 'bullmq';
import type { Actor } from './operator.js';

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
  /**
   * The task's events, oldest first: where each is on the stream and what it said (`event`
   * is null once the stream's trimming removed it; the reference stays).
   */
  events: Array<TaskEventRef & { event: RelayEvent | null }>;
  /** Operator actions on the task (retries, re-processing, conflict resolutions), oldest first. */
  audit: AuditEntry[];
  /** Bumped by each operator re-run; the re-run's events carry it in their ids (`…_r<revision>`). */
  revision: number;
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

/** Outcome of a re-process request (see {@link TaskAdmin.reprocess}). */
export type ReprocessResult =
  | { ok: true; jobId: string; revision: number; fromStatus: TaskState['status'] }
  | { ok: false; reason: 'not_found' }
  /** Its job is waiting, delayed or running: it will end on its own. */
  | { ok: false; reason: 'in_progress'; jobId: string; state: string }
  /** Two callbacks disagree: resolve the conflict instead (it re-runs the kept side). */
  | { ok: false; reason: 'conflict_open' }
  | { ok: false; reason: 'job_removed'; jobId: string }
  /** `options.jobId` is not the job of the task's accepted outcome (e.g. a superseded failure). */
  | { ok: false; reason: 'other_job'; jobId: string };

export interface TaskAdminDeps {
  redis: RedisClient;
  queue: Queue;
  keys: RelayKeys;
  logger: Logger;
  /** The events stream, whose per-task index the task view reads. */
  eventsStream: string;
  /** Life of task records (`TASK_TTL_DAYS`), for the indexes and audit lists written here. */
  ttlSeconds: number;
  /** Presigns a GET URL for an object key; omitted when no store is configured. */
  presign?: (key: string) => Promise<string>;
  now?: () => number;
}

export interface TaskAdmin {
  get(taskId: string): Promise<TaskView | null>;
  retry(taskId: string, actor: Actor): Promise<RetryResult>;
  /**
   * Runs a finished task (stored, failed, a provider failure) again on purpose: a success is
   * downloaded into the bucket again, a failure re-classified and announced again. With
   * `moveJob: false` only the record is prepared (Bull Board moves the job itself).
   */
  reprocess(
    taskId: string,
    actor: Actor,
    options?: { reason?: string | undefined; moveJob?: boolean; jobId?: string },
  ): Promise<ReprocessResult>;
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

  /** Puts a status back (and the task in its index) after a job move that failed. */
  const restoreStatus = async (taskId: string, status: TaskState['status']) => {
    const at = now();
    await indexTaskStatus(
      redis.multi().hset(keys.task(taskId), { status }),
      keys,
      taskId,
      status,
      at,
      deps.ttlSeconds,
    ).exec();
  };

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

  /** The task's event references and, while the stream still holds them, the events. */
  const taskEvents = async (taskId: string): Promise<TaskView['events']> => {
    const refs: TaskEventRef[] = [];
    for (const text of await redis.lrange(taskEventsKey(deps.eventsStream, taskId), 0, -1)) {
      const parsed = TaskEventRefSchema.safeParse(safeJson(text));
      if (parsed.success) refs.push(parsed.data);
    }
    return Promise.all(
      refs.map(async (ref) => {
        const [entry] = await redis.xrange(deps.eventsStream, ref.entry, ref.entry);
        let event: RelayEvent | null = null;
        try {
          event = entry ? parseStreamEntry(entry[1]) : null;
        } catch (error) {
          deps.logger.warn({ err: error, task_id: taskId, entry_id: ref.entry }, 'skipping invalid stream entry');
        }
        return { ...ref, event };
      }),
    );
  };

  const auditOf = async (taskId: string): Promise<AuditEntry[]> => {
    const entries: AuditEntry[] = [];
    for (const text of await redis.lrange(keys.taskAudit(taskId), 0, -1)) {
      const parsed = AuditEntrySchema.safeParse(safeJson(text));
      if (parsed.success) entries.push(parsed.data);
    }
    return entries;
  };

  const auditEntry = (action: AuditAction, actor: Actor, fromStatus: string, reason?: string): AuditEntry => ({
    at: new Date(now()).toISOString(),
    action,
    operator: actor.operator,
    via: actor.via,
    from_status: fromStatus,
    reason: reason ? reason.slice(0, 500) : null,
  });

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
        events: await taskEvents(taskId),
        audit: await auditOf(taskId),
        revision: state.revision,
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
    async retry(taskId, actor) {
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

      const at = now();
      await indexTaskStatus(
        redis.multi().hset(key, { status: 'accepted', updated_at: at }),
        keys,
        taskId,
        'accepted',
        at,
        deps.ttlSeconds,
      ).exec();
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch (error) {
        const current = await job.getState();
        // Someone else (a concurrent request, Bull Board) moved it on first: theirs stands.
        if (current !== 'failed') return { ok: false, reason: 'not_failed', jobId, state: current };
        await restoreStatus(taskId, state.status);
        throw error;
      }
      await appendAudit(
        redis.multi(),
        keys.taskAudit(taskId),
        auditEntry('retry', actor, state.status),
        deps.ttlSeconds,
      ).exec();
      deps.logger.info(
        { audit: true, action: 'retry', operator: actor.operator, via: actor.via, task_id: taskId, job_id: jobId },
        'task retried from the dashboard',
      );
      return { ok: true, jobId };
    },

    /**
     * The record changes first, in one MULTI (as a conflict resolution does): status back to
     * `accepted`, revision + 1 (the re-run's events get new ids, so consumers that dedupe by id
     * hear the new outcome), for a success the stored objects and last error dropped (the worker
     * downloads both files again, to the same keys), the audit line appended. Then the job moves
     * from completed/failed back to waiting with fresh attempts.
     */
    async reprocess(taskId, actor, options = {}) {
      const key = keys.task(taskId);
      const state = parseTaskState(await redis.hgetall(key));
      if (state === null) return { ok: false, reason: 'not_found' };
      if (state.conflict_state === 'open') return { ok: false, reason: 'conflict_open' };
      const jobId = jobIdFor(taskId, state.accepted_outcome);
      if (options.jobId !== undefined && options.jobId !== jobId) return { ok: false, reason: 'other_job', jobId };
      const job = await queue.getJob(jobId);
      if (job === undefined) return { ok: false, reason: 'job_removed', jobId };
      const jobState = await job.getState();
      if (jobState !== 'completed' && jobState !== 'failed') {
        return { ok: false, reason: 'in_progress', jobId, state: jobState };
      }
      const at = now();
      const update = redis.multi().hset(key, { status: 'accepted', updated_at: at }).hincrby(key, 'revision', 1);
      if (state.accepted_outcome === 'success') update.hdel(key, 'video', 'cover', 'error_category', 'error_detail');
      indexTaskStatus(update, keys, taskId, 'accepted', at, deps.ttlSeconds);
      appendAudit(
        update,
        keys.taskAudit(taskId),
        auditEntry('reprocess', actor, state.status, options.reason),
        deps.ttlSeconds,
      );
      await update.exec();
      if (options.moveJob !== false) {
        try {
          await job.retry(jobState, { resetAttemptsMade: true, resetAttemptsStarted: true });
        } catch (error) {
          const current = await job.getState();
          if (current !== jobState) return { ok: false, reason: 'in_progress', jobId, state: current };
          await restoreStatus(taskId, state.status);
          throw error;
        }
      }
      deps.logger.info(
        {
          audit: true,
          action: 'reprocess',
          operator: actor.operator,
          via: actor.via,
          task_id: taskId,
          job_id: jobId,
          from_status: state.status,
          revision: state.revision + 1,
          reason: options.reason?.slice(0, 500),
        },
        'task re-processed from the dashboard',
      );
      return { ok: true, jobId, revision: state.revision + 1, fromStatus: state.status };
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
