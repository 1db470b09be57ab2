import { randomUUID } from 'node:crypto';
import { type RedisServerHarness, startRedisServer, waitFor } from '@runway-relay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestIngress,
  jobIdFor,
  jobIds,
  providerHeaders,
  successBody,
  type TestIngress,
} from './helpers/ingress.js';

let redisServer: RedisServerHarness;
let ingress: TestIngress;

beforeAll(async () => {
  redisServer = await startRedisServer({ persistent: true });
  ingress = await buildTestIngress(redisServer.url);
});
afterAll(async () => {
  await ingress.close();
  await redisServer.dispose();
});

const post = (taskId: string) =>
  ingress.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: providerHeaders(taskId),
    payload: JSON.stringify(successBody(taskId)),
  });

describe('Redis unavailable', () => {
  it('answers 503 with Retry-After and writes nothing; once Redis is back the retry is accepted', async () => {
    const before = randomUUID();
    expect((await post(before)).json().status).toBe('received');

    await redisServer.stop();
    const taskId = randomUUID();
    const started = Date.now();
    const down = await post(taskId);
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('30');
    expect(down.json()).toMatchObject({ error: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(5000); // fails fast instead of queueing in memory
    expect((await ingress.ops.inject({ url: '/readyz' })).statusCode).toBe(503);

    await redisServer.start();
    await waitFor(() => ingress.redis.status === 'ready', { timeoutMs: 15_000, description: 'producer reconnect' });
    // Nothing of the refused delivery reached Redis; the accepted one survived the restart (AOF).
    expect(await ingress.inspect.exists(ingress.keys.task(taskId))).toBe(0);
    expect(await ingress.inspect.exists(ingress.keys.task(before))).toBe(1);

    const retry = await post(taskId);
    expect(retry.json()).toEqual({ status: 'received', task_id: taskId });
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(before, 'success'), jobIdFor(taskId, 'success')].sort());
    expect((await ingress.ops.inject({ url: '/readyz' })).statusCode).toBe(200);
  });
});
