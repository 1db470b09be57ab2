import { createRedisMemorySampler, type Logger, type RedisClient } from '@runway-relay/runtime';
import { Queue } from 'bullmq';

export interface MemoryReliefOptions {
  redis: RedisClient;
  queueName: string;
  prefix: string;
  /** `REDIS_MEMORY_HEADROOM`: relief runs while used/max is above it. */
  headroom: number;
  /** `REDIS_MEMORY_CHECK_MS`. */
  intervalMs: number;
  logger: Logger;
  /** Completed jobs removed per round (one `clean` script call). */
  batch?: number;
}

/** BullMQ event-stream entries kept under pressure (default 10 000): live listeners need only the latest. */
const EVENTS_KEPT_UNDER_PRESSURE = 1000;

const LOG_EVERY_MS = 10_000;

export interface MemoryRelief {
  close(): Promise<void>;
}

/**
 * Frees Redis memory when it is above the headroom, so the ingress (which refuses callbacks
 * above the same fraction) recovers by itself. A finished job does not free memory: it stays
 * in the completed set for `JOB_KEEP_COMPLETED_S` (Bull Board history) and BullMQ trims that
 * set only when another job completes. With no new callbacks, nothing would ever complete
 * and the ingress would refuse forever. Under pressure the worker therefore drops the oldest
 * completed jobs and trims BullMQ's own event stream: history only, since each task's state
 * is in its task record and the relay's event stream, both kept. Failed jobs stay (an
 * operator may retry them). Deletions are allowed even when Redis is at `maxmemory`.
 */
export function startMemoryRelief(options: MemoryReliefOptions): MemoryRelief {
  const batch = options.batch ?? 1000;
  const queue = new Queue(options.queueName, { connection: options.redis, prefix: options.prefix });
  queue.on('error', () => undefined);
  let running = false;
  let lastLogged = 0;
  let removedSinceLog = 0;
  const relieve = async (fraction: number) => {
    if (running) return;
    running = true;
    try {
      removedSinceLog += (await queue.clean(0, batch, 'completed')).length;
      await queue.trimEvents(EVENTS_KEPT_UNDER_PRESSURE);
      // One line per LOG_EVERY_MS however often the relief runs.
      if (Date.now() - lastLogged >= LOG_EVERY_MS) {
        options.logger.warn(
          {
            used_ratio: Math.round(fraction * 1000) / 1000,
            headroom: options.headroom,
            removed_completed: removedSinceLog,
          },
          'redis memory above headroom: trimmed completed-job history and queue events',
        );
        lastLogged = Date.now();
        removedSinceLog = 0;
      }
    } catch (error) {
      // Above maxmemory even BullMQ's clean is refused (it writes an event): say so, sparingly.
      if (Date.now() - lastLogged >= LOG_EVERY_MS) {
        options.logger.warn({ err: error }, 'redis memory relief failed');
        lastLogged = Date.now();
      }
    } finally {
      running = false;
    }
  };
  const sampler = createRedisMemorySampler({
    redis: options.redis,
    intervalMs: options.intervalMs,
    onSample: (sample) => {
      if (sample.maxBytes > 0 && sample.fraction > options.headroom) void relieve(sample.fraction);
    },
    onError: () => undefined,
  });
  return {
    close: async () => {
      sampler.close();
      await queue.close().catch(() => undefined);
    },
  };
}
