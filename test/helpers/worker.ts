import { loadWorkerConfig, type RelayEvent, type WorkerConfig } from '@runway-relay/contracts';
import { parseStreamEntry } from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import {
  createSafeAgent,
  createWorker,
  isForbiddenAddress,
  safeAgentOptionsFromConfig,
  type WorkerMetrics,
} from '@runway-relay/worker';
import type { Worker } from 'bullmq';
import type { Agent } from 'undici';
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
  metrics: WorkerMetrics;
  /** The ops listener on 127.0.0.1 (`/healthz`, `/readyz`, `/metrics`). */
  opsPort: number;
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
    WORKER_METRICS_HOST: '127.0.0.1',
    WORKER_METRICS_PORT: '0',
    // The testkit Redis runs without AOF; tests of the safety check pass 'false'.
    REDIS_ALLOW_VOLATILE: 'true',
    ...env,
  };
}

/**
 * An agent that treats 127.0.0.1 (where the simulator listens) as public while every other
 * private address (169.254.169.254, 10/8, …) stays refused at connect time.
 */
function loopbackIsPublicAgent(config: WorkerConfig): Agent {
  return createSafeAgent({
    ...safeAgentOptionsFromConfig(config),
    allowPrivate: false,
    isForbidden: (ip: string) => ip !== '127.0.0.1' && isForbiddenAddress(ip),
  });
}

/** Builds and starts a worker in this process through `createWorker`, the root `main.ts` uses. */
export async function startTestWorker(
  redisUrl: string,
  s3: S3Endpoint,
  env: Record<string, string> = {},
  options: { loopbackIsPublic?: boolean; logDestination?: NodeJS.WritableStream } = {},
): Promise<TestWorker> {
  const config = loadWorkerConfig(testWorkerEnv(redisUrl, s3, env));
  const agent = options.loopbackIsPublic ? loopbackIsPublicAgent(config) : undefined;
  const service = createWorker(config, {
    ...(agent ? { dispatcher: agent } : {}),
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
  });
  const close = async () => {
    await service.close();
    await agent?.close().catch(() => undefined);
  };
  let opsPort: number;
  try {
    ({ opsPort } = await service.start());
  } catch (error) {
    await close();
    throw error;
  }
  return { worker: service.worker, config, store: service.store, metrics: service.metrics, opsPort, close };
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
