import type { RelayEvent } from '@runway-relay/contracts';
import { parseStreamEntry } from '@runway-relay/runtime';
import { waitFor } from '@runway-relay/testkit';
import { Redis } from 'ioredis';

/** Waits until `stream` holds `count` entries; polls XLEN (cheap) and returns the parsed events. */
export async function waitForStreamLength(
  redisUrl: string,
  stream: string,
  count: number,
  timeoutMs: number,
): Promise<RelayEvent[]> {
  const redis = new Redis(redisUrl);
  try {
    await waitFor(async () => (await redis.xlen(stream)) >= count, {
      timeoutMs,
      intervalMs: 50,
      description: `${count} events on ${stream}`,
    });
    return (await redis.xrange(stream, '-', '+')).map(([, fields]) => parseStreamEntry(fields));
  } finally {
    redis.disconnect();
  }
}

/** A stream entry: its event and the ms Redis added it (the entry id's time part). */
export interface TimedEvent {
  id: string;
  addedMs: number;
  event: RelayEvent;
}

/** The entries of `stream` after `afterId` (exclusive; `-` for all), with the time each was added. */
export async function readTimedEvents(redis: Redis, stream: string, afterId = '-'): Promise<TimedEvent[]> {
  const start = afterId === '-' ? '-' : `(${afterId}`;
  return (await redis.xrange(stream, start, '+')).map(([id, fields]) => ({
    id,
    addedMs: Number(id.split('-')[0]),
    event: parseStreamEntry(fields),
  }));
}
