import type { RelayEvent } from '@runway-relay/contracts';
import { parseInput, parseStreamEntry, type RedisClient } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/** Both parts of a Redis Stream id are unsigned 64-bit integers; Redis refuses larger ones. */
const MAX_PART = 2n ** 64n - 1n;
/** The last id a stream can hold: nothing comes strictly after it, and Redis refuses `(` before it. */
const LAST_ID = `${MAX_PART}-${MAX_PART}`;

/** A Redis Stream entry id: `<ms>` or `<ms>-<seq>`, each part at most 2^64 - 1. */
const StreamIdSchema = z
  .string()
  .regex(/^\d{1,20}(-\d{1,20})?$/, 'must be a stream id such as 1700000000000-0')
  .refine(
    // zod runs this even when the regex failed: only digits reach BigInt.
    (id) => id.split('-').every((part) => /^\d{1,20}$/.test(part) && BigInt(part) <= MAX_PART),
    'parts must be at most 2^64 - 1',
  );

const EventsQuerySchema = z.object({
  /** Return entries strictly after this id; unset: from the start of the stream. */
  since: StreamIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export interface EventsRouteOptions {
  redis: RedisClient;
  stream: string;
}

/**
 * `GET /api/events?since=<id>&limit=<1..1000>`: a page of the event stream, oldest first.
 * `next` is the id to pass as `since` for the following page (the given `since` when the
 * page is empty). Entries that fail the event schema are skipped (and logged), not fatal.
 */
export function registerEventRoutes(app: FastifyInstance, options: EventsRouteOptions): void {
  app.get('/api/events', async (request) => {
    const { since, limit } = parseInput(EventsQuerySchema, request.query);
    if (since === LAST_ID) return { events: [], next: since };
    const start = since === undefined ? '-' : `(${since}`;
    const entries = await options.redis.xrange(options.stream, start, '+', 'COUNT', limit);
    const events: Array<{ id: string; event: RelayEvent }> = [];
    for (const [id, fields] of entries) {
      try {
        events.push({ id, event: parseStreamEntry(fields) });
      } catch (error) {
        request.log.warn({ err: error, entry_id: id, stream: options.stream }, 'skipping invalid stream entry');
      }
    }
    return { events, next: entries.at(-1)?.[0] ?? since ?? '0-0' };
  });
}
