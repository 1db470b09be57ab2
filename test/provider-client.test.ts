import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relayKeys } from '@runway-relay/contracts';
import {
  createProviderClient,
  createProviderMetrics,
  createRedisRateLimiter,
  type ProviderClientOptions,
  ProviderError,
} from '@runway-relay/provider-client';
import { type MediaServer, startMediaServer } from '@runway-relay/simulator';
import { freePort, type RedisServerHarness, startRedisServer } from '@runway-relay/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const KEY = 'sk-provider-test-0123456789';
let redisServer: RedisServerHarness;
let sim: MediaServer;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  redisServer = await startRedisServer();
  sim = await startMediaServer({ apiKey: KEY, provider: { stateMs: { wait: 5, queueing: 5, generating: 5 } } });
});
afterAll(async () => {
  await sim?.close();
  await redisServer?.dispose();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const client = (options: Partial<ProviderClientOptions> = {}) =>
  createProviderClient({ baseUrl: sim.origin, apiKey: KEY, backoff: { baseMs: 20, maxMs: 200 }, ...options });

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

let counter = 0;
const nextId = (label: string) => `${label}-${++counter}`;

/** An HTTP server answering every request with `answer` (or never, when it is undefined). */
async function rawServer(answer?: { status: number; body: string }): Promise<string> {
  const server: Server = createServer((_req, res) => {
    if (!answer) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('provider client: answers', () => {
  it('normalises record-detail in every state, and the Aleph record-info, into one shape', async () => {
    const ok = nextId('ok');
    sim.tasks.put({ taskId: ok, state: 'success', videoId: 'v1', videoUrl: sim.url(ok, 'video'), imageUrl: '' });
    const running = nextId('run');
    sim.tasks.put({ taskId: running, state: 'queueing' });
    const failed = nextId('fail');
    sim.tasks.put({
      taskId: failed,
      state: 'fail',
      failCode: 500,
      failMsg: 'Generation failed, please try again later',
    });
    const old = nextId('old');
    sim.tasks.put({ taskId: old, state: 'success', videoId: 'v2', videoUrl: sim.url(old, 'video') });
    sim.expire(old);
    const aleph = nextId('aleph');
    sim.tasks.put({ taskId: aleph, model: 'aleph', state: 'success', videoUrl: sim.url(aleph, 'video') });

    const api = client();
    expect(await api.taskDetail(ok)).toEqual({
      model: 'runway',
      taskId: ok,
      state: 'success',
      video: { videoId: 'v1', videoUrl: sim.url(ok, 'video'), imageUrl: null },
      failCode: null,
      failMsg: '',
      expired: false,
    });
    expect(await api.taskDetail(running)).toMatchObject({ state: 'queueing', video: null });
    expect(await api.taskDetail(failed)).toMatchObject({ state: 'fail', failCode: 500, failMsg: /try again later/ });
    expect(await api.taskDetail(old)).toMatchObject({ state: 'success', expired: true });
    expect(await api.taskDetail(aleph, 'aleph')).toMatchObject({
      model: 'aleph',
      state: 'success',
      video: { videoUrl: sim.url(aleph, 'video') },
    });
  });

  it('creates tasks with generate, extend and the Aleph model', async () => {
    const api = client();
    const { taskId } = await api.generate({ prompt: 'a cat', duration: 5, quality: '720p', aspectRatio: '16:9' });
    expect(sim.tasks.get(taskId)).toBeDefined();
    const aleph = await api.generateAleph({ prompt: 'watercolour', videoUrl: 'https://example.com/in.mp4' });
    expect(sim.tasks.get(aleph.taskId)?.model).toBe('aleph');
    sim.tasks.put({ taskId: 'extend-source', state: 'success', videoUrl: sim.url('extend-source', 'video') });
    const extended = await api.extend({ taskId: 'extend-source', prompt: 'more', quality: '720p' });
    expect(sim.tasks.get(extended.taskId)).toBeDefined();
  });
});

describe('provider client: typed errors', () => {
  it('a wrong key is `auth` with code 401, not retried, and the key is in no message', async () => {
    const before = sim.api.counts().record_detail ?? 0;
    const error = await failure(client({ apiKey: 'sk-wrong-key' }).taskDetail('x'));
    expect(error).toMatchObject({ kind: 'auth', code: 401, status: 401, retryable: false, attempts: 1 });
    expect((sim.api.counts().record_detail ?? 0) - before).toBe(1);
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('sk-wrong-key');
  });

  it('a refused body is `bad_request` with the provider code 422, and a POST is never retried on it', async () => {
    const before = sim.api.counts().generate ?? 0;
    const error = await failure(client().generate({ prompt: 'a cat', duration: 10, quality: '1080p' }));
    expect(error).toMatchObject({ kind: 'bad_request', code: 422, status: 200, endpoint: 'generate' });
    expect(error.message).toContain('1080p');
    expect((sim.api.counts().generate ?? 0) - before).toBe(1);
  });

  it('code 402 in an HTTP 200 body is `credits`; an unknown task is `bad_request` 404', async () => {
    sim.api.injectFaults(1, { code: 402 });
    expect(await failure(client().taskDetail('x'))).toMatchObject({ kind: 'credits', code: 402, status: 200 });
    expect(await failure(client().taskDetail('never-created'))).toMatchObject({ kind: 'bad_request', code: 404 });
  });

  it('no answer is `network` (a timeout, or nobody listening); a non-envelope is `invalid_answer`', async () => {
    const silent = await rawServer();
    const timeout = await failure(client({ baseUrl: silent, timeoutMs: 200, retries: 0 }).taskDetail('x'));
    expect(timeout).toMatchObject({ kind: 'network', retryable: true });
    expect(timeout.message).toContain('timed out');
    const closed = `http://127.0.0.1:${await freePort()}`;
    expect(await failure(client({ baseUrl: closed, retries: 1 }).taskDetail('x'))).toMatchObject({
      kind: 'network',
      notSent: true,
      attempts: 2,
    });
    const html = await rawServer({ status: 200, body: '<html>maintenance</html>' });
    expect(await failure(client({ baseUrl: html }).taskDetail('x'))).toMatchObject({ kind: 'invalid_answer' });
    const odd = await rawServer({
      status: 200,
      body: '{"code":200,"msg":"success","data":{"taskId":"t","state":"?"}}',
    });
    const invalid = await failure(client({ baseUrl: odd }).taskDetail('t'));
    expect(invalid).toMatchObject({ kind: 'invalid_answer', attempts: 1 });
    expect(invalid.message).toContain('state');
    const huge = await rawServer({ status: 200, body: `{"code":200,"msg":"${'x'.repeat(2 * 1024 * 1024)}"}` });
    expect(await failure(client({ baseUrl: huge }).taskDetail('t'))).toMatchObject({ kind: 'invalid_answer' });
  });
});

describe('provider client: retries', () => {
  it('retries a GET through 5xx and 429 with backoff, and counts each attempt by outcome', async () => {
    const registry = new Registry();
    const metrics = createProviderMetrics(registry);
    const id = nextId('retry');
    sim.tasks.put({ taskId: id, state: 'generating' });
    sim.api.injectFaults(1, { code: 500, httpStatus: 500 });
    sim.api.injectFaults(1, { code: 429 });
    const detail = await client({ metrics }).taskDetail(id);
    expect(detail.state).toBe('generating');
    expect(sim.api.polls(id)).toBe(1); // the two faulted attempts were answered before the task lookup
    const text = await registry.metrics();
    expect(text).toContain('relay_provider_requests_total{endpoint="record_detail",outcome="server"} 1');
    expect(text).toContain('relay_provider_requests_total{endpoint="record_detail",outcome="rate_limited"} 1');
    expect(text).toContain('relay_provider_requests_total{endpoint="record_detail",outcome="ok"} 1');
    expect(text).toContain('relay_provider_retries_total{endpoint="record_detail"} 2');
    expect(text).not.toContain(KEY);
  });

  it('waits at least the Retry-After the provider asked for', async () => {
    sim.api.injectFaults(1, { code: 503, httpStatus: 503, retryAfterS: 1 });
    const id = nextId('after');
    sim.tasks.put({ taskId: id, state: 'wait' });
    const started = Date.now();
    await client({ backoff: { baseMs: 1, maxMs: 5000 } }).taskDetail(id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after the configured retries with the last error and its attempts', async () => {
    sim.api.injectFaults(3, { code: 502, httpStatus: 502 });
    const error = await failure(client({ retries: 2 }).taskDetail('x'));
    expect(error).toMatchObject({ kind: 'server', code: 502, attempts: 3 });
  });

  it('never repeats a generate after a 5xx (it may have created a task), but does after a 429', async () => {
    const body = { prompt: 'a cat', duration: 5, quality: '720p', aspectRatio: '16:9' } as const;
    let before = sim.api.counts().generate ?? 0;
    sim.api.injectFaults(1, { code: 500 });
    expect(await failure(client().generate(body))).toMatchObject({ kind: 'server', attempts: 1 });
    expect((sim.api.counts().generate ?? 0) - before).toBe(1);
    before = sim.api.counts().generate ?? 0;
    sim.api.injectFaults(1, { code: 429 });
    await client().generate(body);
    expect((sim.api.counts().generate ?? 0) - before).toBe(2);
  });
});

describe('provider client: the rate limiter shared through Redis', () => {
  it('two clients (two connections) together never exceed burst + rate · t at the provider', async () => {
    const rate = 10;
    const burst = 2;
    const key = relayKeys(`limit${++counter}`, 'q').providerRate;
    const connections = [new Redis(redisServer.url), new Redis(redisServer.url)];
    cleanups.push(async () => Promise.all(connections.map((c) => c.quit())));
    const clients = connections.map((redis) =>
      client({ limiter: createRedisRateLimiter({ redis, key, ratePerSecond: rate, burst }) }),
    );
    const id = nextId('limited');
    sim.tasks.put({ taskId: id, state: 'generating' });
    const first = sim.api.arrivals().length;
    await Promise.all(clients.flatMap((api) => Array.from({ length: 12 }, () => api.taskDetail(id))));
    const arrivals = sim.api.arrivals().slice(first);
    expect(arrivals).toHaveLength(24);
    // Every span between two arrivals holds at most burst + rate · span (+1 for the arrival
    // jitter between the token's grant and the request reaching the simulator).
    for (let i = 0; i < arrivals.length; i += 1) {
      for (let j = i; j < arrivals.length; j += 1) {
        const span = ((arrivals[j] as number) - (arrivals[i] as number)) / 1000;
        expect(j - i + 1).toBeLessThanOrEqual(burst + rate * span + 1);
      }
    }
    const elapsed = ((arrivals.at(-1) as number) - (arrivals[0] as number)) / 1000;
    expect(elapsed).toBeGreaterThanOrEqual((24 - burst - 1) / rate - 0.1);
  });

  it('a request someone waits on gives up on a spent budget after limiterTimeoutMs, sending nothing', async () => {
    const key = relayKeys(`limit${++counter}`, 'q').providerRate;
    const redis = new Redis(redisServer.url);
    cleanups.push(async () => {
      await redis.quit();
    });
    const limiter = createRedisRateLimiter({ redis, key, ratePerSecond: 0.2, burst: 1 });
    const api = client({ limiter, limiterTimeoutMs: 200, retries: 0 });
    const body = { prompt: 'a cat', duration: 5, quality: '720p', aspectRatio: '16:9' } as const;
    const before = sim.api.counts().generate ?? 0;
    await api.generate(body);
    const started = Date.now();
    const error = await failure(api.generate(body));
    expect(error).toMatchObject({ kind: 'rate_limited', notSent: true, retryAfterMs: 200 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect((sim.api.counts().generate ?? 0) - before).toBe(1);
  });
});
