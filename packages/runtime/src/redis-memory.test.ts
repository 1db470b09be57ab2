import { type RedisServerHarness, startRedisServer } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisMemorySampler, type RedisMemorySample, sampleRedisMemory } from './redis-memory.js';

let server: RedisServerHarness;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer({ args: ['--maxmemory', '8mb', '--maxmemory-policy', 'noeviction'] });
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis.disconnect();
  await server.dispose();
});

describe('Redis memory sampling', () => {
  it('reads used_memory and maxmemory', async () => {
    const sample = await sampleRedisMemory(redis);
    expect(sample.maxBytes).toBe(8 * 1024 * 1024);
    expect(sample.usedBytes).toBeGreaterThan(0);
    expect(sample.fraction).toBeCloseTo(sample.usedBytes / sample.maxBytes, 6);
  });

  it('reports fraction 0 when maxmemory is 0 (unlimited)', async () => {
    await redis.call('CONFIG', 'SET', 'maxmemory', '0');
    try {
      expect(await sampleRedisMemory(redis)).toMatchObject({ maxBytes: 0, fraction: 0 });
    } finally {
      await redis.call('CONFIG', 'SET', 'maxmemory', '8mb');
    }
  });

  it('keeps a sample that follows the data, reports each one, and stops on close', async () => {
    const seen: RedisMemorySample[] = [];
    const sampler = createRedisMemorySampler({ redis, intervalMs: 60_000, onSample: (s) => seen.push(s) });
    try {
      const before = await sampler.refresh();
      expect(sampler.current()).toEqual(before);
      await redis.set('filler', 'x'.repeat(2 * 1024 * 1024));
      const after = await sampler.refresh();
      expect(after?.fraction).toBeGreaterThan((before?.fraction ?? 1) + 0.2);
      expect(seen.at(-1)).toEqual(after);
    } finally {
      sampler.close();
      await redis.del('filler');
    }
  });

  it('keeps the last sample when Redis does not answer', async () => {
    const errors: unknown[] = [];
    const gone = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const sampler = createRedisMemorySampler({ redis: gone, intervalMs: 60_000, onError: (e) => errors.push(e) });
    try {
      const first = await sampler.refresh();
      gone.disconnect();
      expect(await sampler.refresh()).toEqual(first);
      expect(errors).toHaveLength(1);
    } finally {
      sampler.close();
    }
  });
});
