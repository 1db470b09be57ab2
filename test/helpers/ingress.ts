import { randomBytes } from 'node:crypto';
import { type IngressConfig, jobIdFor, loadIngressConfig, relayKeys } from '@runway-relay/contracts';
import {
  buildIngressApp,
  buildIngressOpsApp,
  createCallbackQueue,
  createIngressMetrics,
  expectedProviderSignature,
} from '@runway-relay/ingress';
import { closeQuietly, createLogger, createRedis, type RedisClient, waitForRedis } from '@runway-relay/runtime';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { connectInspect } from './redis.js';

export const TEST_HMAC_KEY = 'test-key-0123456789abcdef';

export interface TestIngress {
  app: FastifyInstance;
  /** The internal listener's app: `/healthz`, `/readyz`, `/metrics` (same metrics as `app`). */
  ops: FastifyInstance;
  config: IngressConfig;
  queue: Queue;
  /** The app's producer connection (a `Cluster` when `REDIS_CLUSTER_NODES` is set). */
  redis: RedisClient;
  /** A separate connection for assertions. */
  inspect: RedisClient;
  keys: ReturnType<typeof relayKeys>;
  close(): Promise<void>;
}

/** A random queue prefix, so tests sharing one Redis never see each other's keys. */
export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/**
 * Builds an ingress app against `redisUrl` with a fresh prefix; `env` overrides defaults
 * (`REDIS_CLUSTER_NODES` plus a hash-tagged `QUEUE_PREFIX` run it on a cluster).
 */
export async function buildTestIngress(
  redisUrl: string,
  env: Record<string, string> = {},
  options: { logDestination?: NodeJS.WritableStream } = {},
): Promise<TestIngress> {
  const config = loadIngressConfig({
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: uniquePrefix(),
    CALLBACK_HMAC_KEYS: TEST_HMAC_KEY,
    LOG_LEVEL: 'silent',
    // The testkit Redis runs without AOF: /readyz would report redis_config otherwise.
    REDIS_ALLOW_VOLATILE: 'true',
    ...env,
  });
  const logger = createLogger({
    service: 'ingress-test',
    level: config.LOG_LEVEL,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const redis = createRedis({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    role: 'producer',
    logger,
    name: 'ingress-test',
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  await waitForRedis(redis);
  const queue = createCallbackQueue(config, redis);
  queue.on('error', () => undefined);
  const metrics = createIngressMetrics();
  const app = buildIngressApp({ config, logger, redis, queue, metrics });
  const ops = buildIngressOpsApp({ config, metrics, redis });
  await Promise.all([app.ready(), ops.ready()]);
  const inspect = connectInspect(config);
  return {
    app,
    ops,
    config,
    queue,
    redis,
    inspect,
    keys: relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME),
    close: async () => {
      await Promise.all([app.close(), ops.close()]);
      await queue.close().catch(() => undefined);
      await closeQuietly([redis, inspect]);
    },
  };
}

/** Headers of the provider's signature scheme for `taskId` at `nowS`. */
export function providerHeaders(taskId: string, key = TEST_HMAC_KEY, nowS = Math.floor(Date.now() / 1000)) {
  const timestamp = String(nowS);
  return {
    'content-type': 'application/json',
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': expectedProviderSignature(key, taskId, timestamp),
  };
}

/** A success callback body for `taskId`. */
export function successBody(taskId: string, base = 'https://cdn.example.com') {
  return {
    code: 200,
    msg: 'All generated successfully.',
    data: {
      task_id: taskId,
      video_id: `v-${taskId}`,
      video_url: `${base}/k/${taskId}.mp4?sig=secret`,
      image_url: `${base}/m/${taskId}.png?sig=secret`,
    },
  };
}

/** A failure callback body for `taskId`. */
export function failureBody(taskId: string, msg = 'Your prompt was caught by our AI moderator.', code = 400) {
  return { code, msg, data: { task_id: taskId, video_id: '', video_url: '', image_url: '' } };
}

/** Ids of all jobs currently in the queue, whatever their state. */
export async function jobIds(queue: Queue): Promise<string[]> {
  const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
  return jobs.map((job) => job.id ?? '').sort();
}

export { jobIdFor };
