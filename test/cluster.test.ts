import { randomBytes } from 'node:crypto';
import { type MediaStoredEvent, parseTaskState, type TaskFailedEvent } from '@runway-relay/contracts';
import { keySlot } from '@runway-relay/runtime';
import {
  buildCallback,
  type DeliveryResult,
  failureFixtures,
  type MediaServer,
  sendCallback,
  startMediaServer,
} from '@runway-relay/simulator';
import {
  type RedisClusterHarness,
  type S3Harness,
  startRedisCluster,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dashboardStorageEnv, startTestDashboard } from './helpers/dashboard.js';
import {
  buildTestIngress,
  jobIdFor,
  jobIds,
  providerHeaders,
  successBody,
  TEST_HMAC_KEY,
  type TestIngress,
} from './helpers/ingress.js';
import { newTaskId, objectPrefix, type Stack, simulatedSuccess, startStack } from './helpers/stack.js';
import { startTestWorker, type TestWorker } from './helpers/worker.js';

let cluster: RedisClusterHarness;
let s3: S3Harness;
let media: MediaServer;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [cluster, s3, media] = await Promise.all([startRedisCluster(), startS3Server({ buckets: [] }), startMediaServer()]);
}, 60_000);
afterAll(async () => {
  await media?.close();
  await s3?.stop();
  await cluster?.dispose();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A hash-tagged prefix of its own per test: `{runway-<random>}`. */
const taggedPrefix = () => `{runway-${randomBytes(4).toString('hex')}}`;
/** The REDIS_URL is never dialled when cluster nodes are set. */
const UNUSED_URL = 'redis://127.0.0.1:1';
const clusterEnv = (prefix: string) => ({ REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: prefix });

const stored = (events: unknown[]) =>
  events.filter((e): e is MediaStoredEvent => (e as MediaStoredEvent).type === 'media.stored');
const failed = (events: unknown[]) =>
  events.filter((e): e is TaskFailedEvent => (e as TaskFailedEvent).type === 'task.failed');

describe('the pipeline on a Redis Cluster (3 masters + 3 replicas)', () => {
  it('stores a success, answers duplicates duplicate with one job, and classifies a failure', async () => {
    const prefix = taggedPrefix();
    const stack: Stack = await startStack({ redis: { url: UNUSED_URL }, s3, media }, clusterEnv(prefix));
    cleanups.push(() => stack.close());
    expect(stack.ingress.redis).toBeInstanceOf(Cluster);
    expect(stack.stream).toBe(`${prefix}:events`);

    const taskId = newTaskId();
    const body = simulatedSuccess(media, taskId);
    expect(await stack.deliver(body)).toMatchObject({ status: 200, body: { status: 'received' } });
    const copies = await Promise.all(Array.from({ length: 5 }, () => stack.deliver(body)));
    expect(copies.map((copy) => copy.body.status)).toEqual(Array(5).fill('duplicate'));

    const fixture = failureFixtures().find((candidate) => candidate.category === 'prompt_moderation');
    if (!fixture) throw new Error('no prompt_moderation fixture');
    const failedId = newTaskId();
    const failure = await stack.deliver(buildCallback('failure', failedId, {}, fixture.name));
    expect(failure.body.status).toBe('received');

    const events = await stack.waitForEvents(2);
    const [storedEvent] = stored(events);
    expect(storedEvent).toMatchObject({ task_id: taskId, missing: [] });
    expect(storedEvent?.objects.map((object) => object.key)).toEqual([
      `${objectPrefix(prefix)}/${taskId}/video.mp4`,
      `${objectPrefix(prefix)}/${taskId}/cover.png`,
    ]);
    expect((await stack.worker.store.stat(`${objectPrefix(prefix)}/${taskId}/video.mp4`))?.size).toBe(300_000);
    expect(failed(events)).toEqual([
      expect.objectContaining({ task_id: failedId, source: 'provider', category: 'prompt_moderation' }),
    ]);
    expect(await stack.taskWhen(taskId, 'stored')).toMatchObject({ status: 'stored', deliveries: 6, duplicates: 5 });
    expect(await stack.taskWhen(failedId, 'failed')).toMatchObject({
      status: 'failed',
      error_category: 'prompt_moderation',
    });
    expect(await jobIds(stack.ingress.queue)).toEqual(
      [jobIdFor(taskId, 'success'), jobIdFor(failedId, 'failure')].sort(),
    );
    expect(media.requests(media.pathOf(taskId, 'video'))).toBe(1);
  });

  it('serves the dashboard (Bull Board and the admin API) from the cluster', async () => {
    const prefix = taggedPrefix();
    const dashboard = await startTestDashboard({
      ...clusterEnv(prefix),
      EVENTS_STREAM: `${prefix}:events`,
      NODE_ENV: 'development',
      ...dashboardStorageEnv(s3),
    });
    cleanups.push(() => dashboard.close());
    // The bucket the stored media would be in; /readyz checks it (the worker creates it in production).
    await dashboard.store.ensureBucket();
    const { app, config } = dashboard;
    const ingress = await buildTestIngress(UNUSED_URL, clusterEnv(prefix));
    cleanups.push(() => ingress.close());
    const taskId = newTaskId();
    const delivered = await sendTo(ingress, taskId);
    expect(delivered.status).toBe(200);

    const headers = { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` };
    const board = await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers });
    expect(board.statusCode).toBe(200);
    const queues = (board.json() as { queues: Array<{ name: string; counts: Record<string, number> }> }).queues;
    expect(queues.find((entry) => entry.name === config.QUEUE_NAME)?.counts.waiting).toBe(1);
    const task = await app.inject({ method: 'GET', url: `/api/tasks/${taskId}`, headers });
    expect(task.json()).toMatchObject({ task_id: taskId, status: 'accepted', jobs: [{ state: 'waiting' }] });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
  });
});

/** Delivers one signed success callback through `inject` and returns status and body. */
async function sendTo(ingress: TestIngress, taskId: string) {
  const res = await ingress.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: providerHeaders(taskId),
    payload: JSON.stringify(successBody(taskId)),
  });
  return { status: res.statusCode, body: res.json() as { status?: string } };
}

describe('a master failover with REDIS_WAIT_REPLICAS=1', () => {
  it('loses no acknowledged callback when the master of the prefix slot is SIGKILLed mid-stream', async () => {
    const prefix = taggedPrefix();
    const slot = keySlot(prefix);
    expect(await cluster.keySlot(`${prefix}:relay:task:x`)).toBe(slot);
    const env = {
      ...clusterEnv(prefix),
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '300',
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      JOB_ATTEMPTS: '10',
      JOB_BACKOFF_MS: '100',
    };
    const ingress = await buildTestIngress(UNUSED_URL, env);
    cleanups.push(() => ingress.close());
    const worker: TestWorker = await startTestWorker(UNUSED_URL, s3, {
      ...env,
      EVENTS_STREAM: `${prefix}:events`,
      S3_PREFIX: objectPrefix(prefix),
    });
    cleanups.push(() => worker.close());
    const url = `${ingress.url}/callbacks/runway`;

    const victim = await cluster.masterForSlot(slot);
    const total = 100;
    const killAt = 30;
    let failover: Promise<{ newMaster: number; failoverMs: number }> | undefined;
    const results: DeliveryResult[] = [];
    const inFlight: Array<Promise<void>> = [];
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      if (i === killAt) failover = killAndRecover(victim, slot);
      const taskId = `fo-${i}-${newTaskId()}`;
      inFlight.push(
        sendCallback({
          url,
          body: buildCallback('success', taskId, {
            video: media.url(taskId, 'video', { size: 20_000 }),
            image: media.url(taskId, 'cover', { size: 2_000 }),
          }),
          hmacKey: TEST_HMAC_KEY,
          timeoutMs: 3000,
          retries: 80,
          retryDelaysMs: [100, 200, 250],
        }).then((result) => {
          results.push(result);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await Promise.all(inFlight);
    const { newMaster, failoverMs } = await (failover ?? Promise.reject(new Error('never killed')));
    const sendMs = Date.now() - started;

    const acknowledged = results.filter((result) => result.delivered).map((result) => result.taskId ?? '');
    const attempts = results.flatMap((result) => result.attempts);
    const count = (status: number) => attempts.filter((attempt) => attempt.status === status).length;

    // Every acknowledged callback is in Redis after the failover: task record and job.
    const missing: string[] = [];
    for (const taskId of acknowledged) {
      const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
      const job = await ingress.queue.getJob(jobIdFor(taskId, 'success'));
      if (state === null || job === undefined) missing.push(taskId);
    }
    // …and the worker stores every one of them.
    const storedCount = await waitFor(
      async () => {
        let done = 0;
        for (const taskId of acknowledged) {
          if ((await ingress.inspect.hget(ingress.keys.task(taskId), 'status')) === 'stored') done++;
        }
        return done === acknowledged.length ? done : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'every acknowledged task stored' },
    ).catch(() => -1);
    const metrics = (await ingress.ops.inject({ method: 'GET', url: '/metrics' })).body;
    const waitFailures = metrics
      .split('\n')
      .filter((line) => line.startsWith('relay_redis_wait_failures_total{'))
      .map((line) => `${line.slice(line.indexOf('{'), line.indexOf('}') + 1)} ${line.split(' ').pop()}`);

    console.log(
      `[cluster failover] killed master ${victim} at callback ${killAt}, slot ${slot} failed over to ${newMaster} in ${failoverMs} ms; ` +
        `sent ${total}, acknowledged ${acknowledged.length}, HTTP attempts ${attempts.length} (200: ${count(200)}, 503: ${count(503)}, ` +
        `no answer: ${attempts.filter((attempt) => attempt.status === undefined).length}), WAIT failures ${waitFailures.join(', ') || 'none'}, ` +
        `missing after failover ${missing.length}, stored ${storedCount}, stream ${sendMs} ms`,
    );
    expect(missing).toEqual([]);
    expect(acknowledged).toHaveLength(total);
    expect(count(503)).toBeGreaterThan(0); // the failover was felt, and answered honestly
    expect(storedCount).toBe(total);
  }, 90_000);
});

/**
 * SIGKILLs `victim`, waits for its replica to take the slot over, then restarts the dead node
 * so it rejoins as the new master's replica (without a replica, WAIT 1 cannot succeed).
 */
async function killAndRecover(victim: number, slot: number) {
  const killed = Date.now();
  await cluster.killNode(victim);
  const newMaster = await cluster.waitForFailover(slot, victim);
  const failoverMs = Date.now() - killed;
  await cluster.restartNode(victim);
  return { newMaster, failoverMs };
}
