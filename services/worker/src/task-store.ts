import {
  type FailureCategory,
  type MediaKind,
  parseTaskState,
  type RelayKeys,
  type StoredObject,
  type TaskState,
} from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';

/** The worker's reads and writes of the task record the ingress created (docs/architecture.md §4). */
export interface TaskStore {
  get(taskId: string): Promise<TaskState | null>;
  markProcessing(taskId: string, attempt: number): Promise<void>;
  recordObject(taskId: string, kind: MediaKind, object: StoredObject): Promise<void>;
  markStored(taskId: string): Promise<void>;
  markFailed(taskId: string, category: FailureCategory, detail: string): Promise<void>;
  /** The job is done but its callback is disputed: no outcome until the conflict is resolved. */
  markHeld(taskId: string): Promise<void>;
}

export function createTaskStore(redis: RedisClient, keys: RelayKeys, ttlSeconds: number): TaskStore {
  const write = async (taskId: string, fields: Record<string, string | number>, remove: string[] = []) => {
    const key = keys.task(taskId);
    const batch = redis.multi().hset(key, { ...fields, updated_at: Date.now() });
    if (remove.length > 0) batch.hdel(key, ...remove);
    await batch.expire(key, ttlSeconds).exec();
  };
  return {
    get: async (taskId) => parseTaskState(await redis.hgetall(keys.task(taskId))),
    markProcessing: (taskId, attempt) => write(taskId, { status: 'processing', attempts: attempt }),
    recordObject: (taskId, kind, object) => write(taskId, { [kind]: JSON.stringify(object) }),
    markStored: (taskId) => write(taskId, { status: 'stored' }, ['error_category', 'error_detail']),
    markFailed: (taskId, category, detail) =>
      write(taskId, { status: 'failed', error_category: category, error_detail: detail.slice(0, 1000) }),
    markHeld: (taskId) => write(taskId, { status: 'held' }),
  };
}
