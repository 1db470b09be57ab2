import type { RedisTarget } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { Cluster, Redis } from 'ioredis';

/** A single Redis (`redis://…`) or a service config naming a single Redis or a cluster. */
export type RedisTargetLike = string | RedisTarget;

/**
 * A plain connection for assertions, outside the services' own wiring: a `Cluster` when the
 * target names cluster nodes, a single `Redis` otherwise.
 */
export function connectInspect(target: RedisTargetLike): RedisClient {
  const nodes = typeof target === 'string' ? [] : target.REDIS_CLUSTER_NODES;
  const client =
    nodes.length > 0
      ? new Cluster(
          nodes.map(({ host, port }) => ({ host, port })),
          { redisOptions: { maxRetriesPerRequest: 1 } },
        )
      : new Redis(typeof target === 'string' ? target : target.REDIS_URL, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}
