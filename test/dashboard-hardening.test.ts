import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { jobIdFor, relayKeys } from '@runway-relay/contracts';
import type { RedisClient } from '@runway-relay/runtime';
import { waitFor } from '@runway-relay/testkit';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDashboard, taskRecordFields } from './helpers/dashboard.js';
import { startFailingWorker } from './helpers/failing-worker.js';
import { useRedisServer } from './helpers/per-file.js';

/* Issue 10, items 6a (cross-site requests) and 6b (password guessing) against a real Redis. */

const USER = 'ops';
const PASSWORD = 'correct horse battery staple';
const HOST = 'dashboard.internal:3001';

const redisServer = useRedisServer();
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Built {
  app: FastifyInstance;
  queue: Queue;
  redis: RedisClient;
  /** Every log line written so far, parsed. */
  lines: Array<Record<string, unknown>>;
}

/** A dashboard through `createDashboard` (the shared helper), its log lines read back. */
async function build(env: Record<string, string> = {}): Promise<Built> {
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const dashboard = await startTestDashboard(
    {
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      DASHBOARD_USER: USER,
      DASHBOARD_PASSWORD: PASSWORD,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ...env,
    },
    { logDestination: destination },
  );
  cleanups.push(() => dashboard.close());
  return { app: dashboard.app, queue: dashboard.queue, redis: dashboard.redis, lines };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const auth = { authorization: basic(USER, PASSWORD), host: HOST };

/** A task whose job really failed (a real BullMQ worker failed it for good), ready to retry. */
async function failedTask(built: Built): Promise<string> {
  const taskId = randomUUID();
  const jobId = jobIdFor(taskId, 'success');
  await built.queue.add('callback', { fail: true }, { jobId });
  const worker = startFailingWorker(redisServer.url, built.queue);
  await waitFor(async () => (await built.queue.getJob(jobId))?.isFailed(), { description: 'the job to fail' });
  await worker.close();
  // What the ingress's claim and the worker's task store leave behind.
  await built.redis.hset(
    relayKeys(built.queue.opts.prefix ?? '', built.queue.name).task(taskId),
    taskRecordFields(taskId, { status: 'failed', attempts: 1 }),
  );
  return taskId;
}

const stateOf = async (built: Built, taskId: string) =>
  (await built.queue.getJob(jobIdFor(taskId, 'success')))?.getState();

describe('state-changing requests from other sites (item 6a)', () => {
  it('refuses a cross-site text/plain POST that the browser sends with the cached credentials', async () => {
    const built = await build();
    const taskId = await failedTask(built);
    // What a hidden form on another site produces: text/plain, Origin and Sec-Fetch-Site set.
    const forged = await built.app.inject({
      method: 'POST',
      url: `/api/tasks/${taskId}/retry`,
      headers: {
        ...auth,
        'content-type': 'text/plain',
        origin: 'https://attacker.example',
        'sec-fetch-site': 'cross-site',
      },
      payload: '{}',
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toEqual({ error: 'cross_site_request', message: expect.any(String) });
    // Without Origin and Sec-Fetch-Site (an old browser), the content type alone refuses it, bodyless too.
    for (const payload of ['{}', '']) {
      const plain = await built.app.inject({
        method: 'POST',
        url: `/api/tasks/${taskId}/retry`,
        headers: { ...auth, 'content-type': 'text/plain' },
        payload,
      });
      expect(plain.statusCode, `payload ${JSON.stringify(payload)}`).toBe(415);
      expect(plain.json()).toMatchObject({ error: 'unsupported_media_type' });
    }
    const form = await built.app.inject({
      method: 'POST',
      url: `/api/tasks/${taskId}/retry`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1',
    });
    expect(form.statusCode).toBe(415);
    expect(await stateOf(built, taskId)).toBe('failed');

    // The dashboard's own pages and curl still work: same origin with JSON, or no browser headers at all.
    const sameOrigin = await built.app.inject({
      method: 'POST',
      url: `/api/tasks/${taskId}/retry`,
      headers: {
        ...auth,
        'content-type': 'application/json',
        origin: `http://${HOST}`,
        'sec-fetch-site': 'same-origin',
      },
      payload: '{}',
    });
    expect(sameOrigin.statusCode).toBe(202);
    expect(['waiting', 'active']).toContain(await stateOf(built, taskId));
    const other = await failedTask(built);
    const curl = await built.app.inject({ method: 'POST', url: `/api/tasks/${other}/retry`, headers: auth });
    expect(curl.statusCode).toBe(202);
  });

  it('answers 403 cross_site_request for a foreign or null Origin, or Sec-Fetch-Site cross-site / same-site', async () => {
    const built = await build();
    const taskId = await failedTask(built);
    const json = { ...auth, 'content-type': 'application/json' };
    for (const headers of [
      { origin: 'http://evil.example:3001' },
      { origin: `https://${HOST}.evil.example` },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: `http://${HOST}`, 'sec-fetch-site': 'cross-site' },
    ]) {
      const res = await built.app.inject({
        method: 'POST',
        url: `/api/tasks/${taskId}/retry`,
        headers: { ...json, ...headers },
        payload: '{}',
      });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json()).toMatchObject({ error: 'cross_site_request' });
    }
    expect(await stateOf(built, taskId)).toBe('failed');
    // Reads stay open to any origin's navigation (they change nothing).
    const read = await built.app.inject({
      method: 'GET',
      url: `/api/tasks/${taskId}`,
      headers: { ...auth, 'sec-fetch-site': 'cross-site' },
    });
    expect(read.statusCode).toBe(200);
  });

  it("guards Bull Board's own actions too, while its UI's bodyless same-origin PUTs still work", async () => {
    const built = await build();
    const taskId = await failedTask(built);
    const url = `/admin/queues/api/queues/${built.queue.name}/retry/failed`;
    const forged = await built.app.inject({
      method: 'PUT',
      url,
      headers: { ...auth, origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.statusCode).toBe(403);
    const plain = await built.app.inject({ method: 'PUT', url, headers: { ...auth, 'content-type': 'text/plain' } });
    expect(plain.statusCode).toBe(415);
    expect(await stateOf(built, taskId)).toBe('failed');
    // Bull Board's UI (axios) sends no Content-Type on a PUT without data.
    const ui = await built.app.inject({
      method: 'PUT',
      url,
      headers: { ...auth, origin: `http://${HOST}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(ui.statusCode).toBeLessThan(300);
    expect(['waiting', 'active']).toContain(await stateOf(built, taskId));
  });
});

describe('password guessing (item 6b)', () => {
  it('answers 429 with Retry-After after 10 failures from one address, and logs a bounded number of lines', async () => {
    const built = await build();
    const statuses = new Map<number, number>();
    const started = Date.now();
    for (let i = 0; i < 2000; i++) {
      const res = await built.app.inject({
        method: 'GET',
        url: '/api/events',
        headers: { authorization: basic(USER, `guess-${i}`) },
        remoteAddress: '198.51.100.7',
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 429) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
    }
    const elapsedMs = Date.now() - started;
    expect(Object.fromEntries(statuses)).toEqual({ 401: 10, 429: 1990 });

    // While blocked, even the right password from that address is refused (no oracle)…
    const right = { authorization: basic(USER, PASSWORD) };
    const blocked = await built.app.inject({
      method: 'GET',
      url: '/api/events',
      headers: right,
      remoteAddress: '198.51.100.7',
    });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ error: 'too_many_failed_logins' });
    // …other addresses are not affected, and probes stay open.
    expect(
      (await built.app.inject({ method: 'GET', url: '/api/events', headers: right, remoteAddress: '198.51.100.8' }))
        .statusCode,
    ).toBe(200);
    expect((await built.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.7' })).statusCode).toBe(
      200,
    );

    const failedLines = built.lines.filter((line) => line.msg === 'dashboard authentication failed');
    const throttledLines = built.lines.filter((line) => line.msg === 'dashboard authentication throttled');
    expect(failedLines).toHaveLength(3);
    expect(throttledLines).toEqual([expect.objectContaining({ ip: '198.51.100.7', failures: 10, retry_after_s: 60 })]);
    const bytes = built.lines.reduce((sum, line) => sum + JSON.stringify(line).length, 0);
    expect(bytes).toBeLessThan(20_000);
    // For the record in the test output: how fast, and how much log, 2,000 guesses now cost.
    console.log(`2000 wrong passwords in ${elapsedMs} ms → ${built.lines.length} log lines, ${bytes} bytes`);
  });

  it('counts only failures: successful requests never throttle an address', async () => {
    const built = await build({ DASHBOARD_AUTH_MAX_FAILURES: '3' });
    for (let i = 0; i < 50; i++) {
      const res = await built.app.inject({
        method: 'GET',
        url: '/api/events',
        headers: auth,
        remoteAddress: '203.0.113.5',
      });
      expect(res.statusCode).toBe(200);
    }
    for (let i = 0; i < 3; i++) {
      const res = await built.app.inject({
        method: 'GET',
        url: '/api/events',
        headers: { authorization: basic(USER, 'nope') },
        remoteAddress: '203.0.113.5',
      });
      expect(res.statusCode).toBe(401);
    }
    expect(
      (await built.app.inject({ method: 'GET', url: '/api/events', headers: auth, remoteAddress: '203.0.113.5' }))
        .statusCode,
    ).toBe(429);
  });
});

describe('request log', () => {
  it('writes one line per request (no query string), none for probes at info', async () => {
    const built = await build();
    const res = await built.app.inject({ method: 'GET', url: '/api/events?count=5', headers: auth });
    expect(res.statusCode).toBe(200);
    await built.app.inject({ method: 'GET', url: '/healthz' });
    const requestLines = built.lines.filter((line) => line.reqId !== undefined);
    expect(requestLines).toEqual([
      expect.objectContaining({ msg: 'request completed', method: 'GET', url: '/api/events', status: 200 }),
    ]);
    expect(typeof requestLines[0]?.ms).toBe('number');
  });
});
