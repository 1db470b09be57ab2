import { relayKeys } from '@runway-relay/contracts';
import { useRedisClient } from '@runway-relay/testkit/per-file';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createReconcileLagGauge } from './reconcile-lag.js';

const redis = useRedisClient();

const value = async (registry: Registry) =>
  (await registry.getSingleMetric('relay_reconcile_oldest_due_seconds')?.get())?.values[0]?.value;

describe('relay_reconcile_oldest_due_seconds', () => {
  it("is 0 with nothing due, then the most overdue task's wait, read from the due set at scrape time", async () => {
    const keys = relayKeys('lag-test', 'runway-callbacks');
    const registry = new Registry();
    const now = 1_000_000_000;
    createReconcileLagGauge(registry, redis, keys, () => now);
    expect(await value(registry)).toBe(0);
    // Due in the future only: nothing is late yet.
    await redis.zadd(keys.pollDue, now + 60_000, 'later');
    expect(await value(registry)).toBe(0);
    await redis.zadd(keys.pollDue, now - 90_000, 'overdue', now - 5_000, 'recent');
    expect(await value(registry)).toBe(90);
    expect(await registry.metrics()).toContain('relay_reconcile_oldest_due_seconds 90');
  });
});
