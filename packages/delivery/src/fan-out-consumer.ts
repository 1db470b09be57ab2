import { setTimeout as sleep } from 'node:timers/promises';
import type { RelayEvent } from '@runway-relay/contracts';
import {
  ensureConsumerGroup,
  type Logger,
  parseStreamEntry,
  type RedisClient,
  readGroup,
  type StreamEntry,
} from '@runway-relay/runtime';
import type { FanOut } from './fan-out.js';

/** The consumer group of the deliveries on the events stream. */
export const DELIVERY_GROUP = 'deliveries';

export interface FanOutConsumerOptions {
  /** A dedicated connection: XREADGROUP BLOCK holds it. */
  redis: RedisClient;
  stream: string;
  fanOut: FanOut;
  /** This consumer's name, unique in the group (hostname + pid). */
  consumer: string;
  group?: string;
  /** Entries pending this long with another consumer (dead, presumably) are claimed. Default 60 s. */
  claimIdleMs?: number;
  /** Where a new group starts: `$` (default: events from now on) or `0` (the whole stream). */
  startId?: string;
  batchSize?: number;
  blockMs?: number;
  signal?: AbortSignal;
  logger: Logger;
}

/**
 * Reads the events stream through a consumer group and fans each event out; an entry is
 * acknowledged only after its jobs were added. This consumer's own pending entries are
 * re-read first; entries left pending by a consumer that died, or by a failed fan-out, are
 * taken over with XAUTOCLAIM once idle for `claimIdleMs`. Resolves when `signal` aborts.
 */
export async function runFanOutConsumer(options: FanOutConsumerOptions): Promise<void> {
  const { redis, stream, consumer, signal, logger } = options;
  const group = options.group ?? DELIVERY_GROUP;
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  const batch = String(options.batchSize ?? 50);
  const block = options.blockMs ?? 1000;
  await ensureConsumerGroup(redis, stream, group, options.startId ?? '$');

  /** Handles one entry; false when its fan-out failed (it stays pending for a later try). */
  async function handleOne([entryId, fields]: StreamEntry): Promise<boolean> {
    if (fields === null) {
      // Trimmed from the stream while pending: nothing left to deliver.
      await redis.xack(stream, group, entryId);
      return true;
    }
    let event: RelayEvent;
    try {
      event = parseStreamEntry(fields);
    } catch (error) {
      logger.error({ entry_id: entryId, err: error }, 'event off the schema: acknowledged without delivery');
      await redis.xack(stream, group, entryId);
      return true;
    }
    try {
      await options.fanOut.fanOutEvent(event);
      await redis.xack(stream, group, entryId);
      return true;
    } catch (error) {
      logger.error({ task_id: event.task_id, entry_id: entryId, err: error }, 'fan-out failed: entry stays pending');
      return false;
    }
  }

  /**
   * Handles a batch, its entries at once (at most `batchSize`): deliveries promise no order
   * (docs/delivery.md), and one entry after another left the fan-out the bottleneck of the
   * webhook benchmark. Each entry is acknowledged after its own jobs are added.
   */
  async function handle(entries: StreamEntry[]): Promise<boolean> {
    const results = await Promise.all(entries.map(handleOne));
    return results.every(Boolean);
  }

  // First this consumer's own pending entries (delivered before a restart, never acked), paging
  // through them by id; then new ones ('>'). An entry whose fan-out fails stays pending and is
  // retried by the XAUTOCLAIM pass once idle, so it never holds up the entries behind it.
  let cursor = '0';
  let nextClaim = 0;
  while (!signal?.aborted) {
    try {
      if (Date.now() >= nextClaim) {
        nextClaim = Date.now() + Math.max(100, claimIdleMs / 2);
        let claimCursor = '0-0';
        do {
          const [next, claimed] = (await redis.xautoclaim(
            stream,
            group,
            consumer,
            claimIdleMs,
            claimCursor,
            'COUNT',
            batch,
          )) as [string, StreamEntry[]];
          if (claimed.length > 0)
            logger.info({ entries: claimed.length }, 'claimed pending events (idle consumer or failed fan-out)');
          await handle(claimed);
          claimCursor = next;
        } while (claimCursor !== '0-0' && !signal?.aborted);
      }
      const entries = await readGroup(redis, { stream, group, consumer, count: batch, blockMs: String(block), cursor });
      if (cursor !== '>') cursor = entries.at(-1)?.[0] ?? '>';
      if (!(await handle(entries))) await sleep(block, undefined, { signal }).catch(() => undefined);
    } catch (error) {
      if (signal?.aborted) break;
      logger.error({ err: error }, 'fan-out consumer: Redis call failed, retrying');
      await sleep(block, undefined, { signal }).catch(() => undefined);
    }
  }
}
