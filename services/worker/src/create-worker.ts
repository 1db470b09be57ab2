import { createTaskRegistry } from '@runway-relay/admission';
import {
  eventsStreamFor,
  providerVerifyOn,
  registryTtlSeconds,
  relayKeys,
  type WorkerConfig,
} from '@runway-relay/contracts';
import { createProviderAccess } from '@runway-relay/provider-client';
import {
  closeQuietly,
  createLogger,
  createRedis,
  createStartupProgress,
  type Logger,
  type RedisClient,
  redisConfigReadiness,
  redisSafetyAtStart,
  redisSafetyPolicyOf,
  retryUntil,
  type ServiceRoot,
  StartRefusedError,
} from '@runway-relay/runtime';
import { createMinioClient, createObjectStore, type ObjectStore } from '@runway-relay/storage';
import { Queue, type Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Dispatcher } from 'undici';
import { buildWorker } from './build-worker.js';
import { assertDeliveryConfigAllowed, type DeliveryRuntime, startDelivery } from './delivery/delivery-runtime.js';
import { createSafeAgent, safeAgentOptionsFromConfig } from './download/index.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { buildOpsServer } from './ops-server.js';
import { createReconcileLagGauge } from './reconcile/reconcile-lag.js';
import type { ReconcileScheduler } from './reconcile/reconcile-scheduler.js';
import { startReconciler } from './reconcile/start-reconciler.js';
import { startUploadSweeper, type UploadSweeper, uploadCleanupReporter } from './storage/upload-sweeper.js';
import { createTaskStore } from './task-store.js';

/** Test-only seams: production has no equivalent. */
export interface WorkerOverrides {
  /** Where log lines go (a test reads them back); stdout otherwise. */
  logDestination?: NodeJS.WritableStream;
  /**
   * The agent downloads go through instead of one built from `DOWNLOAD_*`: a test whose media
   * are served on 127.0.0.1 passes an agent that allows only that address. Not closed by
   * `close()`; its owner closes it.
   */
  dispatcher?: Dispatcher;
}

export interface WorkerAddresses {
  /** The bound ops port (`/healthz`, `/readyz`, `/metrics`); `WORKER_METRICS_PORT` 0 asks the kernel. */
  opsPort: number;
}

export interface WorkerService extends ServiceRoot {
  readonly config: WorkerConfig;
  readonly logger: Logger;
  /** The `worker`-role connection (BullMQ duplicates it for blocking calls). */
  readonly redis: RedisClient;
  /** The callbacks queue, read for the queue-depth metrics. */
  readonly queue: Queue;
  readonly store: ObjectStore;
  readonly metrics: WorkerMetrics;
  readonly ops: FastifyInstance;
  /** The BullMQ worker; throws before `start()` has resolved. */
  readonly worker: Worker;
  /** Webhook delivery (fan-out consumer + `deliveries` worker); throws before `start()` has resolved. */
  readonly delivery: DeliveryRuntime;
  /**
   * Listens on the ops port first (so `/readyz` can say what is missing), waits for Redis and
   * checks that it cannot drop jobs (a {@link StartRefusedError} otherwise), waits for the
   * bucket (creating it), then takes jobs and starts the upload sweeper.
   */
  start(): Promise<WorkerAddresses>;
}

/**
 * The worker's composition root (docs/architecture.md §8): builds the logger, the connection,
 * the queue, the metrics, the object store, the download agent and the ops server from
 * `config`. `main.ts` and the tests build the worker here, so the wiring exists once.
 */
export function createWorker(config: WorkerConfig, overrides: WorkerOverrides = {}): WorkerService {
  const logger = createLogger({
    service: 'worker',
    level: config.LOG_LEVEL,
    ...(overrides.logDestination ? { destination: overrides.logDestination } : {}),
  });
  if (config.DOWNLOAD_ALLOW_PRIVATE) {
    logger.warn('DOWNLOAD_ALLOW_PRIVATE=true: media may be fetched from private networks');
  }
  const redis = createRedis({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    role: 'worker',
    logger,
    name: 'worker',
  });
  const safetyPolicy = redisSafetyPolicyOf(config);
  const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  queue.on('error', (error) => logger.warn({ err: error }, 'queue error'));
  const metrics = createWorkerMetrics(() => queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'));
  const store = createObjectStore(createMinioClient(config), config, {
    cleanup: uploadCleanupReporter(logger, metrics),
  });
  const agent = overrides.dispatcher ?? createSafeAgent(safeAgentOptionsFromConfig(config));
  // The provider's API (docs/reconciliation.md): the registry of tasks to poll, and the client
  // (shared Redis limiter, metrics on this registry); no client without PROVIDER_API_KEY.
  const keys = relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME);
  const registry = createTaskRegistry({
    redis,
    keys,
    afterS: config.RECONCILE_AFTER_S,
    ttlSeconds: registryTtlSeconds(config),
  });
  const tasks = createTaskStore(redis, keys, config.TASK_TTL_DAYS * 86_400);
  const provider = createProviderAccess(config, redis, metrics.registry);
  // With a key the reconciler polls, so its lag is worth a metric.
  if (provider) createReconcileLagGauge(metrics.registry, redis, keys);
  const progress = createStartupProgress();
  const ops = buildOpsServer(
    metrics.registry,
    {
      redis: () => redis.ping(),
      redis_config: redisConfigReadiness(redis, safetyPolicy),
      storage: () => store.ping(),
    },
    progress.pending,
    { provider_verify: provider && providerVerifyOn(config) ? 'on' : 'off' },
  );
  const stopping = new AbortController();
  let worker: Worker | undefined;
  let sweeper: UploadSweeper | undefined;
  let reconciler: ReconcileScheduler | undefined;
  let delivery: DeliveryRuntime | undefined;

  const start = async (): Promise<WorkerAddresses> => {
    // A DELIVERY_URL the URL policy refuses is a configuration error (exit 78), before anything runs.
    await assertDeliveryConfigAllowed(config);
    await ops.listen({ host: config.WORKER_METRICS_HOST, port: config.WORKER_METRICS_PORT });
    const address = ops.server.address();
    const opsPort = typeof address === 'object' && address !== null ? address.port : config.WORKER_METRICS_PORT;
    progress.step('waiting for redis');
    // A Redis that may drop jobs (eviction, no persistence) loses accepted callbacks: refuse it.
    const safety = await redisSafetyAtStart(redis, safetyPolicy, logger, stopping.signal);
    if (!safety.ok) throw new StartRefusedError(safety.message);
    progress.step('waiting for the object store (bucket)');
    // The bucket must exist before the first job; /readyz names storage meanwhile.
    await retryUntil(() => store.ensureBucket(), {
      message: 'object store not ready, retrying',
      logger,
      signal: stopping.signal,
    });
    stopping.signal.throwIfAborted();
    worker = buildWorker({ config, logger, redis, store, agent, metrics, provider, registry, tasks });
    if (provider) {
      const events = { stream: eventsStreamFor(config), maxlen: config.EVENTS_MAXLEN };
      const deps = { config, logger, redis, keys, queue, client: provider.client, registry, tasks, events };
      reconciler = await startReconciler(deps);
      logger.info({ pass_s: config.RECONCILE_PASS_S, rps: config.PROVIDER_RPS }, 'reconciler started');
    } else {
      logger.info('PROVIDER_API_KEY unset: the reconciler does not run (lost callbacks are not recovered)');
    }
    delivery = startDelivery(config, { logger, redis, store, registry: metrics.registry, tasks: registry });
    // Incomplete uploads of workers killed mid-transfer (a failed transfer aborts its own).
    sweeper = startUploadSweeper({
      store,
      prefix: config.S3_PREFIX,
      staleMs: config.S3_STALE_UPLOAD_S * 1000,
      intervalMs: config.S3_SWEEP_INTERVAL_S * 1000,
      logger,
      metrics,
    });
    progress.done();
    logger.info(
      { queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY, bucket: config.S3_BUCKET, port: opsPort },
      'worker started',
    );
    return { opsPort };
  };

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping.abort(new Error('worker closing'));
      sweeper?.stop();
      await reconciler?.close();
      // Stop taking jobs and wait for the running ones (runService bounds this by SHUTDOWN_GRACE_MS).
      await Promise.all([worker?.close(), delivery?.close()]);
      await ops.close();
      await queue.close().catch(() => undefined);
      if (!overrides.dispatcher) await agent.close().catch(() => undefined);
      await closeQuietly([redis]);
    })();
    return closing;
  };

  return {
    config,
    logger,
    redis,
    queue,
    store,
    metrics,
    ops,
    get worker(): Worker {
      if (!worker) throw new Error('the worker is not started: await start() first');
      return worker;
    },
    get delivery(): DeliveryRuntime {
      if (!delivery) throw new Error('delivery is not started: await start() first');
      return delivery;
    },
    start,
    close,
  };
}
