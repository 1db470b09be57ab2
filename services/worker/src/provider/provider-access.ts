import { relayKeys, type WorkerConfig } from '@runway-relay/contracts';
import {
  createProviderClient,
  createProviderMetrics,
  createRedisRateLimiter,
  type ProviderClient,
  type ProviderMetrics,
} from '@runway-relay/provider-client';
import type { RedisClient } from '@runway-relay/runtime';
import type { Registry } from 'prom-client';
import { createReconcileLagGauge } from '../reconcile/reconcile-lag.js';

export interface ProviderAccess {
  client: ProviderClient;
  metrics: ProviderMetrics;
}

/**
 * The worker's client of the provider's API (docs/worker.md, "The provider client"): one per
 * process, behind the token bucket every process shares, its metrics on the worker's registry.
 * Also registers `relay_reconcile_oldest_due_seconds`. Null without `PROVIDER_API_KEY`: the
 * relay then never asks the provider.
 */
export function createProviderAccess(
  config: WorkerConfig,
  redis: RedisClient,
  registry: Registry,
): ProviderAccess | null {
  if (config.PROVIDER_API_KEY === undefined) return null;
  const metrics = createProviderMetrics(registry);
  const keys = relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME);
  // With a key the reconciler polls, so its lag is worth a metric.
  createReconcileLagGauge(registry, redis, keys);
  const limiter = createRedisRateLimiter({
    redis,
    key: keys.providerRate,
    ratePerSecond: config.PROVIDER_RPS,
    burst: config.PROVIDER_BURST,
  });
  const client = createProviderClient({
    baseUrl: config.PROVIDER_API_URL,
    apiKey: config.PROVIDER_API_KEY,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    limiter,
    metrics,
  });
  return { client, metrics };
}
