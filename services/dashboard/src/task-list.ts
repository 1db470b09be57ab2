import {
  type FailureCategory,
  type RelayKeys,
  TaskIdSchema,
  type TaskStatus,
  TaskStatusSchema,
} from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { z } from 'zod';

/** One task of a listing: enough to pick it; `GET /api/tasks/:taskId` has the rest. */
export interface TaskRow {
  task_id: string;
  status: TaskStatus;
  accepted_outcome: string;
  code: number | null;
  msg: string;
  video_id: string | null;
  attempts: number;
  last_error: { category: string; detail: string } | null;
  /** Last status change, ISO 8601 (what the listing is ordered and filtered by). */
  updated_at: string;
  first_received_at: string | null;
}

export interface TaskQuery {
  status?: TaskStatus | undefined;
  category?: FailureCategory | undefined;
  /** Inclusive bounds on the last status change, ms. */
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface TaskPage {
  tasks: TaskRow[];
  /** Pass as `cursor` for the next (older) page; null at the end. */
  next_cursor: string | null;
}

/** Position after the last row shown: its score and id (ties are ordered by id). */
const CursorSchema = z.object({ s: z.number().int(), id: TaskIdSchema });
type Cursor = z.infer<typeof CursorSchema>;

/** Thrown for a cursor this API did not make (the route answers 400 naming `cursor`). */
export class BadCursorError extends Error {}

/** Cursors are opaque to clients: base64url JSON, validated on the way back in. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  try {
    return CursorSchema.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new BadCursorError('is not a cursor returned by this API');
  }
}

/** Index entries read per round trip, and at most per request (a filter that matches little). */
const BATCH = 200;
const SCAN_BUDGET = 2000;
const FIELDS = [
  'status',
  'accepted_outcome',
  'code',
  'msg',
  'video_id',
  'attempts',
  'error_category',
  'error_detail',
  'updated_at',
  'first_received_at',
] as const;

const iso = (ms: string | null | undefined) =>
  ms && Number.isFinite(Number(ms)) ? new Date(Number(ms)).toISOString() : null;

/**
 * Lists tasks newest first from the status indexes (`RelayKeys.taskIndex`): the status's set
 * (or the set of all tasks), between `since` and `until`, filtered by failure category on the
 * records themselves. A page stops at `limit` rows or after {@link SCAN_BUDGET} index entries
 * (a rare category over a long range), and then still returns a `next_cursor` to go on from.
 * Index entries whose record has expired are dropped on the way.
 */
export async function listTasks(redis: RedisClient, keys: RelayKeys, query: TaskQuery): Promise<TaskPage> {
  const key = keys.taskIndex(query.status ?? 'all');
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const upper = after ? String(after.s) : query.untilMs === undefined ? '+inf' : String(query.untilMs);
  const lower = query.sinceMs === undefined ? '-inf' : String(query.sinceMs);
  const tasks: TaskRow[] = [];
  let offset = 0;
  let last: Cursor | undefined;
  while (offset < SCAN_BUDGET) {
    const flat = await redis.zrevrangebyscore(key, upper, lower, 'WITHSCORES', 'LIMIT', offset, BATCH);
    offset += flat.length / 2;
    const entries: Array<{ id: string; score: number }> = [];
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i] as string;
      const score = Number(flat[i + 1]);
      // Same-score entries come in descending id order: those >= the cursor's id were shown.
      if (after && score === after.s && id >= after.id) continue;
      entries.push({ id, score });
    }
    const records = await Promise.all(entries.map(({ id }) => redis.hmget(keys.task(id), ...FIELDS)));
    const gone: string[] = [];
    for (const [i, { id, score }] of entries.entries()) {
      const [status, outcome, code, msg, videoId, attempts, category, detail, updatedAt, first] = records[i] ?? [];
      last = { s: score, id };
      const parsedStatus = TaskStatusSchema.safeParse(status);
      if (!parsedStatus.success) {
        gone.push(id);
        continue;
      }
      if (query.category !== undefined && category !== query.category) continue;
      tasks.push({
        task_id: id,
        status: parsedStatus.data,
        accepted_outcome: outcome ?? '',
        code: code ? Number(code) : null,
        msg: msg ?? '',
        video_id: videoId || null,
        attempts: Number(attempts ?? 0),
        last_error: category ? { category, detail: detail ?? '' } : null,
        updated_at: iso(updatedAt) ?? new Date(score).toISOString(),
        first_received_at: iso(first),
      });
      if (tasks.length === query.limit) {
        if (gone.length > 0) await redis.zrem(key, ...gone);
        return { tasks, next_cursor: encodeCursor(last) };
      }
    }
    // The record expired (or was deleted) before its index entry was trimmed. Removing them
    // shifts the entries after them: the next batch starts that much earlier.
    if (gone.length > 0) {
      await redis.zrem(key, ...gone);
      offset -= gone.length;
    }
    if (flat.length / 2 < BATCH) return { tasks, next_cursor: null };
  }
  return { tasks, next_cursor: last ? encodeCursor(last) : null };
}
