import type { Logger, RedisClient } from '@runway-relay/runtime';
import type { Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import { readBreakerStates } from './breaker.js';
import { createDeliveryAgent } from './delivery-agent.js';
import { createDeliveryCore, type DeliveryCore, type DeliverySettings } from './delivery-core.js';
import { createDeliveryWorker } from './delivery-worker.js';
import { createDeliveryMetrics, DELIVERY_QUEUE_STATES, type DeliveryMetrics } from './metrics.js';
import type { MetadataFor, Presign } from './payload.js';
import { createDeliveryProcessor } from './processor.js';

export interface DeliveryRunnerOptions {
  /** A `maxRetriesPerRequest: null` connection (BullMQ duplicates it for its blocking calls). */
  connection: RedisClient;
  config: DeliverySettings;
  logger: Logger;
  /** Where the delivery metrics are registered (a worker's: they are scraped with the others). */
  registry: Registry;
  /** The metadata an application registered with a task, read at each attempt. */
  metadataFor: MetadataFor;
  /** Presigned links of the stored objects a `media.stored` payload carries. */
  presign: Presign;
  /** How a killed process's attempt is noticed (the worker root passes its WORKER_* settings). */
  stall?: { maxStalledCount?: number; lockDurationMs?: number; stalledIntervalMs?: number };
  /**
   * Whether the connect-time guard lets private addresses through; DELIVERY_ALLOW_PRIVATE when
   * unset. A test of the connect-time check alone turns it off with the creation-time check on.
   */
  allowPrivateAtConnect?: boolean;
  /** Start taking jobs at once (default true). */
  autorun?: boolean;
}

/** The attempt side of delivery: its core, metrics and the BullMQ `deliveries` worker. */
export interface DeliveryRunner {
  readonly core: DeliveryCore;
  readonly worker: Worker;
  readonly metrics: DeliveryMetrics;
  /** Lets running attempts finish, then closes the queue and the agent (not the connection, the caller's). */
  close(): Promise<void>;
}

/**
 * Wires the attempt side of delivery once (docs/delivery.md §8): the core on `connection`, the
 * guarded agent, the metrics, the processor (gate, breaker, Standard Webhooks signing, presigned
 * links, attempt log) and the `deliveries` worker running it. The worker root starts it beside
 * the fan-out consumer; the package's tests and the webhooks benchmark run this same wiring.
 */
export function createDeliveryRunner(options: DeliveryRunnerOptions): DeliveryRunner {
  const { connection, config, logger } = options;
  const core = createDeliveryCore({ connection, config, logger });
  const agent = createDeliveryAgent({
    timeoutMs: config.DELIVERY_TIMEOUT_MS,
    allowPrivate: options.allowPrivateAtConnect ?? config.DELIVERY_ALLOW_PRIVATE,
  });
  const metrics = createDeliveryMetrics(
    options.registry,
    () => readBreakerStates(core.endpoints, core.breaker),
    () => core.queue.getJobCounts(...DELIVERY_QUEUE_STATES),
  );
  const processor = createDeliveryProcessor({
    endpoints: core.endpoints,
    log: core.log,
    breaker: core.breaker,
    gate: core.gate,
    dispatcher: agent,
    timeoutMs: config.DELIVERY_TIMEOUT_MS,
    metrics,
    logger,
    metadataFor: options.metadataFor,
    presign: options.presign,
    linkTtlS: config.DELIVERY_LINK_TTL_S,
  });
  const worker = createDeliveryWorker({
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.DELIVERY_CONCURRENCY,
    backoffBaseMs: config.DELIVERY_BACKOFF_MS,
    ...options.stall,
    processor,
    logger,
    autorun: options.autorun,
  });
  return {
    core,
    worker,
    metrics,
    close: async () => {
      await worker.close();
      await core.close().catch(() => undefined);
      await agent.close().catch(() => undefined);
    },
  };
}
