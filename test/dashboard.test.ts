import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type DashboardConfig,
  eventsStreamFor,
  jobIdFor,
  loadDashboardConfig,
  newEventId,
  type RelayEvent,
  relayKeys,
  type StoredObject,
} from '@runway-relay/contracts';
import { createDashboardStore } from '@runway-relay/dashboard';
import { closeQuietly, publishEvent } from '@runway-relay/runtime';
import type { ObjectStore } from '@runway-relay/storage';
import {
  failedEvent,
  type RedisServerHarness,
  type S3Harness,
  startRedisServer,
  startS3Server,
  waitFor,
} from '@runway-relay/testkit';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dashboardStorageEnv, startTestDashboard, taskRecordFields } from './helpers/dashboard.js';
import { type FailingWorker, startFailingWorker } from './helpers/failing-worker.js';

const USER = 'ops';
const PASSWORD = 'correct horse battery staple';

interface TestDashboard {
  app: FastifyInstance;
  config: DashboardConfig;
  queue: Queue;
  inspect: Redis;
  keys: ReturnType<typeof relayKeys>;
  store: ObjectStore;
  close(): Promise<void>;
}

const BUCKET = 'runway-media';
let redisServer: RedisServerHarness;
let s3: S3Harness;
let dashboard: TestDashboard;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  [redisServer, s3] = await Promise.all([startRedisServer(), startS3Server({ buckets: [BUCKET] })]);
});
afterAll(async () => {
  await s3?.stop();
  await redisServer.dispose();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await dashboard?.close();
});

/**
 * A dashboard (`createDashboard`, through the shared helper) on a fresh queue prefix and event
 * stream, so tests never see each other's keys, with the file's S3 server as its object store.
 */
async function buildTestDashboard(env: Record<string, string> = {}): Promise<TestDashboard> {
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const started = await startTestDashboard({
    REDIS_URL: redisServer.url,
    QUEUE_PREFIX: prefix,
    EVENTS_STREAM: `${prefix}:events`,
    DASHBOARD_USER: USER,
    DASHBOARD_PASSWORD: PASSWORD,
    NODE_ENV: 'test',
    ...dashboardStorageEnv(s3, BUCKET),
    ...env,
  });
  const inspect = new Redis(started.config.REDIS_URL, { maxRetriesPerRequest: 1 });
  inspect.on('error', () => undefined);
  return {
    app: started.app,
    config: started.config,
    queue: started.queue,
    inspect,
    keys: relayKeys(started.config.QUEUE_PREFIX, started.config.QUEUE_NAME),
    store: started.store,
    close: async () => {
      await started.close();
      await closeQuietly([inspect]);
    },
  };
}

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const auth = basic(USER, PASSWORD);

const get = (url: string, headers: Record<string, string> = auth) =>
  dashboard.app.inject({ method: 'GET', url, headers });
const post = (url: string, headers: Record<string, string> = auth) =>
  dashboard.app.inject({ method: 'POST', url, headers });

/** Writes a task hash the way the ingress's claim script and the worker's task store do. */
async function writeTask(taskId: string, fields: Record<string, string | number>): Promise<void> {
  await dashboard.inspect.hset(dashboard.keys.task(taskId), taskRecordFields(taskId, fields));
}

/** Adds a callback job under its deterministic id, as the ingress does. */
async function addJob(taskId: string, data: Record<string, unknown>, outcome: 'success' | 'failure' = 'success') {
  return dashboard.queue.add('callback', data, { jobId: jobIdFor(taskId, outcome), attempts: 3 });
}

/** A worker on the test queue that fails jobs whose data says so (for good) and completes the rest. */
function startTestWorker(): FailingWorker {
  const worker = startFailingWorker(dashboard.config.REDIS_URL, dashboard.queue);
  cleanups.push(() => worker.close());
  return worker;
}

const jobState = async (taskId: string) => (await dashboard.queue.getJob(jobIdFor(taskId, 'success')))?.getState();

describe('dashboard basic auth', () => {
  it('answers 401 with a challenge without or with wrong credentials; probes stay open', async () => {
    dashboard = await buildTestDashboard();
    for (const headers of [{}, basic(USER, 'wrong'), basic('root', PASSWORD), { authorization: 'Bearer x' }]) {
      for (const url of ['/api/tasks/abc', '/admin/queues', '/admin/queues/api/queues', '/metrics']) {
        const res = await get(url, headers);
        expect(res.statusCode, url).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="runway-relay"/);
        expect(res.json()).toMatchObject({ error: 'unauthorized' });
      }
    }
    expect((await get('/healthz', {})).statusCode).toBe(200);
    const ready = await get('/readyz', {});
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', storage: 'ok' } });
    const metrics = await get('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('relay_dashboard_retries_total');
  });

  it('answers unknown routes behind auth with a JSON 404', async () => {
    dashboard = await buildTestDashboard();
    expect((await get('/nope', {})).statusCode).toBe(401);
    const res = await get('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('Bull Board', () => {
  it('serves its UI and API at /admin/queues behind auth', async () => {
    dashboard = await buildTestDashboard();
    const ui = await get('/admin/queues');
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    expect(ui.body).toContain('/admin/queues');

    const api = await get('/admin/queues/api/queues');
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: Array<{ name: string }> }).queues.map((queue) => queue.name);
    expect(names).toContain(dashboard.config.QUEUE_NAME);
  });
});

describe('GET /api/tasks/:taskId', () => {
  it('answers 404 for an unknown task and 400 naming the problem for a bad id', async () => {
    dashboard = await buildTestDashboard();
    const missing = await get(`/api/tasks/${randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });

    const bad = await get('/api/tasks/bad*id');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^taskId: /) });
  });

  it('shows the record, its objects and its jobs', async () => {
    dashboard = await buildTestDashboard();
    const taskId = randomUUID();
    const video: StoredObject = {
      kind: 'video',
      bucket: 'runway-media',
      key: `runway/${taskId}/video.mp4`,
      size: 1234,
      sha256: 'a'.repeat(64),
      content_type: 'video/mp4',
    };
    const first = Date.parse('2025-01-02T03:04:05.000Z');
    await writeTask(taskId, {
      status: 'failed',
      attempts: 2,
      deliveries: 3,
      duplicates: 2,
      first_received_at: first,
      last_received_at: first + 60_000,
      video: JSON.stringify(video),
      error_category: 'link_expired',
      error_detail: 'cover: HTTP 410',
    });
    await addJob(taskId, { note: 'queued' });

    const res = await get(`/api/tasks/${taskId}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      task_id: taskId,
      status: 'failed',
      accepted_outcome: 'success',
      code: 200,
      msg: 'All generated successfully.',
      video_id: `v-${taskId}`,
      attempts: 2,
      deliveries: 3,
      duplicates: 2,
      first_received_at: '2025-01-02T03:04:05.000Z',
      last_received_at: '2025-01-02T03:05:05.000Z',
      // A presigned GET of the object (it need not exist to be signed; see the presign tests).
      objects: [
        {
          kind: 'video',
          key: video.key,
          size: 1234,
          sha256: video.sha256,
          content_type: 'video/mp4',
          url: expect.stringMatching(new RegExp(`^${s3.endpoint}/${BUCKET}/runway/${taskId}/video\\.mp4\\?X-Amz-`)),
        },
      ],
      last_error: { category: 'link_expired', detail: 'cover: HTTP 410' },
      jobs: [{ id: jobIdFor(taskId, 'success'), state: 'waiting', attemptsMade: 0, failedReason: null }],
      events: [],
      audit: [],
      revision: 0,
      conflict: null,
    });
  });
});

describe('presigned media URLs (real S3 server)', () => {
  const storageEnv = () => dashboardStorageEnv(s3, BUCKET);

  it('links each stored object with a GET URL that works for PRESIGN_EXPIRY_S', async () => {
    dashboard = await buildTestDashboard({ PRESIGN_EXPIRY_S: '120' });
    const taskId = randomUUID();
    const body = Buffer.from(`video bytes of ${taskId}`);
    const key = `runway/${taskId}/video.mp4`;
    await dashboard.store.put(key, Readable.from([body]), body.length, {
      taskId,
      videoId: `v-${taskId}`,
      contentType: 'video/mp4',
      sourceHost: 'cdn.example.com',
      storedAt: new Date().toISOString(),
    });
    const video: StoredObject = {
      kind: 'video',
      bucket: BUCKET,
      key,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      content_type: 'video/mp4',
    };
    await writeTask(taskId, { status: 'stored', video: JSON.stringify(video) });

    const res = await get(`/api/tasks/${taskId}`);
    expect(res.statusCode).toBe(200);
    const [object] = (res.json() as { objects: Array<{ key: string; url: string }> }).objects;
    expect(object?.key).toBe(key);
    const url = new URL(object?.url ?? '');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(body);

    expect((await get('/readyz', {})).json()).toEqual({ status: 'ready', checks: { redis: 'ok', storage: 'ok' } });
  });

  it('signs links for S3_PUBLIC_ENDPOINT while probing the internal endpoint', async () => {
    const config = loadDashboardConfig({
      ...storageEnv(),
      S3_PUBLIC_ENDPOINT: 'http://media.relay.example:9000',
      NODE_ENV: 'development',
    });
    const store = createDashboardStore(config);
    expect(await store.presign('runway/x/video.mp4', 60)).toMatch(
      /^http:\/\/media\.relay\.example:9000\/runway-media\/runway\/x\/video\.mp4\?/,
    );
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe('POST /api/tasks/:taskId/retry', () => {
  it('re-runs a task whose job really failed, then refuses while it is no longer failed', async () => {
    dashboard = await buildTestDashboard();
    const taskId = randomUUID();
    await writeTask(taskId, {});
    await addJob(taskId, { fail: true });
    const worker = startTestWorker();
    await waitFor(async () => (await jobState(taskId)) === 'failed', { description: 'the job to fail' });
    // What the worker's task store does when a job fails for good.
    await dashboard.inspect.hset(dashboard.keys.task(taskId), { status: 'failed', error_category: 'link_expired' });
    await worker.close(); // so the retried job stays visible in the waiting list

    const before = (await get(`/api/tasks/${taskId}`)).json() as {
      jobs: Array<{ state: string; failedReason: string }>;
    };
    expect(before.jobs).toEqual([
      expect.objectContaining({ state: 'failed', failedReason: 'link expired (HTTP 410)' }),
    ]);

    const res = await post(`/api/tasks/${taskId}/retry`);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'retrying', job_id: jobIdFor(taskId, 'success') });
    expect(['waiting', 'active']).toContain(await jobState(taskId));
    expect(await dashboard.inspect.hget(dashboard.keys.task(taskId), 'status')).toBe('accepted');
    const job = await dashboard.queue.getJob(jobIdFor(taskId, 'success'));
    expect(job?.attemptsMade).toBe(0);

    const again = await post(`/api/tasks/${taskId}/retry`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'not_failed', message: expect.stringContaining('waiting') });
    expect((await get('/metrics')).body).toMatch(/relay_dashboard_retries_total 1/);
  });

  it('answers 409 for a completed job, 409 job_removed when retention took the job, 404 and 400', async () => {
    dashboard = await buildTestDashboard();
    const done = randomUUID();
    await writeTask(done, {});
    await addJob(done, { fail: false });
    startTestWorker();
    await waitFor(async () => (await jobState(done)) === 'completed', { description: 'the job to complete' });
    await dashboard.inspect.hset(dashboard.keys.task(done), { status: 'stored' });
    const completed = await post(`/api/tasks/${done}/retry`);
    expect(completed.statusCode).toBe(409);
    expect(completed.json()).toMatchObject({ error: 'not_failed', message: expect.stringContaining('completed') });

    const removed = randomUUID();
    await writeTask(removed, { status: 'failed', error_category: 'timeout' });
    const gone = await post(`/api/tasks/${removed}/retry`);
    expect(gone.statusCode).toBe(409);
    expect(gone.json()).toMatchObject({ error: 'job_removed', message: expect.stringContaining('re-sent') });
    expect(await dashboard.inspect.hget(dashboard.keys.task(removed), 'status')).toBe('failed');

    expect((await post(`/api/tasks/${randomUUID()}/retry`)).statusCode).toBe(404);
    expect((await post('/api/tasks/-x/retry')).statusCode).toBe(400);
  });
});

describe('GET /api/events', () => {
  const storedEvent = (taskId: string): RelayEvent => ({
    v: 1,
    id: newEventId(),
    type: 'media.stored',
    task_id: taskId,
    at: new Date().toISOString(),
    video_id: `v-${taskId}`,
    objects: [
      {
        kind: 'video',
        bucket: 'runway-media',
        key: `runway/${taskId}/video.mp4`,
        size: 10,
        sha256: 'b'.repeat(64),
        content_type: 'video/mp4',
      },
    ],
    timings: { total_ms: 120, transfer_ms: 80 },
    attempts: 1,
    missing: [],
  });
  it('pages through the stream with since and limit, skipping entries that fail the schema', async () => {
    dashboard = await buildTestDashboard();
    const stream = { stream: eventsStreamFor(dashboard.config), maxlen: 1000 };
    const first = storedEvent(randomUUID());
    const second = failedEvent();
    const firstId = await publishEvent(dashboard.inspect, stream, first);
    await dashboard.inspect.xadd(stream.stream, '*', 'event', '{not json');
    const secondId = await publishEvent(dashboard.inspect, stream, second);

    const all = await get('/api/events');
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({
      events: [
        { id: firstId, event: first },
        { id: secondId, event: second },
      ],
      next: secondId,
    });

    const page = await get(`/api/events?limit=1`);
    expect(page.json()).toEqual({ events: [{ id: firstId, event: first }], next: firstId });
    const rest = await get(`/api/events?since=${firstId}`);
    expect(rest.json()).toEqual({ events: [{ id: secondId, event: second }], next: secondId });
    const empty = await get(`/api/events?since=${secondId}`);
    expect(empty.json()).toEqual({ events: [], next: secondId });
  });

  it('answers 400 for a bad since or limit', async () => {
    dashboard = await buildTestDashboard();
    for (const query of ['since=yesterday', 'since=1-2-3', 'limit=0', 'limit=1001', 'limit=ten']) {
      const res = await get(`/api/events?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json()).toMatchObject({
        error: 'invalid_request',
        message: expect.stringMatching(/^(since|limit): /),
      });
    }
  });
});

describe('loadDashboardConfig', () => {
  it('requires the credentials outside development, naming the variables', () => {
    for (const NODE_ENV of ['production', 'test']) {
      expect(() => loadDashboardConfig({ NODE_ENV })).toThrow(/DASHBOARD_USER: is required[\s\S]*DASHBOARD_PASSWORD:/);
      expect(() => loadDashboardConfig({ NODE_ENV, DASHBOARD_USER: 'ops' })).toThrow(/DASHBOARD_PASSWORD: is required/);
    }
  });

  it('falls back to admin/admin in development and says so', () => {
    const config = loadDashboardConfig({ NODE_ENV: 'development' });
    expect(config).toMatchObject({ DASHBOARD_USER: 'admin', DASHBOARD_PASSWORD: 'admin', defaultCredentials: true });
    expect(config).toMatchObject({ DASHBOARD_PORT: 3001, PRESIGN_EXPIRY_S: 900 });
    expect(eventsStreamFor(config)).toBe('runway:events');
    expect(eventsStreamFor(loadDashboardConfig({ NODE_ENV: 'development', QUEUE_PREFIX: '{runway}' }))).toBe(
      '{runway}:events',
    );
    const set = loadDashboardConfig({ NODE_ENV: 'production', DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'pw' });
    expect(set.defaultCredentials).toBe(false);
    expect(Object.isFrozen(set)).toBe(true);
  });

  it('rejects bad values by name', () => {
    const base = { NODE_ENV: 'development' };
    expect(() => loadDashboardConfig({ ...base, DASHBOARD_PORT: 'http' })).toThrow(/DASHBOARD_PORT/);
    expect(() => loadDashboardConfig({ ...base, PRESIGN_EXPIRY_S: '0' })).toThrow(/PRESIGN_EXPIRY_S/);
    expect(() => loadDashboardConfig({ ...base, S3_PUBLIC_ENDPOINT: 'ftp://x' })).toThrow(/S3_PUBLIC_ENDPOINT/);
  });
});
