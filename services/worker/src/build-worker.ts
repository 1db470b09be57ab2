import { createTaskRegistry, type TaskRegistry } from '@runway-relay/admission';
import {
  eventsStreamFor,
  providerVerifyOn,
  registryTtlSeconds,
  relayKeys,
  type WorkerConfig,
} from '@runway-relay/contracts';
import type { ProviderAccess } from '@runway-relay/provider-client';
import type { Logger, RedisClient } from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import type { Worker } from 'bullmq';
import type { Dispatcher } from 'undici';
import { downloadOptionsFromConfig } from './download/index.js';
import { startMemoryRelief } from './memory-relief.js';
import type { WorkerMetrics } from './metrics.js';
import { createFailedListener, createProcessor, type ProcessorDeps } from './process-job.js';
import { createCallbackVerifier, createVerificationMetrics } from './provider/callback-verifier.js';
import { createStoreReadiness } from './storage/store-readiness.js';
import { createTaskStore, type TaskStore } from './task-store.js';
import { createCallbackWorker } from './worker.js';

export interface BuildWorkerOptions {
  config: WorkerConfig;
  logger: Logger;
  /** A `worker`-role connection. */
  redis: RedisClient;
  store: ObjectStore;
  /** The download agent (see `createSafeAgent`). */
  agent: Dispatcher;
  metrics: WorkerMetrics;
  /** The provider's API (null without a key); callbacks are verified against it when `PROVIDER_VERIFY` is on. */
  provider?: ProviderAccess | null;
  /** The reconciler's registry (labels on events, `markTerminal` when a task ends, a task's model). */
  registry?: TaskRegistry;
  /** The task store; one is made from config otherwise. */
  tasks?: TaskStore;
}

/** The verifier of callbacks, when `PROVIDER_VERIFY` is on (docs/security.md, "Verified callbacks"). */
function verifierOf(options: BuildWorkerOptions, deps: Omit<ProcessorDeps, 'verifier'>) {
  const { config, provider } = options;
  if (!provider || !providerVerifyOn(config)) return undefined;
  const keys = relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME);
  const ttlSeconds = config.TASK_TTL_DAYS * 86_400;
  // A task registered for the reconciler names its model; any other is asked as a Runway task.
  const registry =
    options.registry ??
    createTaskRegistry({
      redis: deps.redis,
      keys,
      afterS: config.RECONCILE_AFTER_S,
      ttlSeconds: registryTtlSeconds(config),
    });
  return createCallbackVerifier({
    client: provider.client,
    modelOf: async (taskId) => (await registry.get(taskId))?.model ?? 'runway',
    redis: deps.redis,
    keys,
    ttlSeconds,
    events: deps.events,
    metrics: createVerificationMetrics(options.metrics.registry),
  });
}

/**
 * Wires the processor, its failure listener and the BullMQ worker from config and the
 * process's connections; `createWorker` (the composition root) calls it once `start()` has
 * found Redis and the bucket.
 */
export function buildWorker(options: BuildWorkerOptions): Worker {
  const { config, logger, redis } = options;
  const base: Omit<ProcessorDeps, 'verifier'> = {
    logger,
    tasks:
      options.tasks ??
      createTaskStore(redis, relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME), config.TASK_TTL_DAYS * 86_400),
    store: options.store,
    readiness: createStoreReadiness(() => options.store.ping()),
    objectPrefix: config.S3_PREFIX,
    download: downloadOptionsFromConfig(config, options.agent),
    redis,
    events: { stream: eventsStreamFor(config), maxlen: config.EVENTS_MAXLEN },
    metrics: options.metrics,
    ...(options.registry ? { registry: options.registry } : {}),
  };
  const verifier = verifierOf(options, base);
  const deps: ProcessorDeps = { ...base, ...(verifier ? { verifier } : {}) };
  const worker = createCallbackWorker({
    config,
    connection: redis,
    processor: createProcessor(deps),
    onFailed: createFailedListener(deps),
    logger,
  });
  const relief = startMemoryRelief({
    redis,
    queueName: config.QUEUE_NAME,
    prefix: config.QUEUE_PREFIX,
    headroom: config.REDIS_MEMORY_HEADROOM,
    intervalMs: config.REDIS_MEMORY_CHECK_MS,
    logger,
  });
  worker.once('closed', () => void relief.close());
  return worker;
}
