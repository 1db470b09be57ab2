import { hostname } from 'node:os';
import type { TaskRegistry } from '@runway-relay/admission';
import { eventsStreamFor, type WorkerConfig } from '@runway-relay/contracts';
import {
  assertEnvEndpointAllowed,
  createDeliveryRunner,
  DELIVERY_GROUP,
  type DeliveryCore,
  type DeliveryMetrics,
  EndpointUrlError,
  type MetadataFor,
  type Presign,
  runFanOutConsumer,
} from '@runway-relay/delivery';
import { closeQuietly, createRedis, type Logger, type RedisClient, StartRefusedError } from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import type { Worker } from 'bullmq';
import type { Registry } from 'prom-client';

export interface DeliveryRuntimeDeps {
  logger: Logger;
  /** The worker's `worker`-role connection (BullMQ duplicates it for its blocking calls). */
  redis: RedisClient;
  store: ObjectStore;
  /** The worker's registry: the delivery metrics are scraped with the others. */
  registry: Registry;
  /** The tasks registered through the admin API: their metadata goes back to the application. */
  tasks?: Pick<TaskRegistry, 'get'>;
}

export interface DeliveryRuntime {
  readonly core: DeliveryCore;
  readonly worker: Worker;
  readonly metrics: DeliveryMetrics;
  /** Stops the fan-out, then lets running attempts finish, then closes the queue, agent and connection. */
  close(): Promise<void>;
}

/**
 * Refuses a `DELIVERY_URL` the creation-time URL policy refuses (a private address without
 * DELIVERY_ALLOW_PRIVATE, a name that does not resolve): a configuration error, exit 78.
 */
export async function assertDeliveryConfigAllowed(config: WorkerConfig): Promise<void> {
  try {
    await assertEnvEndpointAllowed(config);
  } catch (error) {
    if (error instanceof EndpointUrlError) throw new StartRefusedError(`DELIVERY_URL refused: ${error.reason}`);
    throw error;
  }
}

/**
 * `presign(bucket, key, ttl)` of the delivery payload over the object store's `presign(key, ttl)`,
 * which signs for its own bucket: every `media.stored` event names that bucket, so another one is
 * an error (the attempt is retried and logged, never signed for the wrong bucket).
 */
export function presignFor(store: ObjectStore, bucket: string): Presign {
  return async (wanted, key, ttlSeconds) => {
    if (wanted !== bucket) throw new Error(`cannot presign bucket ${wanted}: this worker stores into ${bucket}`);
    return store.presign(key, ttlSeconds);
  };
}

/**
 * The metadata an application registered with a task (`POST /api/tasks`, `POST /api/generate`),
 * read from the task registry at each attempt; null for a task that was never registered.
 */
export function metadataFrom(tasks: Pick<TaskRegistry, 'get'> | undefined): MetadataFor {
  return async (taskId) => (tasks ? ((await tasks.get(taskId))?.metadata ?? null) : null);
}

/**
 * Removes this process's consumer from the group on a clean stop, so restarts do not pile up
 * names; only when it holds no pending entry (DELCONSUMER would drop them: a consumer that died
 * with entries keeps them until another one claims them).
 */
async function forgetConsumer(redis: RedisClient, stream: string, consumer: string, logger: Logger): Promise<void> {
  try {
    const pending = (await redis.xpending(stream, DELIVERY_GROUP, '-', '+', 1, consumer)) as unknown[];
    if (pending.length === 0) await redis.xgroup('DELCONSUMER', stream, DELIVERY_GROUP, consumer);
  } catch (error) {
    logger.warn({ err: error, consumer }, 'could not remove the fan-out consumer from its group');
  }
}

/**
 * Starts webhook delivery in this worker process (docs/delivery.md §8): the fan-out consumer of
 * the events stream on a connection of its own (XREADGROUP BLOCK holds it; consumer name
 * host:pid) and the `deliveries` BullMQ worker running the processor. Always started: with no
 * endpoint the fan-out acks each event after one endpoint lookup and the worker idles.
 */
export function startDelivery(config: WorkerConfig, deps: DeliveryRuntimeDeps): DeliveryRuntime {
  const logger = deps.logger.child({ component: 'delivery' });
  const runner = createDeliveryRunner({
    connection: deps.redis,
    config,
    logger,
    registry: deps.registry,
    metadataFor: metadataFrom(deps.tasks),
    presign: presignFor(deps.store, config.S3_BUCKET),
    // A process killed mid-attempt is noticed as fast as one killed mid-download.
    stall: {
      maxStalledCount: config.WORKER_MAX_STALLED,
      lockDurationMs: config.WORKER_LOCK_MS,
      stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
    },
  });
  const { core, worker, metrics } = runner;
  const consumerRedis = createRedis({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    role: 'worker',
    logger,
    name: 'delivery-fan-out',
  });
  const stopFanOut = new AbortController();
  const consumer = `${hostname()}:${process.pid}`;
  const stream = eventsStreamFor(config);
  const fanOut = runFanOutConsumer({
    redis: consumerRedis,
    stream,
    fanOut: core.fanOut,
    consumer,
    claimIdleMs: config.DELIVERY_CLAIM_IDLE_MS,
    signal: stopFanOut.signal,
    logger,
  }).catch((error: unknown) => logger.error({ err: error }, 'fan-out consumer stopped'));
  logger.info({ consumer, concurrency: config.DELIVERY_CONCURRENCY }, 'webhook delivery started');

  let closing: Promise<void> | undefined;
  return {
    core,
    worker,
    metrics,
    close: () => {
      closing ??= (async () => {
        // No new messages first; then the running attempts end (their jobs stay in Redis).
        stopFanOut.abort(new Error('delivery closing'));
        await fanOut;
        await forgetConsumer(consumerRedis, stream, consumer, logger);
        await runner.close();
        await closeQuietly([consumerRedis]);
      })();
      return closing;
    },
  };
}
