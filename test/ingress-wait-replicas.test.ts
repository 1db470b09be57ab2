import { randomUUID } from 'node:crypto';
import { type RedisServerHarness, startRedisServer, waitFor } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestIngress,
  jobIdFor,
  jobIds,
  providerHeaders,
  successBody,
  type TestIngress,
} from './helpers/ingress.js';

let primary: RedisServerHarness;
let replica: RedisServerHarness | undefined;
let ingress: TestIngress;

beforeAll(async () => {
  // No 5 s pause before a replica's first sync (the default for diskless sync).
  primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
});
afterAll(async () => {
  await replica?.dispose();
  await primary.dispose();
});
afterEach(async () => {
  await ingress?.close();
});

const WAIT_ENV = { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200' };

const deliver = (taskId: string) =>
  ingress.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: providerHeaders(taskId),
    payload: JSON.stringify(successBody(taskId)),
  });

async function waitFailures(): Promise<string[]> {
  const text = (await ingress.ops.inject({ method: 'GET', url: '/metrics' })).body;
  return text.split('\n').filter((line) => line.startsWith('relay_redis_wait_failures_total{'));
}

async function startReplica(): Promise<RedisServerHarness> {
  const started = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  // Ready when a WAIT succeeds: just after its initial sync a replica may not acknowledge
  // anything for up to a second (it acks once a second), so "online" is not enough.
  await waitFor(
    async () => {
      await ingress.inspect.set(`${ingress.config.QUEUE_PREFIX}:probe`, '1');
      return Number(await ingress.inspect.call('WAIT', '1', '100')) === 1;
    },
    { timeoutMs: 10_000, description: 'replica acknowledging writes' },
  );
  return started;
}

describe('REDIS_WAIT_REPLICAS on a single Redis', () => {
  it('answers 503 not_replicated while no replica acknowledges, then 200 once one does', async () => {
    ingress = await buildTestIngress(primary.url, WAIT_ENV);
    const taskId = randomUUID();

    const alone = await deliver(taskId);
    expect(alone.statusCode).toBe(503);
    expect(alone.headers['retry-after']).toBe('30');
    expect(alone.json()).toMatchObject({ error: 'not_replicated' });
    expect(await waitFailures()).toEqual(['relay_redis_wait_failures_total{reason="timeout"} 1']);
    // The writes were made (only their durability is unconfirmed): the retry finds the job.
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'success')]);

    replica = await startReplica();
    // The provider's retry: the job exists, so a duplicate — acknowledged only after WAIT.
    const retried = await deliver(taskId);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual({ status: 'duplicate', task_id: taskId });
    const fresh = randomUUID();
    expect((await deliver(fresh)).json()).toEqual({ status: 'received', task_id: fresh });
    expect(await waitFailures()).toEqual(['relay_redis_wait_failures_total{reason="timeout"} 1']);

    // What was acknowledged is on the replica.
    const onReplica = new Redis(replica.url);
    try {
      expect(await onReplica.exists(ingress.keys.task(taskId), ingress.keys.task(fresh))).toBe(2);
      expect(await onReplica.exists(ingress.keys.job(jobIdFor(fresh, 'success')))).toBe(1);
    } finally {
      onReplica.disconnect();
    }
  });

  it('shares WAITs between concurrent callbacks (group commit) and acknowledges every one', async () => {
    ingress = await buildTestIngress(primary.url, WAIT_ENV);
    replica ??= await startReplica();
    await ingress.inspect.config('RESETSTAT');
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const answers = await Promise.all(ids.map((taskId) => deliver(taskId)));
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(50).fill(200));
    const stats = String(await ingress.inspect.info('commandstats'));
    const waits = Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThan(50);
  });

  it('answers 503 again when the replica goes away, without slowing past the WAIT timeout', async () => {
    ingress = await buildTestIngress(primary.url, WAIT_ENV);
    replica ??= await startReplica();
    expect((await deliver(randomUUID())).statusCode).toBe(200);
    await replica.stop();
    const started = performance.now();
    const res = await deliver(randomUUID());
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1500);
    await replica.start();
  });

  it('adds no WAIT when REDIS_WAIT_REPLICAS is 0 (the default)', async () => {
    ingress = await buildTestIngress(primary.url);
    await replica?.stop();
    expect((await deliver(randomUUID())).statusCode).toBe(200);
    expect(await waitFailures()).toEqual([]);
  });
});
