import { createTaskRegistry } from '@runway-relay/admission';
import { registryTtlSeconds, relayKeys } from '@runway-relay/contracts';
import { type MediaServer, startMediaServer } from '@runway-relay/simulator';
import { type RedisServerHarness, startRedisServer } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_PASSWORD,
  DASHBOARD_USER,
  dashboardAuth,
  startTestDashboard,
  type TestDashboard,
} from './helpers/dashboard.js';
import { uniquePrefix } from './helpers/ingress.js';

const KEY = 'sk-registration-test';
const CALLBACK_URL = 'https://relay.example/callbacks/runway';

let redisServer: RedisServerHarness;
let sim: MediaServer;
let dashboard: TestDashboard;
let inspect: Redis;

const env = (prefix: string, extra: Record<string, string> = {}) => ({
  REDIS_URL: redisServer.url,
  QUEUE_PREFIX: prefix,
  DASHBOARD_USER,
  DASHBOARD_PASSWORD,
  NODE_ENV: 'test',
  PROVIDER_API_URL: sim.origin,
  PROVIDER_API_KEY: KEY,
  PROVIDER_RPS: '1000',
  PROVIDER_BURST: '100',
  PUBLIC_CALLBACK_URL: CALLBACK_URL,
  ...extra,
});

beforeAll(async () => {
  redisServer = await startRedisServer();
  // Callbacks suppressed: the test is about submission, the callback URL is not reachable.
  sim = await startMediaServer({ apiKey: KEY, provider: { callbacks: { suppress: true } } });
  dashboard = await startTestDashboard(env(uniquePrefix()));
  inspect = new Redis(redisServer.url);
});
afterAll(async () => {
  inspect?.disconnect();
  await dashboard?.close();
  await sim?.close();
  await redisServer?.dispose();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}, app = dashboard.app) =>
  app.inject({
    method: 'POST',
    url,
    headers: { ...dashboardAuth, 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });

const registryOf = (d: TestDashboard) =>
  createTaskRegistry({
    redis: inspect,
    keys: relayKeys(d.config.QUEUE_PREFIX, d.config.QUEUE_NAME),
    afterS: d.config.RECONCILE_AFTER_S,
    ttlSeconds: registryTtlSeconds(d.config),
  });

const GENERATE = { prompt: 'a cat on a skateboard', duration: 5, quality: '720p', aspectRatio: '16:9' };
const ALEPH = {
  model: 'aleph',
  prompt: 'as a watercolour',
  videoUrl: 'https://example.com/in.mp4',
  aspectRatio: '21:9',
};

describe('POST /api/tasks', () => {
  it('registers a task once: the same id again answers 200 registered false and changes nothing', async () => {
    const first = await post('/api/tasks', { task_id: 'reg-1', metadata: { customer: 'acme', model: 'runway' } });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ task_id: 'reg-1', registered: true });
    const before = await registryOf(dashboard).get('reg-1');
    expect(before?.metadata).toEqual({ customer: 'acme', model: 'runway' });

    const again = await post('/api/tasks', { task_id: 'reg-1', metadata: { customer: 'mallory' } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ task_id: 'reg-1', registered: false });
    expect(await registryOf(dashboard).get('reg-1')).toEqual(before);
  });

  it.each([
    ['no task id', { metadata: {} }, 'task_id'],
    ['a task id with a slash', { task_id: '../etc' }, 'task_id'],
    ['a field nobody knows', { task_id: 'x-1', priority: 'high' }, 'priority'],
    ['a non-string label', { task_id: 'x-2', metadata: { n: 1 } }, 'metadata.n'],
    ['an unknown model', { task_id: 'x-3', metadata: { model: 'sora' } }, 'metadata.model'],
    ['a label over 1024 characters', { task_id: 'x-4', metadata: { note: 'y'.repeat(1025) } }, 'metadata.note'],
    [
      'more than 32 labels',
      { task_id: 'x-5', metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) },
      'at most 32 entries',
    ],
  ])('answers 400 naming the problem for %s, registering nothing', async (_what, body, named) => {
    const res = await post('/api/tasks', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
    expect(res.json().message).toContain(named);
    const id = (body as { task_id?: string }).task_id;
    if (id && !id.includes('/')) expect(await registryOf(dashboard).get(id)).toBeNull();
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const res = await post('/api/tasks', { task_id: 'big', metadata: { a: 'z'.repeat(70_000) } });
    expect(res.statusCode).toBe(413);
    expect(await registryOf(dashboard).get('big')).toBeNull();
  });

  it('needs basic auth, and refuses cross-site and non-JSON requests like the other admin POSTs', async () => {
    const anonymous = await dashboard.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ task_id: 'anon' }),
    });
    expect(anonymous.statusCode).toBe(401);
    const forged = await post('/api/generate', GENERATE, {
      origin: 'https://attacker.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ error: 'cross_site_request' });
    const form = await post('/api/tasks', { task_id: 'form' }, { 'content-type': 'text/plain' });
    expect(form.statusCode).toBe(415);
    expect(await registryOf(dashboard).get('anon')).toBeNull();
    expect(await registryOf(dashboard).get('form')).toBeNull();
    expect(sim.api.counts().generate ?? 0).toBe(0);
  });
});

describe('POST /api/generate', () => {
  it('submits through the provider client with PUBLIC_CALLBACK_URL and registers the task with its labels', async () => {
    const res = await post('/api/generate', { ...GENERATE, metadata: { customer: 'acme' } });
    expect(res.statusCode).toBe(201);
    const { task_id: taskId } = res.json() as { task_id: string };
    expect(sim.tasks.get(taskId)).toBeDefined();
    const registered = await registryOf(dashboard).get(taskId);
    expect(registered).toMatchObject({ taskId, metadata: { customer: 'acme' }, polls: 0 });
  });

  it.each([
    ['a duration of 7 s', { ...GENERATE, duration: 7 }, 'duration'],
    ['10 s at 1080p', { ...GENERATE, duration: 10, quality: '1080p' }, 'quality: 1080p is not available'],
    ['text only without an aspect ratio', { prompt: 'x', duration: 5, quality: '720p' }, 'aspectRatio'],
    ['a callBackUrl of its own', { ...GENERATE, callBackUrl: 'https://evil.example/' }, 'callBackUrl'],
    ['an empty prompt', { ...GENERATE, prompt: '  ' }, 'prompt'],
  ])('answers 400 naming the problem for %s, sending nothing', async (_what, body, named) => {
    const before = sim.api.counts().generate ?? 0;
    const res = await post('/api/generate', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain(named);
    expect(sim.api.counts().generate ?? 0).toBe(before);
  });

  it('with "model": "aleph" submits to the Aleph endpoint and registers the task for Aleph\'s detail endpoint', async () => {
    const before = { runway: sim.api.counts().generate ?? 0, aleph: sim.api.counts().aleph_generate ?? 0 };
    const res = await post('/api/generate', { ...ALEPH, metadata: { customer: 'acme' } });
    expect(res.statusCode).toBe(201);
    const { task_id: taskId } = res.json() as { task_id: string };
    expect(sim.tasks.get(taskId)).toMatchObject({ model: 'aleph', prompt: ALEPH.prompt });
    expect(sim.api.counts().aleph_generate).toBe(before.aleph + 1);
    expect(sim.api.counts().generate ?? 0).toBe(before.runway);
    const registered = await registryOf(dashboard).get(taskId);
    expect(registered).toMatchObject({ taskId, model: 'aleph', metadata: { customer: 'acme', model: 'aleph' } });
  });

  it.each([
    ['an Aleph body without videoUrl', { model: 'aleph', prompt: 'x' }, 'videoUrl'],
    ['an Aleph body with a Runway field', { ...ALEPH, duration: 5 }, 'duration'],
    ['an Aleph aspect ratio the provider does not know', { ...ALEPH, aspectRatio: '2:1' }, 'aspectRatio'],
    ['an unknown model', { ...GENERATE, model: 'sora' }, 'model'],
    [
      'a Runway task labelled as Aleph',
      { ...GENERATE, metadata: { model: 'aleph' } },
      'metadata.model: must be runway',
    ],
    ['an Aleph task labelled as Runway', { ...ALEPH, metadata: { model: 'runway' } }, 'metadata.model: must be aleph'],
  ])('answers 400 naming the problem for %s, sending nothing', async (_what, body, named) => {
    const before = JSON.stringify(sim.api.counts());
    const res = await post('/api/generate', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
    expect(res.json().message).toContain(named);
    expect(JSON.stringify(sim.api.counts())).toBe(before);
  });

  it.each([
    ['no credits (402)', { code: 402 }, 1, 402, 'provider_credits'],
    ['a refused key (401)', { code: 401, httpStatus: 401 }, 1, 502, 'provider_auth'],
    ['a server error (500)', { code: 500 }, 1, 502, 'provider_error'],
    ['a refused body (422)', { code: 422 }, 1, 422, 'provider_refused'],
  ])('maps %s to a clear status', async (_what, fault, count, status, error) => {
    sim.api.injectFaults(count, fault);
    const res = await post('/api/generate', GENERATE);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ error });
    expect(res.body).not.toContain(KEY);
  });

  it('maps a rate limit that outlasts the retries to 503 with Retry-After', async () => {
    // The first attempt and the client's 3 retries are all limited.
    sim.api.injectFaults(4, { code: 429, httpStatus: 429, retryAfterS: 1 });
    const res = await post('/api/generate', GENERATE);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ error: 'provider_rate_limited' });
  });

  it('answers 503 naming PUBLIC_CALLBACK_URL when it is unset, before sending anything', async () => {
    const bare = await startTestDashboard(env(uniquePrefix(), { PUBLIC_CALLBACK_URL: '' }));
    try {
      const before = sim.api.counts().generate ?? 0;
      const res = await post('/api/generate', GENERATE, {}, bare.app);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'public_callback_url_unset' });
      expect(res.json().message).toContain('PUBLIC_CALLBACK_URL');
      expect(sim.api.counts().generate ?? 0).toBe(before);
    } finally {
      await bare.close();
    }
  });
});
