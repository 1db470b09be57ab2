import { type ProviderConfig, relayKeys } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import type { Registry } from 'prom-client';
import { createProviderClient, type ProviderClient } from './provider-client.js';
import { createProviderMetrics, type ProviderMetrics } from './provider-metrics.js';
import { createRedisRateLimiter, type RateLimiter } from './rate-limiter.js';

/** A service's way to the provider's API: one client, paced by the limiter every process shares. */
export interface ProviderAccess {
  client: ProviderClient;
  limiter: RateLimiter;
  metrics: ProviderMetrics;
}

/** The settings {@link createProviderAccess} reads: `PROVIDER_*` and the key prefix of the limiter. */
export type ProviderAccessConfig = ProviderConfig & { QUEUE_PREFIX: string; QUEUE_NAME: string };

/**
 * Builds the provider client of a service from config: the Redis token bucket under
 * `keys.providerRate` (one per relay, so the worker's polls and the dashboard's submissions
 * together stay under `PROVIDER_RPS`) and the client's metrics on `registry` (the service's).
 * `null` when `PROVIDER_API_KEY` is unset: the relay cannot ask the provider.
 */
export function createProviderAccess(
  config: ProviderAccessConfig,
  redis: RedisClient,
  registry: Registry,
  options: { limiterTimeoutMs?: number } = {},
): ProviderAccess | null {
  if (config.PROVIDER_API_KEY === undefined) return null;
  const limiter = createRedisRateLimiter({
    redis,
    key: relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME).providerRate,
    ratePerSecond: config.PROVIDER_RPS,
    burst: config.PROVIDER_BURST,
  });
  const metrics = createProviderMetrics(registry);
  const client = createProviderClient({
    baseUrl: config.PROVIDER_API_URL,
    apiKey: config.PROVIDER_API_KEY,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    limiter,
    ...(options.limiterTimeoutMs === undefined ? {} : { limiterTimeoutMs: options.limiterTimeoutMs }),
    metrics,
  });
  return { client, limiter, metrics };
}
