import { createRedisMemorySampler, type Logger, type RedisClient } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CALLBACK_PATHS, TOKEN_PATH } from './routes/callback.route.js';

/** Seconds the provider is asked to wait: the workers need time to drain the backlog. */
const RETRY_AFTER_S = 30;
/** At most one warning per this many ms while callbacks are refused. */
const WARN_EVERY_MS = 10_000;

export interface MemoryHeadroomOptions {
  redis: RedisClient;
  /** `REDIS_MEMORY_HEADROOM`: refuse above this fraction of `maxmemory`. */
  headroom: number;
  /** `REDIS_MEMORY_CHECK_MS`: ms between `INFO memory` samples. */
  intervalMs: number;
  registry: Registry;
  logger: Logger;
}

const CALLBACK_ROUTES = new Set<string>([...CALLBACK_PATHS, TOKEN_PATH]);

/**
 * Keeps Redis below `maxmemory`: while the sampled `used_memory` is above `headroom` of it,
 * callback POSTs are answered 503 `redis_memory_full` with Retry-After, before their body is
 * read. Under `noeviction` a full Redis refuses every write, the workers' included, so no job
 * could finish and free memory; the headroom leaves the workers room to drain the backlog.
 * Ops routes are not affected. Off while `maxmemory` is 0. The sampler stops when the app closes.
 */
export function registerMemoryHeadroom(app: FastifyInstance, options: MemoryHeadroomOptions): void {
  const used = new Gauge({
    name: 'relay_redis_memory_used_ratio',
    help: 'Redis used_memory / maxmemory as last sampled (0 when maxmemory is unlimited)',
    registers: [options.registry],
  });
  const refused = new Counter({
    name: 'relay_callbacks_refused_memory_total',
    help: 'Callbacks answered 503 redis_memory_full because Redis memory was above REDIS_MEMORY_HEADROOM',
    registers: [options.registry],
  });
  const sampler = createRedisMemorySampler({
    redis: options.redis,
    intervalMs: options.intervalMs,
    onSample: (sample) => used.set(sample.fraction),
    // A Redis that does not answer fails the callback itself (503); nothing more to say here.
    onError: () => undefined,
  });
  app.addHook('onClose', async () => sampler.close());

  let lastWarned = 0;
  let refusedSinceWarn = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST' || !CALLBACK_ROUTES.has(request.routeOptions.url ?? '')) return;
    const sample = sampler.current();
    if (sample === undefined || sample.maxBytes === 0 || sample.fraction <= options.headroom) return;
    refused.inc();
    refusedSinceWarn++;
    const now = Date.now();
    if (now - lastWarned >= WARN_EVERY_MS) {
      options.logger.warn(
        {
          used_bytes: sample.usedBytes,
          max_bytes: sample.maxBytes,
          headroom: options.headroom,
          refused: refusedSinceWarn,
        },
        'redis memory above headroom: refusing callbacks',
      );
      lastWarned = now;
      refusedSinceWarn = 0;
    }
    request.rejectReason = 'redis_memory_full';
    return reply
      .code(503)
      .header('retry-after', String(RETRY_AFTER_S))
      .send({
        error: 'redis_memory_full',
        message: `redis memory is ${Math.round(sample.fraction * 100)} % of maxmemory (limit ${Math.round(options.headroom * 100)} %): retry later`,
      });
  });
}
