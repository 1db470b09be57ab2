import { createHash, randomUUID } from 'node:crypto';
import { type RelayEvent, RelayEventSchema } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { z } from 'zod';
import type { DeliveryKeys } from './keys.js';

/**
 * The webhook id of one (event, endpoint) pair: stable across attempts, replays and re-reads
 * of the stream, so receivers deduplicate by `webhook-id`.
 */
export function messageIdFor(eventId: string, endpointId: string): string {
  return `msg_${createHash('sha256').update(`${eventId}\n${endpointId}`).digest('hex').slice(0, 32)}`;
}

export const MessageStatusSchema = z.enum(['pending', 'delivered', 'failed', 'parked']);
export type MessageStatus = z.infer<typeof MessageStatusSchema>;

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx) => {
    try {
      return schema.parse(JSON.parse(text)) as z.infer<T>;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: String(error) });
      return z.NEVER;
    }
  });

/** One message as its hash stores it. */
const MessageHashSchema = z.object({
  id: z.string(),
  endpoint_id: z.string(),
  event: jsonOf(RelayEventSchema),
  status: MessageStatusSchema,
  attempts: z.coerce.number().int().nonnegative().default(0),
  replays: z.coerce.number().int().nonnegative().default(0),
  enqueued: z.enum(['0', '1']).transform((v) => v === '1'),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  last_http_status: z.coerce.number().int().optional(),
  last_error: z.string().optional(),
});
export type Message = z.infer<typeof MessageHashSchema>;
/** What a change of a message needs: its id and, for its task's index, its event. */
export type MessageRef = Pick<Message, 'id' | 'event'>;

/** The task of a stored event, for trimming (the rest of the event is not needed there). */
const TaskOfEventSchema = jsonOf(z.object({ task_id: z.string() }));

/** One attempt, as both logs keep it. `response_excerpt` is at most 1 KiB of UTF-8. */
export const AttemptRecordSchema = z.object({
  attempt_id: z.string(),
  message_id: z.string(),
  endpoint_id: z.string(),
  task_id: z.string(),
  event_type: z.string(),
  /** 1-based, counted over the message's life (replays continue the count). */
  n: z.number().int().positive(),
  at: z.iso.datetime(),
  result: z.enum(['delivered', 'failed', 'gone']),
  http_status: z.number().int().nullable(),
  latency_ms: z.number().nonnegative(),
  response_excerpt: z.string().nullable(),
  error: z.string().nullable(),
  replay: z.boolean(),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;

export interface MessageLogLimits {
  /** DELIVERY_LOG_MAX_ATTEMPTS: attempts kept per endpoint. */
  maxEndpointAttempts: number;
  /** DELIVERY_LOG_MAX_MESSAGE_ATTEMPTS: attempts kept per message. */
  maxMessageAttempts: number;
  /** DELIVERY_LOG_MAX_MESSAGES: messages kept per endpoint. */
  maxMessages: number;
  /** DELIVERY_LOG_RETENTION_S: seconds kept after the last change. */
  retentionS: number;
}

export interface MessageLog {
  /**
   * Creates the message unless it exists. `created` is false for a re-read of the same
   * (event, endpoint); `enqueued` says whether its job was added already.
   */
  ensure(
    event: RelayEvent,
    endpointId: string,
    status: 'pending' | 'parked',
  ): Promise<{ message: Message; created: boolean }>;
  markEnqueued(message: MessageRef): Promise<void>;
  get(id: string): Promise<Message | null>;
  setStatus(
    message: MessageRef,
    status: MessageStatus,
    last?: { httpStatus: number | null; error: string | null },
  ): Promise<void>;
  /** Counts a new attempt of the message and returns its number (0 when the message is gone). */
  nextAttempt(id: string): Promise<number>;
  /** Counts a replay and returns its number (for the replay job's id). */
  nextReplay(id: string): Promise<number>;
  record(attempt: Omit<AttemptRecord, 'attempt_id'>): Promise<AttemptRecord>;
  /** A message's attempts, newest first. */
  attempts(id: string): Promise<AttemptRecord[]>;
  /** An endpoint's attempts, newest first, at most `limit`, optionally before a time (ms). */
  endpointAttempts(endpointId: string, options?: { limit?: number; beforeMs?: number }): Promise<AttemptRecord[]>;
  /**
   * Ids of a task's messages, oldest first, whatever became of their endpoints: the index is
   * written with each message and trimmed with it. An id may outlive its message by a little
   * (a hash expired by its TTL): {@link get} answers null for it.
   */
  taskMessageIds(taskId: string): Promise<string[]>;
  /** Ids of an endpoint's messages created at or after `sinceMs`, oldest first. */
  endpointMessageIds(endpointId: string, sinceMs: number): Promise<string[]>;
  /**
   * A page of an endpoint's messages, newest first: ids and creation times (ms) at or before
   * `atOrBeforeMs` (default: now), skipping the first `offset` of those. For an API's cursor.
   */
  endpointMessagesPage(
    endpointId: string,
    page: { atOrBeforeMs?: number; offset?: number; limit: number },
  ): Promise<Array<{ id: string; createdMs: number }>>;
  /** The status of each message (one round trip); null for one that expired. */
  statuses(ids: readonly string[]): Promise<Array<MessageStatus | null>>;
}

// Creates a message and indexes it by endpoint and by task, atomically and only once: a re-read
// of the stream finds it. The task's index expires with its longest-lived message (every change
// of a message refreshes both expiries), so it never outlives what it lists by more than a TTL.
const CREATE_MESSAGE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return 1`;

// Changes a message only while it exists: a message dropped by retention while its job ran
// must not come back as a partial hash without an expiry.
const INCREMENT_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)`;

// KEYS[2], the task's index, gets the message's new expiry too (a no-op on a missing index).
const SET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1`;

export function createMessageLog(options: {
  redis: RedisClient;
  keys: DeliveryKeys;
  limits: MessageLogLimits;
  now?: () => Date;
}): MessageLog {
  const { redis, keys, limits } = options;
  const now = options.now ?? (() => new Date());
  const ttl = String(limits.retentionS);

  async function get(id: string): Promise<Message | null> {
    const hash = await redis.hgetall(keys.message(id));
    if (Object.keys(hash).length === 0) return null;
    return MessageHashSchema.parse(hash);
  }

  /** Sets fields of a message that still exists, refreshing its expiry and its task index's. */
  async function setIfExists(message: MessageRef, fields: Record<string, string>): Promise<void> {
    await redis.eval(
      SET_IF_EXISTS,
      2,
      keys.message(message.id),
      keys.taskMessages(message.event.task_id),
      ttl,
      ...Object.entries(fields).flat(),
    );
  }

  /**
   * Drops an endpoint's messages past the age and count bounds, with their records, logs and
   * entries in their tasks' indexes. The task is read from the message's event (not kept in a
   * field of its own: a hash field costs ~100 B of Redis per message); a message whose hash
   * expired already leaves an entry that {@link get} answers null for, until its index expires.
   */
  async function trimMessages(endpointId: string, at: number): Promise<void> {
    const index = keys.endpointMessages(endpointId);
    const old = await redis.zrangebyscore(index, '-inf', `(${at - limits.retentionS * 1000}`);
    const overflow = await redis.zrange(index, '0', String(-(limits.maxMessages + 1)));
    const doomed = [...new Set([...old, ...overflow])];
    if (doomed.length === 0) return;
    const events = redis.pipeline();
    for (const id of doomed) events.hget(keys.message(id), 'event');
    const byTask = new Map<string, string[]>();
    for (const [i, [error, json]] of ((await events.exec()) ?? []).entries()) {
      const parsed = error === null ? TaskOfEventSchema.safeParse(json) : undefined;
      if (!parsed?.success) continue;
      const taskId = parsed.data.task_id;
      byTask.set(taskId, [...(byTask.get(taskId) ?? []), doomed[i] as string]);
    }
    const trim = redis
      .multi()
      .zrem(index, ...doomed)
      .del(...doomed.flatMap((id) => [keys.message(id), keys.messageAttempts(id)]));
    for (const [taskId, ids] of byTask) trim.zrem(keys.taskMessages(taskId), ...ids);
    await trim.exec();
  }

  return {
    async ensure(event, endpointId, status) {
      const id = messageIdFor(event.id, endpointId);
      const at = now();
      const fields = {
        id,
        endpoint_id: endpointId,
        event: JSON.stringify(event),
        status,
        // No zero `attempts` / `replays`: HINCRBY creates them, the schema reads them as 0, and
        // in a hash this size (hashtable-encoded, by the event) each field costs ~120 B of Redis.
        enqueued: '0',
        created_at: at.toISOString(),
        updated_at: at.toISOString(),
      };
      const created =
        (await redis.eval(
          CREATE_MESSAGE,
          3,
          keys.message(id),
          keys.endpointMessages(endpointId),
          keys.taskMessages(event.task_id),
          ttl,
          String(at.getTime()),
          id,
          ...Object.entries(fields).flat(),
        )) === 1;
      if (created) await trimMessages(endpointId, at.getTime());
      const message = await get(id);
      if (message === null) throw new Error(`message ${id} vanished while being created`);
      return { message, created };
    },
    async markEnqueued(message) {
      await setIfExists(message, { enqueued: '1' });
    },
    get,
    async setStatus(message, status, last) {
      const fields: Record<string, string> = { status, updated_at: now().toISOString() };
      if (last?.httpStatus != null) fields.last_http_status = String(last.httpStatus);
      if (last?.error != null) fields.last_error = last.error.slice(0, 500);
      await setIfExists(message, fields);
    },
    nextAttempt: async (id) => Number(await redis.eval(INCREMENT_IF_EXISTS, 1, keys.message(id), 'attempts')),
    nextReplay: async (id) => Number(await redis.eval(INCREMENT_IF_EXISTS, 1, keys.message(id), 'replays')),
    async record(input) {
      const attempt = AttemptRecordSchema.parse({ ...input, attempt_id: randomUUID() });
      const json = JSON.stringify(attempt);
      const at = Date.parse(attempt.at);
      const messageKey = keys.messageAttempts(attempt.message_id);
      const endpointKey = keys.endpointAttempts(attempt.endpoint_id);
      await redis
        .multi()
        .lpush(messageKey, json)
        .ltrim(messageKey, 0, limits.maxMessageAttempts - 1)
        .expire(messageKey, ttl)
        .zadd(endpointKey, at, json)
        .zremrangebyscore(endpointKey, '-inf', `(${at - limits.retentionS * 1000}`)
        .zremrangebyrank(endpointKey, 0, -(limits.maxEndpointAttempts + 1))
        .exec();
      return attempt;
    },
    async attempts(id) {
      const entries = await redis.lrange(keys.messageAttempts(id), 0, -1);
      return entries.map((json) => AttemptRecordSchema.parse(JSON.parse(json)));
    },
    async endpointAttempts(endpointId, query = {}) {
      const max = query.beforeMs === undefined ? '+inf' : `(${query.beforeMs}`;
      const entries = await redis.zrevrangebyscore(
        keys.endpointAttempts(endpointId),
        max,
        '-inf',
        'LIMIT',
        0,
        query.limit ?? 100,
      );
      return entries.map((json) => AttemptRecordSchema.parse(JSON.parse(json)));
    },
    taskMessageIds: (taskId) => redis.zrange(keys.taskMessages(taskId), '0', '-1'),
    endpointMessageIds: (endpointId, sinceMs) =>
      redis.zrangebyscore(keys.endpointMessages(endpointId), sinceMs, '+inf'),
    async endpointMessagesPage(endpointId, page) {
      const flat = await redis.zrevrangebyscore(
        keys.endpointMessages(endpointId),
        page.atOrBeforeMs ?? '+inf',
        '-inf',
        'WITHSCORES',
        'LIMIT',
        page.offset ?? 0,
        page.limit,
      );
      const out: Array<{ id: string; createdMs: number }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), createdMs: Number(flat[i + 1]) });
      return out;
    },
    async statuses(ids) {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(keys.message(id), 'status');
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, value]) => {
        const parsed = MessageStatusSchema.safeParse(value);
        return error === null && parsed.success ? parsed.data : null;
      });
    },
  };
}
