import type { RelayKeys } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { Gauge, type Registry } from 'prom-client';

/**
 * `relay_reconcile_oldest_due_seconds`: how long the most overdue registered task has waited
 * for its poll (0 when none is due), read from the registry's due set at scrape time (one
 * `ZRANGE 0 0`, O(log n)). Passes that keep up hold it near `RECONCILE_PASS_S`; a stopped or
 * starved reconciler (no scheduler, the provider's rate limit) makes it climb.
 */
export function createReconcileLagGauge(
  registry: Registry,
  redis: RedisClient,
  keys: Pick<RelayKeys, 'pollDue'>,
  now: () => number = Date.now,
) {
  return new Gauge({
    name: 'relay_reconcile_oldest_due_seconds',
    help: 'Seconds the most overdue registered task has waited for its reconcile poll (0: none due)',
    registers: [registry],
    async collect() {
      try {
        const [, score] = await redis.zrange(keys.pollDue, '0', '0', 'WITHSCORES');
        this.set(score === undefined ? 0 : Math.max(0, (now() - Number(score)) / 1000));
      } catch {
        // Redis away: the scrape still answers (the value stays); /readyz names Redis.
      }
    },
  });
}
