import { type RedisServerHarness, startRedisServer } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryQueue } from './delivery-worker.js';
import { createDeliveryMetrics, DELIVERY_QUEUE_STATES } from './metrics.js';

let redis: RedisServerHarness;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

describe('relay_webhook_queue_jobs', () => {
  it('shows the deliveries queue by state, read from Redis at scrape', async () => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = createDeliveryQueue({ connection, prefix: 'qm' });
    try {
      const registry = new Registry();
      createDeliveryMetrics(registry, undefined, () => queue.getJobCounts(...DELIVERY_QUEUE_STATES));
      await queue.add('deliver', {}, { jobId: 'a' });
      await queue.add('deliver', {}, { jobId: 'b' });
      await queue.add('deliver', {}, { jobId: 'c', delay: 60_000 });
      const text = await registry.metrics();
      expect(text).toContain('relay_webhook_queue_jobs{state="waiting"} 2');
      expect(text).toContain('relay_webhook_queue_jobs{state="delayed"} 1');
      expect(text).toContain('relay_webhook_queue_jobs{state="failed"} 0');
    } finally {
      await queue.close();
      await connection.quit();
    }
  });

  it('is declared even when nothing reads the queue (a root that does not wire it)', async () => {
    const registry = new Registry();
    createDeliveryMetrics(registry);
    expect(await registry.metrics()).toContain('# TYPE relay_webhook_queue_jobs gauge');
  });
});
