import type { Logger, RedisClient } from '@runway-relay/runtime';
import { type Job, Queue, Worker } from 'bullmq';
import { DELIVERY_BACKOFF, deliveryBackoffDelay } from './backoff.js';
import { DELIVERY_QUEUE } from './keys.js';
import type { DeliveryResult } from './processor.js';

/** The `deliveries` queue, for fan-out and replay to add jobs to. */
export function createDeliveryQueue(options: { connection: RedisClient; prefix: string }): Queue {
  return new Queue(DELIVERY_QUEUE, { connection: options.connection, prefix: options.prefix });
}

/**
 * The BullMQ worker of the `deliveries` queue, running in the worker processes beside the
 * callbacks worker (docs/delivery.md). Its backoff strategy is the delivery one: full jitter,
 * never sooner than the endpoint's `Retry-After`.
 */
export function createDeliveryWorker(options: {
  /** A `maxRetriesPerRequest: null` connection. */
  connection: RedisClient;
  prefix: string;
  /** DELIVERY_CONCURRENCY. */
  concurrency: number;
  /** DELIVERY_BACKOFF_MS, for jobs whose own backoff option lacks a delay. */
  backoffBaseMs: number;
  processor: (job: Job, token?: string) => Promise<DeliveryResult>;
  logger: Logger;
  /** Times a job may lose its process mid-attempt before BullMQ fails it (WORKER_MAX_STALLED fits). Default 3. */
  maxStalledCount?: number;
  /** Lock of a running attempt, renewed while it runs (WORKER_LOCK_MS fits); BullMQ's default otherwise. */
  lockDurationMs?: number;
  /** How often stalled attempts (their process died) are looked for (WORKER_STALLED_INTERVAL_MS fits). */
  stalledIntervalMs?: number;
  autorun?: boolean;
}): Worker {
  const { logger } = options;
  const worker = new Worker(DELIVERY_QUEUE, options.processor, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    maxStalledCount: options.maxStalledCount ?? 3,
    ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
    ...(options.stalledIntervalMs === undefined ? {} : { stalledInterval: options.stalledIntervalMs }),
    autorun: options.autorun ?? true,
    settings: {
      backoffStrategy: (attemptsMade, type, error, job) => {
        if (type !== DELIVERY_BACKOFF) logger.warn({ type }, 'unknown backoff type, using the delivery backoff');
        const backoff = job?.opts.backoff;
        const base = typeof backoff === 'number' ? backoff : (backoff?.delay ?? options.backoffBaseMs);
        const retryAfterMs = (error as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0;
        return deliveryBackoffDelay(attemptsMade, base, retryAfterMs);
      },
    },
  });
  worker.on('error', (error) => logger.error({ err: error }, 'delivery worker error'));
  return worker;
}
