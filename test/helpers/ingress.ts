import { randomBytes } from 'node:crypto';
import { type IngressConfig, jobIdFor, loadIngressConfig, relayKeys } from '@runway-relay/contracts';
import { createIngress, expectedProviderSignature } from '@runway-relay/ingress';
import { closeQuietly, type RedisClient } from '@runway-relay/runtime';
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
  /** The public listener on 127.0.0.1 (`url` is its base, e.g. `http://127.0.0.1:40123`). */
  port: number;
  url: string;
  /** The ops listener on 127.0.0.1. */
  opsPort: number;
  close(): Promise<void>;
}

/** A random queue prefix, so tests sharing one Redis never see each other's keys. */
export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/**
 * Ingress env for tests: `redisUrl` with a fresh prefix, the test HMAC key, silent logs, both
 * listeners on 127.0.0.1 ephemeral ports; `env` overrides.
 */
export function testIngressEnv(redisUrl: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: uniquePrefix(),
    CALLBACK_HMAC_KEYS: TEST_HMAC_KEY,
    LOG_LEVEL: 'silent',
    // The testkit Redis runs without AOF: the start check would refuse it otherwise.
    REDIS_ALLOW_VOLATILE: 'true',
    INGRESS_HOST: '127.0.0.1',
    INGRESS_PORT: '0',
    INGRESS_OPS_HOST: '127.0.0.1',
    INGRESS_OPS_PORT: '0',
    ...env,
  };
}

/**
 * Builds and starts an ingress (`createIngress`, as `main.ts` does) on {@link testIngressEnv}
 * (`REDIS_CLUSTER_NODES` plus a hash-tagged `QUEUE_PREFIX` in `env` run it on a cluster).
 */
export async function buildTestIngress(
  redisUrl: string,
  env: Record<string, string> = {},
  options: { logDestination?: NodeJS.WritableStream } = {},
): Promise<TestIngress> {
  const config = loadIngressConfig(testIngressEnv(redisUrl, env));
  const ingress = createIngress(config, options.logDestination ? { logDestination: options.logDestination } : {});
  let addresses: Awaited<ReturnType<typeof ingress.start>>;
  try {
    addresses = await ingress.start();
  } catch (error) {
    await ingress.close();
    throw error;
  }
  const inspect = connectInspect(config);
  return {
    app: ingress.app,
    ops: ingress.ops,
    config,
    queue: ingress.queue,
    redis: ingress.redis,
    inspect,
    keys: relayKeys(config.QUEUE_PREFIX, config.QUEUE_NAME),
    port: addresses.port,
    url: `http://127.0.0.1:${addresses.port}`,
    opsPort: addresses.opsPort,
    close: async () => {
      await ingress.close();
      await closeQuietly([inspect]);
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

/** The task id a callback body names: `data.task_id`, or the top-level `taskId` of some variants. */
export function taskIdOf(body: unknown): string {
  const record = body as { data?: { task_id?: string } | null; taskId?: string };
  return record.data?.task_id ?? record.taskId ?? '';
}

/** POSTs `body` to `ingress`'s callback path, signed by the provider's scheme for the task it names, at `timestampS` (default: now). */
export function postSigned(ingress: { app: FastifyInstance }, body: unknown, timestampS?: number) {
  return ingress.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: providerHeaders(taskIdOf(body), undefined, timestampS),
    payload: JSON.stringify(body),
  });
}

/** A success callback body for `taskId` naming these media URLs (an empty `imageUrl`: no cover). */
export function successWithMedia(taskId: string, videoUrl: string, imageUrl: string) {
  return {
    code: 200,
    msg: 'All generated successfully.',
    data: { task_id: taskId, video_id: `v-${taskId}`, video_url: videoUrl, image_url: imageUrl },
  };
}

/** A success callback body for `taskId`, its media under `base`. */
export function successBody(taskId: string, base = 'https://cdn.example.com') {
  return successWithMedia(taskId, `${base}/k/${taskId}.mp4?sig=secret`, `${base}/m/${taskId}.png?sig=secret`);
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
