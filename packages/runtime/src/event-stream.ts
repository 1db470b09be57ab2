import { setTimeout as sleep } from 'node:timers/promises';
import { type RelayEvent, RelayEventSchema } from '@runway-relay/contracts';
import { z } from 'zod';
import type { RedisClient } from './redis.js';

// The relay's event stream in Redis (docs/architecture.md §7): appending, parsing and consuming.
// The event schema itself lives in packages/contracts; this is the I/O over it.

export interface EventStreamOptions {
  /** Stream key, e.g. `runway:events`. */
  stream: string;
  /** Approximate maximum length (`XADD MAXLEN ~`). */
  maxlen: number;
  /** Seconds a task's event index ({@link taskEventsKey}) is kept after its last event; default 30 days. */
  taskIndexTtlS?: number;
}

/** Default life of a task's event index: the shortest task record life (`TASK_TTL_DAYS` ≥ 30). */
export const TASK_EVENTS_TTL_S = 30 * 86_400;
/** Events remembered per task; a task has a handful (an outcome per revision, conflicts, rejections). */
export const TASK_EVENTS_MAX = 50;

/**
 * The list of one task's events (`{entry, id, type, at}`, oldest first), written next to the
 * stream so that the dashboard's task view finds them without scanning the stream. It is named
 * after the stream, so it shares the stream's hash tag (and Redis Cluster slot).
 */
export function taskEventsKey(stream: string, taskId: string): string {
  return `${stream}:task:${taskId}`;
}

/** One entry of {@link taskEventsKey}: where the event is in the stream, and what it was. */
export const TaskEventRefSchema = z.object({
  entry: z.string(),
  id: z.string(),
  type: z.string(),
  at: z.string(),
});
export type TaskEventRef = z.infer<typeof TaskEventRefSchema>;

/**
 * Validates an event against the shared schema and appends it to the stream as one
 * `event` field holding JSON. Returns the stream entry id.
 */
export async function publishEvent(
  redis: RedisClient,
  options: EventStreamOptions,
  event: RelayEvent,
): Promise<string> {
  const valid = RelayEventSchema.parse(event);
  const id = await redis.xadd(
    options.stream,
    'MAXLEN',
    '~',
    String(options.maxlen),
    '*',
    'type',
    valid.type,
    'task_id',
    valid.task_id,
    'event',
    JSON.stringify(valid),
  );
  if (id === null) throw new Error('XADD returned no id');
  // The index is a view for the dashboard, written after the event: a crash in between leaves
  // the event on the stream (consumers lose nothing) and the task view one event short.
  const ref: TaskEventRef = { entry: id, id: valid.id, type: valid.type, at: valid.at };
  const index = taskEventsKey(options.stream, valid.task_id);
  await redis
    .multi()
    .rpush(index, JSON.stringify(ref))
    .ltrim(index, -TASK_EVENTS_MAX, -1)
    .expire(index, options.taskIndexTtlS ?? TASK_EVENTS_TTL_S)
    .exec();
  return id;
}

/** Reads the `event` field of a stream entry's flat field list and validates it. */
export function parseStreamEntry(fields: string[]): RelayEvent {
  const index = fields.findIndex((value, i) => i % 2 === 0 && value === 'event');
  const json = index >= 0 ? fields[index + 1] : undefined;
  if (json === undefined) throw new Error('stream entry has no "event" field');
  return RelayEventSchema.parse(JSON.parse(json));
}

/** A stream entry as XREADGROUP / XAUTOCLAIM return it; `null` fields: trimmed while pending. */
export type StreamEntry = [id: string, fields: string[] | null];
type StreamReply = Array<[stream: string, entries: StreamEntry[]]> | null;

/** Creates the consumer group (and the stream) unless it exists; a new group reads from `startId`. */
export async function ensureConsumerGroup(
  redis: RedisClient,
  stream: string,
  group: string,
  startId: string,
): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
  }
}

export interface GroupRead {
  stream: string;
  group: string;
  consumer: string;
  count: string;
  blockMs: string;
  /** `0` (or an id): this consumer's pending entries after it; `>`: new entries. */
  cursor: string;
}

/** One XREADGROUP ... BLOCK call: the entries read, none when it timed out. */
export async function readGroup(redis: RedisClient, read: GroupRead): Promise<StreamEntry[]> {
  const reply = (await redis.xreadgroup(
    'GROUP',
    read.group,
    read.consumer,
    'COUNT',
    read.count,
    'BLOCK',
    read.blockMs,
    'STREAMS',
    read.stream,
    read.cursor,
  )) as StreamReply;
  return reply?.[0]?.[1] ?? [];
}

export interface ConsumeOptions {
  redis: RedisClient;
  stream: string;
  /** Consumer group; created (with the stream) if missing, reading from `startId`. */
  group: string;
  /** This consumer's name, unique within the group (e.g. hostname + pid). */
  consumer: string;
  /** Handles one event; the entry is acknowledged only after it resolves. */
  handler: (event: RelayEvent, entryId: string) => Promise<void>;
  /** Called for entries that fail the schema; they are acknowledged so they do not block the group. */
  onInvalid?: (entryId: string, error: unknown) => void;
  /** Stops the loop (after the current batch). */
  signal?: AbortSignal;
  /** Where a new group starts: `0` (whole stream, default) or `$` (only new events). */
  startId?: string;
  batchSize?: number;
  blockMs?: number;
}

/**
 * Consumes relay events with a Redis consumer group: at-least-once, typed, acknowledged
 * after the handler succeeds. On start it first re-reads this consumer's own pending
 * entries (delivered before a crash, never acknowledged). A handler that throws leaves
 * its entry pending; the loop re-reads pending entries before new ones, so it is retried.
 * Use a dedicated connection: XREADGROUP BLOCK holds it.
 */
export async function consumeEvents(options: ConsumeOptions): Promise<void> {
  const { redis, stream, group, consumer, handler, signal } = options;
  const batch = String(options.batchSize ?? 100);
  const block = String(options.blockMs ?? 1000);
  await ensureConsumerGroup(redis, stream, group, options.startId ?? '0');
  let cursor = '0'; // '0': our pending entries first; '>' once they are drained.
  while (!signal?.aborted) {
    const entries = await readGroup(redis, { stream, group, consumer, count: batch, blockMs: block, cursor });
    if (cursor === '0' && entries.length === 0) {
      cursor = '>';
      continue;
    }
    let failed = false;
    for (const [entryId, fields] of entries) {
      let event: RelayEvent;
      try {
        event = parseStreamEntry(fields ?? []); // null: trimmed while pending, an invalid entry
      } catch (error) {
        options.onInvalid?.(entryId, error);
        await redis.xack(stream, group, entryId);
        continue;
      }
      try {
        await handler(event, entryId);
        await redis.xack(stream, group, entryId);
      } catch {
        failed = true;
      }
    }
    // After a handler failure go back to the pending entries, so the failed one is retried.
    if (failed) {
      cursor = '0';
      await sleep(Number(block), undefined, { signal }).catch(() => undefined);
    }
  }
}
