import {
  type FailureCategory,
  indexTaskStatus,
  type MediaKind,
  parseTaskState,
  type RelayKeys,
  type StoredObject,
  type TaskState,
  type TaskStatus,
} from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';

/** The worker's reads and writes of the task record the ingress created (docs/architecture.md §4). */
export interface TaskStore {
  get(taskId: string): Promise<TaskState | null>;
  markProcessing(taskId: string, attempt: number): Promise<void>;
  recordObject(taskId: string, kind: MediaKind, object: StoredObject): Promise<void>;
  markStored(taskId: string): Promise<void>;
  /** The task ended without media; `attempts` is the attempt that ended it (the job's count). */
  markFailed(taskId: string, category: FailureCategory, detail: string, attempts: number): Promise<void>;
  /**
   * An attempt failed and the job will be retried: the error is recorded as the task's last
   * error while its status stays `processing`, so the task view agrees with the job's
   * `failedReason` between attempts (cleared again when the task is stored).
   */
  markAttemptFailed(taskId: string, category: FailureCategory, detail: string): Promise<void>;
  /**
   * The reconciler ended the task from the provider's API (failed, links expired, gave up),
   * maybe before any callback: the fields a failure callback would have put on a record that
   * does not exist yet are written first (never over a callback's), then as `markFailed`.
   */
  markFailedByPoll(
    taskId: string,
    failure: { category: FailureCategory; detail: string; attempts: number; code: number; msg: string },
  ): Promise<void>;
  /** The job is done but its callback is disputed: no outcome until the conflict is resolved. */
  markHeld(taskId: string): Promise<void>;
}

export function createTaskStore(redis: RedisClient, keys: RelayKeys, ttlSeconds: number): TaskStore {
  const write = async (
    taskId: string,
    fields: Record<string, string | number>,
    remove: string[] = [],
    status?: TaskStatus,
  ) => {
    const key = keys.task(taskId);
    const now = Date.now();
    const batch = redis.multi().hset(key, { ...fields, ...(status ? { status } : {}), updated_at: now });
    if (remove.length > 0) batch.hdel(key, ...remove);
    // A status change moves the task in the dashboard's indexes, in the same MULTI.
    if (status) indexTaskStatus(batch, keys, taskId, status, now, ttlSeconds);
    await batch.expire(key, ttlSeconds).exec();
  };
  const markFailed: TaskStore['markFailed'] = (taskId, category, detail, attempts) =>
    write(taskId, { attempts, error_category: category, error_detail: detail.slice(0, 1000) }, [], 'failed');
  return {
    get: async (taskId) => parseTaskState(await redis.hgetall(keys.task(taskId))),
    markProcessing: (taskId, attempt) => write(taskId, { attempts: attempt }, [], 'processing'),
    recordObject: (taskId, kind, object) => write(taskId, { [kind]: JSON.stringify(object) }),
    markStored: (taskId) => write(taskId, {}, ['error_category', 'error_detail'], 'stored'),
    markFailed,
    markFailedByPoll: async (taskId, failure) => {
      const key = keys.task(taskId);
      const now = String(Date.now());
      // HSETNX: a record the ingress made keeps its accepted callback.
      await redis
        .multi()
        .hsetnx(key, 'accepted_outcome', 'failure')
        .hsetnx(key, 'code', String(failure.code))
        .hsetnx(key, 'msg', failure.msg.slice(0, 1000))
        .hsetnx(key, 'first_received_at', now)
        .hsetnx(key, 'last_received_at', now)
        .exec();
      await markFailed(taskId, failure.category, failure.detail, failure.attempts);
    },
    markAttemptFailed: (taskId, category, detail) =>
      write(taskId, { error_category: category, error_detail: detail.slice(0, 1000) }),
    markHeld: (taskId) => write(taskId, {}, [], 'held'),
  };
}
