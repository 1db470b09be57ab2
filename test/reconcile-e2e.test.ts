import { PassThrough } from 'node:stream';
import { createTaskRegistry } from '@runway-relay/admission';
import { type RelayEvent, relayKeys } from '@runway-relay/contracts';
import { freePort, waitFor } from '@runway-relay/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_PASSWORD,
  DASHBOARD_USER,
  dashboardAuth,
  startTestDashboard,
  type TestDashboard,
} from './helpers/dashboard.js';
import { buildTestIngress, providerHeaders, type TestIngress, uniquePrefix } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { simulatedSuccess } from './helpers/stack.js';
import { readEvents, startTestWorker, type TestWorker } from './helpers/worker.js';

const KEY = 'sk-reconcile-e2e';
const TASKS = 200;
/** The simulator's callback retry schedule, compressed: 4 tries within about a second. */
const RETRY_DELAYS_MS = [100, 200, 400];

const backing = useBacking({
  media: {
    apiKey: KEY,
    defaultVideoSize: 16 * 1024,
    provider: {
      // Compressed generation: a task is final about 0.3 s after it was submitted.
      stateMs: { wait: 50, queueing: 50, generating: 200 },
      failureRatio: 0.2,
      callbacks: { retries: RETRY_DELAYS_MS.length, retryDelaysMs: RETRY_DELAYS_MS, timeoutMs: 500 },
    },
  },
});
let dashboard: TestDashboard | undefined;
let worker: TestWorker | undefined;
let ingress: TestIngress | undefined;

// Registered before useBacking's own afterAll runs (vitest runs afterAll hooks in reverse), so
// the services stop before their Redis, S3 and simulator.
afterAll(async () => {
  await dashboard?.close();
  await worker?.close();
  await ingress?.close();
});

const outcomesByTask = (events: RelayEvent[]) => {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.type === 'media.stored' || event.type === 'task.failed') {
      counts.set(event.task_id, (counts.get(event.task_id) ?? 0) + 1);
    }
  }
  return counts;
};

describe('reconciliation end to end', () => {
  it('every task submitted through the dashboard ends stored or failed, once, with the ingress down past the callback retries', async () => {
    const prefix = uniquePrefix();
    const stream = `${prefix}:events`;
    const ingressPort = await freePort();
    const shared = {
      QUEUE_PREFIX: prefix,
      EVENTS_STREAM: stream,
      PROVIDER_API_URL: backing.media.origin,
      PROVIDER_API_KEY: KEY,
      PROVIDER_RPS: '500',
      PROVIDER_BURST: '100',
      // Compressed reconciler: first poll 2 s after registration, then every 1-2 s, a pass a second.
      RECONCILE_AFTER_S: '2',
      RECONCILE_INTERVAL_S: '1',
      RECONCILE_MAX_INTERVAL_S: '2',
      RECONCILE_PASS_S: '1',
    };
    const admin = await startTestDashboard({
      REDIS_URL: backing.redis.url,
      DASHBOARD_USER,
      DASHBOARD_PASSWORD,
      NODE_ENV: 'test',
      // The ingress is down: nothing listens on this port until the provider gave up.
      PUBLIC_CALLBACK_URL: `http://127.0.0.1:${ingressPort}/callbacks/runway`,
      ...shared,
    });
    dashboard = admin;
    const started = await startTestWorker(
      backing.redis.url,
      backing.s3,
      { S3_PREFIX: prefix, ...shared },
      { loopbackIsPublic: true },
    );
    worker = started;

    const submitted: string[] = [];
    const lanes = Array.from({ length: 10 }, async (_, lane) => {
      for (let i = lane; i < TASKS; i += 10) {
        const res = await admin.app.inject({
          method: 'POST',
          url: '/api/generate',
          headers: { ...dashboardAuth, 'content-type': 'application/json' },
          payload: JSON.stringify({
            prompt: `clip ${i}`,
            duration: 5,
            quality: '720p',
            aspectRatio: '16:9',
            metadata: { batch: 'e2e', index: String(i) },
          }),
        });
        expect(res.statusCode).toBe(201);
        submitted.push((res.json() as { task_id: string }).task_id);
      }
    });
    await Promise.all(lanes);
    expect(new Set(submitted).size).toBe(TASKS);

    // The provider finishes every task and exhausts its retries against the closed port.
    await waitFor(() => backing.media.lifecycle.deliveries().length === TASKS, {
      timeoutMs: 30_000,
      description: 'callbacks given up',
    });
    await backing.media.lifecycle.settled();
    expect(backing.media.lifecycle.deliveries().filter((d) => d.delivered)).toEqual([]);
    const retries = backing.media.lifecycle.deliveries().map((d) => d.attempts.length);
    expect(Math.min(...retries)).toBe(RETRY_DELAYS_MS.length + 1);
    // Only now does the ingress come back, on the URL the provider was given.
    ingress = await buildTestIngress(backing.redis.url, {
      QUEUE_PREFIX: prefix,
      EVENTS_STREAM: stream,
      INGRESS_PORT: String(ingressPort),
    });

    const events = await waitFor(
      async () => {
        const all = await readEvents(started.config, stream);
        return outcomesByTask(all).size >= TASKS ? all : null;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: `${TASKS} tasks to end` },
    );
    // A little longer: a second outcome of any task would show up now.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const final = await readEvents(started.config, stream);
    const counts = outcomesByTask(final);
    expect([...counts.keys()].sort()).toEqual([...submitted].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(final.length).toBeGreaterThanOrEqual(events.length);

    const stored = final.filter((e) => e.type === 'media.stored');
    const failed = final.filter((e) => e.type === 'task.failed');
    const failedTasks = backing.media.tasks.list().filter((t) => t.state === 'fail').length;
    expect(stored.length).toBe(TASKS - failedTasks);
    expect(failed.length).toBe(failedTasks);
    // Recovered by polling: each stored event says so and carries the labels registered with it.
    expect(stored.every((e) => e.source === 'poll' && e.metadata?.batch === 'e2e')).toBe(true);
    expect(failed.every((e) => e.metadata?.batch === 'e2e' && e.source === 'provider')).toBe(true);

    const polls = submitted.map((id) => backing.media.api.polls(id));
    const perTask = polls.reduce((a, b) => a + b, 0) / TASKS;
    console.log(
      `reconcile e2e: ${TASKS} tasks, ${stored.length} recovered by polling (stored), ${failed.length} failed (classified from polls); ` +
        `polls per task: mean ${perTask.toFixed(2)}, max ${Math.max(...polls)}; simulator requests ${JSON.stringify(backing.media.api.counts())}`,
    );
    expect(Math.max(...polls)).toBeLessThanOrEqual(3);

    // Failures found by polls are on the task records and in the status index, as the worker's own.
    const get = (url: string) => admin.app.inject({ method: 'GET', url, headers: dashboardAuth });
    const listed = (await get('/api/tasks?status=failed&limit=200')).json() as { tasks: Array<{ task_id: string }> };
    expect(listed.tasks.map((t) => t.task_id).sort()).toEqual(failed.map((e) => e.task_id).sort());
    const one = await get(`/api/tasks/${failed[0]?.task_id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ status: 'failed' });
    const storedView = await get(`/api/tasks/${stored[0]?.task_id}`);
    expect(storedView.json()).toMatchObject({ status: 'stored' });

    // The registry's open index is empty: every task left it when it ended.
    const open = await admin.redis.zcard(`${prefix}:relay:poll:due`);
    expect(open).toBe(0);
  }, 180_000);

  it('without PROVIDER_API_KEY the worker says so and polls nothing; a stored task still leaves the registry, its labels on media.stored', async () => {
    const prefix = uniquePrefix();
    const stream = `${prefix}:events`;
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    const env = { QUEUE_PREFIX: prefix, EVENTS_STREAM: stream, RECONCILE_AFTER_S: '0', RECONCILE_PASS_S: '1' };
    const plain = await startTestWorker(
      backing.redis.url,
      backing.s3,
      { S3_PREFIX: prefix, LOG_LEVEL: 'info', ...env },
      { loopbackIsPublic: true, logDestination: destination },
    );
    const front = await buildTestIngress(backing.redis.url, env);
    try {
      expect(lines.some((line) => line.includes('PROVIDER_API_KEY unset: the reconciler does not run'))).toBe(true);
      const keys = relayKeys(prefix, plain.config.QUEUE_NAME);
      const registry = createTaskRegistry({ redis: front.inspect, keys, afterS: 0, ttlSeconds: 3600 });
      const taskId = `nokey-${prefix}`;
      await registry.register(taskId, { customer: 'acme' });
      const pollsBefore = backing.media.api.counts().record_detail ?? 0;
      const body = simulatedSuccess(backing.media, taskId, { size: 4096 }, null);
      const res = await front.app.inject({
        method: 'POST',
        url: '/callbacks/runway',
        headers: providerHeaders(taskId),
        payload: JSON.stringify(body),
      });
      expect(res.statusCode).toBe(200);
      const [stored] = await waitFor(
        async () => {
          const list = (await readEvents(plain.config, stream)).filter((e) => e.type === 'media.stored');
          return list.length > 0 ? list : null;
        },
        { timeoutMs: 20_000, description: 'media.stored' },
      );
      expect(stored).toMatchObject({ task_id: taskId, metadata: { customer: 'acme' } });
      expect(stored && 'source' in stored ? stored.source : undefined).toBeUndefined();
      // The event is written before the task is marked final (docs/worker.md): wait for the registry too.
      const registered = await waitFor(
        async () => {
          const entry = await registry.get(taskId);
          return entry?.terminalReason === 'stored' ? entry : null;
        },
        { timeoutMs: 10_000, description: 'registry says stored' },
      );
      expect(registered).toMatchObject({ terminalReason: 'stored' });
      expect(await front.inspect.zscore(keys.pollDue, taskId)).toBeNull();
      // Two pass periods later, still no poll: there is no reconciler without a key.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(backing.media.api.counts().record_detail ?? 0).toBe(pollsBefore);
    } finally {
      await front.close();
      await plain.close();
    }
  }, 60_000);
});
