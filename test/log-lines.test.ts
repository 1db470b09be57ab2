/**
 * How many log lines one callback costs in production (JSON, LOG_LEVEL=info): the ingress
 * writes one line per request (task id, result, status, latency), the worker one per job.
 */
import { randomBytes } from 'node:crypto';
import { waitFor } from '@runway-relay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerHeaders, TEST_HMAC_KEY } from './helpers/ingress.js';
import { type ServiceProcess, spawnService } from './helpers/processes.js';
import { type Backing, newTaskId, simulatedSuccess, startBacking } from './helpers/stack.js';
import { testWorkerEnv } from './helpers/worker.js';

let backing: Backing;
const spawned: ServiceProcess[] = [];
beforeAll(async () => {
  backing = await startBacking();
});
afterAll(async () => {
  for (const service of spawned) await service.kill();
  await backing.dispose();
});

describe('log lines of one callback in production JSON', () => {
  it('the ingress writes one line per request and the worker one per job', async () => {
    const prefix = `logs${randomBytes(4).toString('hex')}`;
    const shared = { QUEUE_PREFIX: prefix, NODE_ENV: 'production', LOG_LEVEL: 'info', REDIS_ALLOW_VOLATILE: 'true' };
    const ingress = spawnService('ingress', {
      ...shared,
      REDIS_URL: backing.redis.url,
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: '0',
      INGRESS_OPS_HOST: '127.0.0.1',
      INGRESS_OPS_PORT: '0',
      CALLBACK_HMAC_KEYS: TEST_HMAC_KEY,
    });
    const worker = spawnService(
      'worker',
      testWorkerEnv(backing.redis.url, backing.s3, {
        ...shared,
        EVENTS_STREAM: `${prefix}:events`,
        S3_PREFIX: prefix,
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: '0',
      }),
    );
    spawned.push(ingress, worker);
    await Promise.all([ingress.waitForLog('ingress listening'), worker.waitForLog('worker started')]);
    const port = ingress.lines().find((line) => line.msg === 'ingress listening')?.port;

    const taskId = newTaskId();
    const body = JSON.stringify(simulatedSuccess(backing.media, taskId));
    for (const expected of ['received', 'duplicate']) {
      const response = await fetch(`http://127.0.0.1:${port}/callbacks/runway`, {
        method: 'POST',
        headers: providerHeaders(taskId),
        body,
      });
      expect(await response.json()).toEqual({ status: expected, task_id: taskId });
    }
    await worker.waitForLog('task stored');
    // The last request's line is written after its response: wait for it rather than race it.
    await waitFor(() => ingress.lines().filter((line) => line.task_id === taskId).length >= 2, {
      description: 'two ingress request lines',
    });

    const ingressLines = ingress.lines().filter((line) => line.task_id === taskId);
    expect(ingressLines).toHaveLength(2);
    for (const line of ingressLines) {
      expect(line).toMatchObject({ msg: 'request completed', status: 200, outcome: 'success' });
      expect(typeof line.ms).toBe('number');
    }
    expect(ingressLines.map((line) => line.result)).toEqual(['received', 'duplicate']);
    const workerLines = worker.lines().filter((line) => line.task_id === taskId);
    expect(workerLines.map((line) => line.msg)).toEqual(['task stored']);
    // Every line of both is JSON: nothing else on stdout or stderr.
    for (const service of [ingress, worker]) {
      const text = service.output().trim().split('\n');
      expect(service.lines()).toHaveLength(text.length);
    }
    console.log(
      `[logs] one callback + one duplicate: ingress ${ingressLines.length} lines, worker ${workerLines.length} line`,
    );
  }, 90_000);
});
