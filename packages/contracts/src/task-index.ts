import type { ChainableCommander } from 'ioredis';
import type { RelayKeys } from './keys.js';
import { type TaskStatus, TaskStatusSchema } from './task-state.js';

/** Every status, in the order the ingress's claim script receives their index keys. */
export const TASK_STATUSES: readonly TaskStatus[] = TaskStatusSchema.options;

/**
 * Adds to `batch` (a MULTI) the index writes of a task whose status became `status` at `atMs`:
 * the task is scored `atMs` in the set of all tasks and in its status's set, and removed from
 * every other status's set (cheaper than reading the old status, and right whatever it was).
 * Entries older than the task record's life are trimmed on the way, so each set holds at most
 * the tasks that can still exist (docs/dashboard.md, "Listing tasks"). The ingress's claim
 * script does the same in Lua.
 */
export function indexTaskStatus(
  batch: ChainableCommander,
  keys: RelayKeys,
  taskId: string,
  status: TaskStatus,
  atMs: number,
  ttlSeconds: number,
): ChainableCommander {
  const cutoff = atMs - ttlSeconds * 1000;
  for (const set of ['all', status] as const) {
    const key = keys.taskIndex(set);
    batch.zadd(key, atMs, taskId).zremrangebyscore(key, '-inf', cutoff).expire(key, ttlSeconds);
  }
  for (const other of TASK_STATUSES) {
    if (other !== status) batch.zrem(keys.taskIndex(other), taskId);
  }
  return batch;
}
