import { z } from 'zod';
import { DEFAULT_QUEUE_NAME } from '../job.schema.js';
import { envBoolean, envInt, envList } from './env.js';

/** One Redis Cluster seed node. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

const HOST_PORT = /^(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?<port>\d{1,5})$/;

/** `host:port` (IPv6 in brackets: `[::1]:7000`) → `{ host, port }`. */
const redisNode = z.string().transform((value, ctx): RedisNodeAddress => {
  const match = HOST_PORT.exec(value);
  const port = Number(match?.groups?.port);
  if (!match?.groups?.host || !Number.isInteger(port) || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not host:port` });
    return z.NEVER;
  }
  return { host: match.groups.host.replace(/^\[|\]$/g, ''), port };
});

/**
 * The hash tag of a key as Redis Cluster reads it: the text between the first `{` and the
 * first `}` after it, when not empty; otherwise the whole key is hashed (no tag).
 */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return null;
  return key.slice(open + 1, close);
}

/** Variables every service reads. */
export const CommonEnvSchema = z.object({
  /**
   * Redis connection URL. With `REDIS_CLUSTER_NODES` set, only its credentials and scheme
   * (`rediss://` = TLS) are used; its host and database are ignored.
   */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /**
   * Redis Cluster seed nodes, comma-separated `host:port` (a few are enough: the client
   * discovers the rest). Unset: a single Redis at `REDIS_URL`.
   */
  REDIS_CLUSTER_NODES: envList.pipe(z.array(redisNode)),
  /**
   * BullMQ key prefix; every relay key starts with it. On Redis Cluster it must carry a hash
   * tag such as `{runway}`, so that all keys share one slot and multi-key scripts stay legal.
   */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_-]+$/, 'letters, digits, _ - { } only')
    .default('bull'),
  /** Name of the callbacks queue. */
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default(DEFAULT_QUEUE_NAME),
  /** Days a task's state record is kept in Redis (docs/architecture.md §4: at least 30). */
  TASK_TTL_DAYS: envInt(30, 30, 3650),
  /**
   * Start (with a loud warning) on a Redis that may lose ACKed callbacks: a `maxmemory-policy`
   * other than `noeviction`, or no AOF and no `REDIS_WAIT_REPLICAS`. Development and tests only;
   * without it the ingress and worker exit 78 naming the setting. Default false.
   */
  REDIS_ALLOW_VOLATILE: envBoolean(false),
  /**
   * For a managed Redis that refuses both `CONFIG GET` and `INFO`: the operator vouches that it
   * is `noeviction` with persistence. Only settings that cannot be read are assumed; one read
   * and found bad still refuses the start. Default false.
   */
  REDIS_ASSUME_SAFE: envBoolean(false),
  /**
   * Fraction of Redis `maxmemory` kept free for the workers. Above it the ingress answers
   * callbacks 503 `redis_memory_full` (with Retry-After) and the workers trim completed-job
   * history and BullMQ's event stream, so jobs can always finish and memory comes back.
   * Default 0.8; inactive when `maxmemory` is 0.
   */
  REDIS_MEMORY_HEADROOM: z.coerce.number().gt(0).lte(1).default(0.8),
  /** ms between `INFO memory` samples for the headroom (never per request). Default 1000. */
  REDIS_MEMORY_CHECK_MS: envInt(1000, 50, 60_000),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  /**
   * Drain and exit, as on SIGTERM, when stdin reaches its end: set by a supervisor that holds
   * the only write end of a pipe on the service's stdin (`npm run dev`), so the service stops
   * when that supervisor dies, even by SIGKILL. Ignored, with a warning, when stdin is no pipe.
   * Default false.
   */
  STOP_ON_STDIN_EOF: envBoolean(false),
  /**
   * Redis Stream of the relay's events. Unset: `runway:events`, or `{tag}:events` when
   * `QUEUE_PREFIX` carries a hash tag, so that on a Redis Cluster the stream shares the slot
   * of the task records (see {@link eventsStreamFor}).
   */
  EVENTS_STREAM: z.string().min(1).max(256).optional(),
  /** Approximate length the event stream is trimmed to (`XADD MAXLEN ~`). */
  EVENTS_MAXLEN: envInt(100_000, 1),
});
export type CommonConfig = z.infer<typeof CommonEnvSchema>;

/** The events stream when `EVENTS_STREAM` is unset: inside the prefix's hash tag when it has one. */
export function defaultEventsStream(queuePrefix: string): string {
  const tag = hashTagOf(queuePrefix);
  return tag === null ? 'runway:events' : `{${tag}}:events`;
}

/** The events stream a service writes or reads: `EVENTS_STREAM`, or the default for its prefix. */
export function eventsStreamFor(config: Pick<CommonConfig, 'EVENTS_STREAM' | 'QUEUE_PREFIX'>): string {
  return config.EVENTS_STREAM ?? defaultEventsStream(config.QUEUE_PREFIX);
}

/** Where a service's Redis is: a single server (`REDIS_URL`) or a cluster (`REDIS_CLUSTER_NODES`). */
export type RedisTarget = Pick<CommonConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>;

/**
 * Cross-field rules of the common variables, called from each service schema's
 * `superRefine` (zod refuses to `extend` a refined object). With a cluster, a `QUEUE_PREFIX`
 * without a hash tag would spread one task's keys over several slots and every multi-key
 * script would fail with CROSSSLOT, so the start is refused.
 */
export function refineCommonEnv(env: CommonConfig, ctx: z.RefinementCtx): void {
  if (env.REDIS_CLUSTER_NODES.length > 0 && hashTagOf(env.QUEUE_PREFIX) === null) {
    ctx.addIssue({
      code: 'custom',
      path: ['QUEUE_PREFIX'],
      message: `must contain a hash tag such as {runway} when REDIS_CLUSTER_NODES is set (got "${env.QUEUE_PREFIX}")`,
    });
  }
}
