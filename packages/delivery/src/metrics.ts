import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState } from './breaker.js';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Delivery metrics, registered on the caller's registry (the worker's). Labels carry endpoint
 * ids, which operators create: a bounded set.
 */
export function createDeliveryMetrics(registry: Registry, breakerStates?: () => Promise<Record<string, BreakerState>>) {
  return {
    delivered: new Counter({
      name: 'relay_webhook_messages_delivered_total',
      help: 'Webhook messages delivered (2xx), by endpoint',
      labelNames: ['endpoint_id'] as const,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'relay_webhook_messages_failed_total',
      help: 'Webhook messages that ended undelivered, by endpoint and reason (attempts_exhausted, blocked, gone)',
      labelNames: ['endpoint_id', 'reason'] as const,
      registers: [registry],
    }),
    attemptSeconds: new Histogram({
      name: 'relay_webhook_attempt_duration_seconds',
      help: 'Duration of one delivery attempt, by endpoint and result (delivered, failed, gone)',
      labelNames: ['endpoint_id', 'result'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers: [registry],
    }),
    retryDepth: new Histogram({
      name: 'relay_webhook_attempt_number',
      help: 'Number of each attempt within its message (1 = first try): how deep into the retries deliveries run',
      labelNames: ['result'] as const,
      buckets: [1, 2, 3, 5, 8, 12, 15, 20, 30, 50],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'relay_webhook_breaker_state',
      help: 'Circuit breaker of each endpoint: 0 closed, 1 half-open, 2 open (read from Redis at scrape)',
      labelNames: ['endpoint_id'] as const,
      registers: [registry],
      async collect() {
        if (!breakerStates) return;
        try {
          for (const [endpoint_id, state] of Object.entries(await breakerStates())) {
            this.set({ endpoint_id }, BREAKER_VALUE[state]);
          }
        } catch {
          // Redis away: keep the last values rather than failing the scrape.
        }
      },
    }),
  };
}

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;
