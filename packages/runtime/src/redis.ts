import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * How a connection is used, which decides its failure behaviour (BullMQ's production guide):
 * - `producer`: the ingress. Commands fail at once while Redis is away, so a request can be
 *   answered 503 instead of waiting in an in-memory queue that a crash would lose.
 * - `worker`: BullMQ workers and blocking readers. Retry forever (`maxRetriesPerRequest: null`).
 */
export type RedisRole = 'producer' | 'worker';

export interface RedisConnectionOptions {
  url: string;
  role: RedisRole;
  logger: Logger;
  /** Name shown by CLIENT LIST, e.g. `ingress`. */
  name: string;
  /** Producer only: ms before a command is failed. */
  commandTimeoutMs?: number;
}

export function redisOptionsFor(options: RedisConnectionOptions): RedisOptions {
  const common: RedisOptions = {
    connectionName: options.name,
    // Reconnect with a capped backoff; the first retries are quick so a Redis restart is short.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
  if (options.role === 'producer') {
    return {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectTimeout: 2000,
    };
  }
  return { ...common, maxRetriesPerRequest: null, enableReadyCheck: true };
}

/** Opens a Redis connection with the settings of its role and an `error` listener that logs. */
export function createRedis(options: RedisConnectionOptions): Redis {
  const redis = new Redis(options.url, redisOptionsFor(options));
  // Without a listener ioredis prints every reconnect error as an unhandled 'error' event.
  let lastLogged = 0;
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged > 5000) {
      lastLogged = now;
      options.logger.warn({ err: error, connection: options.name }, 'redis connection error');
    }
  });
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Closes connections one by one, each in its own try/catch so one failure does not leak the rest. */
export async function closeQuietly(closables: Array<{ quit(): Promise<unknown> } | undefined>): Promise<void> {
  for (const closable of closables) {
    if (!closable) continue;
    try {
      await closable.quit();
    } catch {
      // Already closed or unreachable: nothing more to release.
    }
  }
}
