import { loadWorkerConfig, type RelayEvent, type WorkerConfig } from '@runway-relay/contracts';
import { closeQuietly, createLogger, createRedis, parseStreamEntry } from '@runway-relay/runtime';
import {
  buildWorker,
  createMinioClient,
  createObjectStore,
  createSafeAgent,
  createWorkerMetrics,
  isForbiddenAddress,
  type ObjectStore,
  safeAgentOptionsFromConfig,
  uploadCleanupReporter,
  type WorkerMetrics,
} from '@runway-relay/worker';
import type { Worker } from 'bullmq';
import type * as Minio from 'minio';
import { connectInspect, type RedisTargetLike } from './redis.js';

export interface S3Endpoint {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

export interface TestWorker {
  worker: Worker;
  config: WorkerConfig;
  store: ObjectStore;
  client: Minio.Client;
  metrics: WorkerMetrics;
  close(): Promise<void>;
}

/** Worker env for tests: fast retries, local simulator allowed (it listens on 127.0.0.1 over http). */
export function testWorkerEnv(redisUrl: string, s3: S3Endpoint, env: Record<string, string>): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_REGION: s3.region,
    S3_BUCKET: 'runway-media',
    DOWNLOAD_ALLOW_PRIVATE: 'true',
    DOWNLOAD_ALLOW_HTTP: 'true',
    JOB_BACKOFF_MS: '50',
    LOG_LEVEL: 'silent',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    // The testkit Redis runs without AOF; tests of the safety check pass 'false'.
    REDIS_ALLOW_VOLATILE: 'true',
    ...env,
  };
}

/** Runs a callbacks worker in this process, with the same wiring as services/worker/src/main.ts. */
export async function startTestWorker(
  redisUrl: string,
  s3: S3Endpoint,
  env: Record<string, string> = {},
  options: { loopbackIsPublic?: boolean; logDestination?: NodeJS.WritableStream } = {},
): Promise<TestWorker> {
  const config = loadWorkerConfig(testWorkerEnv(redisUrl, s3, env));
  const logger = createLogger({
    service: 'worker-test',
    level: config.LOG_LEVEL,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const redis = createRedis({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    role: 'worker',
    logger,
    name: 'worker-test',
  });
  const metrics = createWorkerMetrics();
  const client = createMinioClient(config);
  const store = createObjectStore(client, config, { cleanup: uploadCleanupReporter(logger, metrics) });
  await store.ensureBucket();
  const agent = createSafeAgent({
    ...safeAgentOptionsFromConfig(config),
    // The simulator listens on 127.0.0.1: with `loopbackIsPublic` that address counts as public
    // while every other private address (169.254.169.254, 10/8, …) stays refused at connect time.
    ...(options.loopbackIsPublic
      ? { allowPrivate: false, isForbidden: (ip: string) => ip !== '127.0.0.1' && isForbiddenAddress(ip) }
      : {}),
  });

  const worker = buildWorker({ config, logger, redis, store, agent, metrics });

  return {
    worker,
    config,
    store,
    client,
    metrics,
    close: async () => {
      await worker.close();
      await agent.close().catch(() => undefined);
      await closeQuietly([redis]);
    },
  };
}

/** Every event on `stream`, parsed with the shared schema. */
export async function readEvents(target: RedisTargetLike, stream: string): Promise<RelayEvent[]> {
  const redis = connectInspect(target);
  try {
    const entries = await redis.xrange(stream, '-', '+');
    return entries.map(([, fields]) => parseStreamEntry(fields));
  } finally {
    redis.disconnect();
  }
}
