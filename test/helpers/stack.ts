import { randomUUID } from 'node:crypto';
import { parseTaskState, type RelayEvent, type TaskState } from '@runway-relay/contracts';
import { type MediaServer, type MediaServerOptions, startMediaServer } from '@runway-relay/simulator';
import {
  type RedisServerHarness,
  type S3Harness,
  startRedisServer,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import { buildTestIngress, postSigned, successWithMedia, type TestIngress, uniquePrefix } from './ingress.js';
import { readEvents, startTestWorker, type TestWorker } from './worker.js';

/** Real Redis, a real S3 server and the provider simulator, shared by one test file. */
export interface Backing {
  redis: RedisServerHarness;
  s3: S3Harness;
  media: MediaServer;
  dispose(): Promise<void>;
}

/** What a file may set of its backing: the simulator's options (its API key, the provider's timings, …). */
export interface BackingOptions {
  media?: MediaServerOptions;
}

export async function startBacking(options: BackingOptions = {}): Promise<Backing> {
  const [redis, s3, media] = await Promise.all([
    startRedisServer(),
    startS3Server({ buckets: [] }),
    startMediaServer(options.media),
  ]);
  return {
    redis,
    s3,
    media,
    dispose: async () => {
      await media.close();
      await s3.stop();
      await redis.dispose();
    },
  };
}

/** An ingress and an in-process worker sharing a fresh queue prefix, stream and object prefix. */
export interface Stack {
  ingress: TestIngress;
  worker: TestWorker;
  /** The queue prefix both share. */
  prefix: string;
  stream: string;
  /** Posts `body` signed by the provider's scheme, at `timestampS` (default: now). */
  deliver(body: unknown, timestampS?: number): Promise<{ status: number; body: { status?: string } }>;
  events(): Promise<RelayEvent[]>;
  waitForEvents(count: number, timeoutMs?: number): Promise<RelayEvent[]>;
  task(taskId: string): Promise<TaskState | null>;
  /**
   * The task record once its status is `status`. A record turns `stored` or `failed` a moment
   * after its outcome event is written (docs/architecture.md §7): read it after an event with this.
   */
  taskWhen(taskId: string, status: TaskState['status']): Promise<TaskState>;
  close(): Promise<void>;
}

/** What a stack needs of its backing: a Redis URL (ignored when `env` names cluster nodes), S3 and media. */
export type StackBacking = Pick<Backing, 's3' | 'media'> & { redis: { url: string } };

/**
 * Starts an ingress and a worker on `backing`. `env` reaches both configs, so
 * `REDIS_CLUSTER_NODES` with a hash-tagged `QUEUE_PREFIX` runs the stack on a Redis Cluster.
 */
export async function startStack(
  backing: StackBacking,
  env: Record<string, string> = {},
  options: { loopbackIsPublic?: boolean; workerLogDestination?: NodeJS.WritableStream } = {},
): Promise<Stack> {
  const prefix = env.QUEUE_PREFIX ?? uniquePrefix();
  const stream = `${prefix}:events`;
  const policy = { JOB_ATTEMPTS: '4', JOB_BACKOFF_MS: '50', QUEUE_PREFIX: prefix, EVENTS_STREAM: stream, ...env };
  const ingress = await buildTestIngress(backing.redis.url, policy);
  const worker = await startTestWorker(
    backing.redis.url,
    backing.s3,
    { S3_PREFIX: objectPrefix(prefix), ...policy },
    {
      ...(options.loopbackIsPublic ? { loopbackIsPublic: true } : {}),
      ...(options.workerLogDestination ? { logDestination: options.workerLogDestination } : {}),
    },
  );
  const events = () => readEvents(ingress.config, stream);
  const task = async (taskId: string) => parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
  return {
    ingress,
    worker,
    prefix,
    stream,
    deliver: async (body, timestampS) => {
      const res = await postSigned(ingress, body, timestampS);
      return { status: res.statusCode, body: res.json() };
    },
    events,
    waitForEvents: (count, timeoutMs = 20_000) =>
      waitFor(
        async () => {
          const list = await events();
          return list.length >= count ? list : null;
        },
        { timeoutMs, description: `${count} events` },
      ),
    task,
    taskWhen: (taskId, status) =>
      waitFor(
        async () => {
          const state = await task(taskId);
          return state?.status === status ? state : null;
        },
        { description: `task ${taskId} ${status}` },
      ),
    close: async () => {
      await worker.close();
      await ingress.close();
    },
  };
}

/** The object key prefix of a stack: its queue prefix without hash-tag braces (not allowed in S3_PREFIX). */
export const objectPrefix = (queuePrefix: string) => queuePrefix.replace(/[{}]/g, '');

/** A fresh task id. */
export const newTaskId = () => `t-${randomUUID()}`;

/** A success callback whose media are served by the simulator. */
export function simulatedSuccess(
  media: MediaServer,
  taskId: string,
  video: Parameters<MediaServer['url']>[2] = { size: 300_000 },
  cover: Parameters<MediaServer['url']>[2] | null = { size: 20_000 },
) {
  return successWithMedia(
    taskId,
    media.url(taskId, 'video', video),
    cover === null ? '' : media.url(taskId, 'cover', cover),
  );
}
