import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { clusterOptionsFor, createRedis, redisOptionsFor } from './redis.js';

const logger = pino({ level: 'silent' });
const base = { logger, name: 'test' } as const;

describe('connection options per role', () => {
  it('single Redis: the producer fails fast, the worker retries forever', () => {
    const producer = redisOptionsFor({ ...base, url: 'redis://h:1', role: 'producer', commandTimeoutMs: 750 });
    expect(producer).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 750 });
    const worker = redisOptionsFor({ ...base, url: 'redis://h:1', role: 'worker' });
    expect(worker).toMatchObject({ maxRetriesPerRequest: null });
    expect(worker.enableOfflineQueue).toBeUndefined();
  });

  it('cluster: the same roles, with credentials and TLS taken from REDIS_URL for every node', () => {
    const producer = clusterOptionsFor({ ...base, url: 'rediss://relay:p%40ss@ignored:6379', role: 'producer' });
    expect(producer.enableOfflineQueue).toBe(false);
    expect(producer.redisOptions).toMatchObject({
      connectionName: 'test',
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
      username: 'relay',
      password: 'p@ss',
      tls: {},
    });
    const worker = clusterOptionsFor({ ...base, url: 'redis://127.0.0.1:6379', role: 'worker' });
    expect(worker.enableOfflineQueue).toBe(true);
    expect(worker.redisOptions).toMatchObject({ maxRetriesPerRequest: null });
    expect(worker.redisOptions?.password).toBeUndefined();
  });

  it('makes a Cluster only when cluster nodes are given', () => {
    const single = createRedis({ ...base, url: 'redis://127.0.0.1:1', role: 'worker' });
    const cluster = createRedis({
      ...base,
      url: 'redis://127.0.0.1:1',
      clusterNodes: [{ host: '127.0.0.1', port: 1 }],
      role: 'worker',
    });
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(single).not.toBeInstanceOf(Cluster);
      expect(cluster).toBeInstanceOf(Cluster);
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });
});
