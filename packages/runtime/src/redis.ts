import type { RedisNodeAddress } from '@runway-relay/contracts';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** A connection to a single Redis or to a Redis Cluster; BullMQ and every relay module take either. */
export type RedisClient = Redis | Cluster;

/**
 * How a connection is used, which decides its failure behaviour (BullMQ's production guide):
 * - `producer`: the ingress. Commands fail at once while Redis is away, so a request can be
 *   answered 503 instead of waiting in an in-memory queue that a crash would lose.
 * - `worker`: BullMQ workers and blocking readers. Retry forever (`maxRetriesPerRequest: null`).
 */
export type RedisRole = 'producer' | 'worker';

export type { RedisNodeAddress } from '@runway-relay/contracts';

export interface RedisConnectionOptions {
  /**
   * Redis URL. With `clusterNodes`, only its credentials and scheme (`rediss:` = TLS) are
   * used for every node.
   */
  url: string;
  /** Redis Cluster seed nodes; when non-empty the connection is an ioredis `Cluster`. */
  clusterNodes?: readonly RedisNodeAddress[];
  role: RedisRole;
  logger: Logger;
  /** Name shown by CLIENT LIST, e.g. `ingress`. */
  name: string;
  /** Producer only: ms before a command is failed. */
  commandTimeoutMs?: number;
}

/** Reconnect with a capped backoff; the first retries are quick so a Redis restart is short. */
const reconnectDelay = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

/** Per-connection options of a role (for a cluster: the options of each node's connection). */
function roleOptions(options: RedisConnectionOptions): RedisOptions {
  const common: RedisOptions = { connectionName: options.name };
  if (options.role === 'producer') {
    return {
      ...common,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectTimeout: 2000,
    };
  }
  return { ...common, maxRetriesPerRequest: null, enableReadyCheck: true };
}

export function redisOptionsFor(options: RedisConnectionOptions): RedisOptions {
  const role = roleOptions(options);
  const offline: RedisOptions = options.role === 'producer' ? { enableOfflineQueue: false } : {};
  return { ...role, ...offline, retryStrategy: reconnectDelay };
}

/** Credentials and TLS from a `redis[s]://[user:password@]host` URL, for every cluster node. */
function urlAuthOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const auth: RedisOptions = {};
  if (parsed.username !== '') auth.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') auth.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') auth.tls = {};
  return auth;
}

export function clusterOptionsFor(options: RedisConnectionOptions): ClusterOptions {
  return {
    // Producer: fail at once while the cluster is not ready (same contract as a single Redis).
    enableOfflineQueue: options.role !== 'producer',
    enableReadyCheck: true,
    clusterRetryStrategy: reconnectDelay,
    // A command to a master that died is retried after this delay on the slot's new owner.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
    redisOptions: { ...roleOptions(options), ...urlAuthOptions(options.url) },
  };
}

/** Logs at most one line per 5 s for a connection, so a long outage does not flood the log. */
function throttledWarn(options: RedisConnectionOptions): (error: Error, message: string) => void {
  let lastLogged = 0;
  return (error, message) => {
    const now = Date.now();
    if (now - lastLogged > 5000) {
      lastLogged = now;
      options.logger.warn({ err: error, connection: options.name }, message);
    }
  };
}

/**
 * Opens a connection with the settings of its role and an `error` listener that logs: a
 * `Cluster` when `clusterNodes` is non-empty, a single `Redis` at `url` otherwise.
 */
export function createRedis(options: RedisConnectionOptions): RedisClient {
  const warn = throttledWarn(options);
  // Without a listener ioredis prints every reconnect error as an unhandled 'error' event.
  if (options.clusterNodes && options.clusterNodes.length > 0) {
    const nodes = options.clusterNodes.map(({ host, port }) => ({ host, port }));
    const cluster = new Cluster(nodes, clusterOptionsFor(options));
    cluster.on('error', (error: Error) => warn(error, 'redis cluster error'));
    cluster.on('node error', (error: Error, node: string) => warn(error, `redis cluster node error (${node})`));
    return cluster;
  }
  const redis = new Redis(options.url, redisOptionsFor(options));
  redis.on('error', (error: Error) => warn(error, 'redis connection error'));
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Closes connections one by one, each in its own try/catch so one failure does not leak the rest. */
export async function closeQuietly(closables: Array<{ quit(): Promise<unknown> } | undefined>): Promise<void> {
  for (const closable of closables) {
    if (!closable) continue;
    try {
      await closable.quit();
    } catch {
      // Already closed or unreachable: nothing more to release.
    }
  }
}

/** The Redis settings every service's config carries (packages/contracts/src/config/common.ts). */
export interface RedisServiceConfig {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES: readonly RedisNodeAddress[];
}

/** A composition root's connection: {@link createRedis} at the config's REDIS_URL / REDIS_CLUSTER_NODES. */
export function createServiceRedis(
  config: RedisServiceConfig,
  options: Omit<RedisConnectionOptions, 'url' | 'clusterNodes'>,
): RedisClient {
  return createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES, ...options });
}
