import type {
  AttemptRecord,
  BreakerState,
  DeliveryCore,
  EndpointView,
  Message,
  MessageStatus,
} from '@runway-relay/delivery';
import { type RedisClient, taskEventsKey } from '@runway-relay/runtime';

/** A message as the admin API shows it: the event's identity, not the whole event. */
export interface MessageSummary {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  task_id: string;
  status: MessageStatus;
  attempts: number;
  replays: number;
  created_at: string;
  updated_at: string;
  last_http_status: number | null;
  last_error: string | null;
}

export function summarize(message: Message): MessageSummary {
  return {
    id: message.id,
    endpoint_id: message.endpoint_id,
    event_id: message.event.id,
    event_type: message.event.type,
    task_id: message.event.task_id,
    status: message.status,
    attempts: message.attempts,
    replays: message.replays,
    created_at: message.created_at,
    updated_at: message.updated_at,
    last_http_status: message.last_http_status ?? null,
    last_error: message.last_error ?? null,
  };
}

/** One entry of `GET /api/tasks/:taskId/deliveries`. */
export type TaskDelivery = MessageSummary & {
  /** The endpoint is gone (deleted, or the env endpoint with DELIVERY_URL unset); its log is kept until retention. */
  endpoint_deleted: boolean;
  attempt_log: AttemptRecord[];
};

/** `GET /api/endpoints/:id`: the endpoint (secret masked) and how its deliveries go. */
export interface EndpointHealth {
  endpoint: EndpointView;
  health: {
    breaker: BreakerState;
    /** Statuses of the newest `window` messages (at most {@link HEALTH_WINDOW}). */
    messages: Record<MessageStatus, number> & { window: number };
    last_attempts: AttemptRecord[];
  };
}

/** Messages counted for an endpoint's health: one pipelined read, however long the log. */
export const HEALTH_WINDOW = 1000;
/** Most index entries one listing request reads while filtering by status; the cursor resumes the scan. */
const SCAN_BUDGET = 2000;

/** A listing cursor: the creation time and id of the last message looked at. */
export class BadCursorError extends Error {
  override readonly name = 'BadCursorError';
}

function encodeCursor(createdMs: number, id: string): string {
  return Buffer.from(`${createdMs}:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdMs: number; id: string } {
  const match = /^(\d{1,15}):(msg_[0-9a-f]{32})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) throw new BadCursorError('not a cursor this API returned');
  return { createdMs: Number(match[1]), id: match[2] as string };
}

/**
 * What the dashboard's delivery routes do, over the delivery core: endpoint health, a task's
 * deliveries, an endpoint's messages by cursor (docs/dashboard.md, "Webhook delivery").
 */
export function createDeliveryAdmin(deps: { core: DeliveryCore; redis: RedisClient; eventsStream: string }) {
  const { core, redis } = deps;

  async function health(id: string): Promise<EndpointHealth | null> {
    const endpoint = await core.endpoints.view(id);
    if (endpoint === null) return null;
    const newest = await core.log.endpointMessagesPage(id, { limit: HEALTH_WINDOW });
    const counts = { pending: 0, delivered: 0, failed: 0, parked: 0 };
    for (const status of await core.log.statuses(newest.map((entry) => entry.id))) {
      if (status !== null) counts[status] += 1;
    }
    return {
      endpoint,
      health: {
        breaker: await core.breaker.state(id),
        messages: { ...counts, window: newest.length },
        last_attempts: await core.log.endpointAttempts(id, { limit: 20 }),
      },
    };
  }

  /**
   * A task's messages, oldest first, with their attempts, from the log's per-task index: the
   * messages to endpoints deleted since are listed too (`endpoint_deleted`), until retention
   * drops them. Reads O(messages of the task), whatever the number of endpoints. Null when the
   * relay has neither a message nor an event of the task.
   */
  async function taskDeliveries(taskId: string): Promise<TaskDelivery[] | null> {
    const ids = await core.log.taskMessageIds(taskId);
    const messages = (await Promise.all(ids.map((id) => core.log.get(id)))).filter(
      (message): message is Message => message !== null,
    );
    if (messages.length === 0) {
      return (await redis.exists(taskEventsKey(deps.eventsStream, taskId))) === 1 ? [] : null;
    }
    const endpointIds = [...new Set(messages.map((message) => message.endpoint_id))];
    const present = new Set(
      (await Promise.all(endpointIds.map(async (id) => ((await core.endpoints.get(id)) === null ? [] : [id])))).flat(),
    );
    return Promise.all(
      messages.map(async (message) => ({
        ...summarize(message),
        endpoint_deleted: !present.has(message.endpoint_id),
        attempt_log: await core.log.attempts(message.id),
      })),
    );
  }

  /** An endpoint's messages newest first, optionally of one status; `next_cursor` null at the end. */
  async function endpointMessages(
    endpointId: string,
    query: { status?: MessageStatus | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ messages: MessageSummary[]; next_cursor: string | null }> {
    let position = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const messages: MessageSummary[] = [];
    let scanned = 0;
    // Only for more than a batch of messages created in one millisecond: skips what was seen.
    let offset = 0;
    while (scanned < SCAN_BUDGET) {
      const batchSize = 200;
      const batch = await core.log.endpointMessagesPage(endpointId, {
        ...(position ? { atOrBeforeMs: position.createdMs } : {}),
        offset,
        limit: batchSize,
      });
      // Same-millisecond neighbours come in descending id order: those at or above the position's id were seen.
      const from = position;
      const fresh = batch.filter((e) => !(from && e.createdMs === from.createdMs && e.id >= from.id));
      const statuses = await core.log.statuses(fresh.map((e) => e.id));
      for (const [i, entry] of fresh.entries()) {
        if (messages.length >= query.limit && position) {
          return { messages, next_cursor: encodeCursor(position.createdMs, position.id) };
        }
        scanned += 1;
        position = entry;
        const status = statuses[i];
        if (status == null || (query.status !== undefined && status !== query.status)) continue;
        const message = await core.log.get(entry.id);
        if (message !== null) messages.push(summarize(message));
      }
      if (batch.length < batchSize) return { messages, next_cursor: null };
      offset = fresh.length === 0 ? offset + batch.length : 0;
    }
    return { messages, next_cursor: position ? encodeCursor(position.createdMs, position.id) : null };
  }

  return { health, taskDeliveries, endpointMessages };
}

export type DeliveryAdmin = ReturnType<typeof createDeliveryAdmin>;
