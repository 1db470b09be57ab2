import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState } from './breaker.js';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Jobs of the `deliveries` queue by state, e.g. `() => core.queue.getJobCounts(...DELIVERY_QUEUE_STATES)`. */
export type DeliveryQueueDepth = () => Promise<Record<string, number>>;

/** The states `relay_webhook_queue_jobs` is meant to show: the backlog (waiting, delayed) and what ran out. */
export const DELIVERY_QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed'] as const;

/**
 * Delivery metrics, registered on the caller's registry (the worker's). Labels carry endpoint
 * ids, which operators create: a bounded set. `queueDepth`, when given, is read at scrape for
 * `relay_webhook_queue_jobs` (the backlog alert of deploy/prometheus/alerts.yml reads it).
 */
export function createDeliveryMetrics(
  registry: Registry,
  breakerStates?: () => Promise<Record<string, BreakerState>>,
  queueDepth?: DeliveryQueueDepth,
) {
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
    breakerState: scrapedGauge(
      registry,
      'relay_webhook_breaker_state',
      'Circuit breaker of each endpoint: 0 closed, 1 half-open, 2 open (read from Redis at scrape)',
      'endpoint_id',
      breakerStates &&
        (async () =>
          Object.fromEntries(Object.entries(await breakerStates()).map(([id, state]) => [id, BREAKER_VALUE[state]]))),
    ),
    queueJobs: scrapedGauge(
      registry,
      'relay_webhook_queue_jobs',
      'Jobs in the deliveries queue by state (delayed includes retries waiting out their backoff and open breakers)',
      'state',
      queueDepth,
    ),
  };
}

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;

/**
 * A gauge of one label whose values are read at scrape time (from Redis) by `read`, label value →
 * number. Without `read` it stays empty; when the read fails (Redis away) it keeps the last
 * values rather than failing the scrape.
 */
function scrapedGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  label: L,
  read: (() => Promise<Record<string, number>>) | undefined,
): Gauge<L> {
  return new Gauge({
    name,
    help,
    labelNames: [label] as const,
    registers: [registry],
    async collect() {
      if (!read) return;
      try {
        for (const [value, count] of Object.entries(await read())) {
          this.set({ [label]: value } as Partial<Record<L, string>>, count);
        }
      } catch {
        // Redis away: keep the last values rather than failing the scrape.
      }
    },
  });
}
