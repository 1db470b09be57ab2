import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RawCallbackSchema } from '@runway-relay/contracts';
import { waitFor } from '@runway-relay/testkit';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type MediaServer, type MediaServerOptions, startMediaServer } from './media-server.js';

const KEY = 'sim-key';
const FAST = { wait: 10, queueing: 10, generating: 10 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(provider: MediaServerOptions['provider'] = {}): Promise<MediaServer> {
  const sim = await startMediaServer({ apiKey: KEY, provider: { stateMs: FAST, ...provider } });
  cleanups.push(() => sim.close());
  return sim;
}

/** A receiver that records every callback body it is sent and answers 200. */
async function receiver(): Promise<{ url: string; bodies: Array<Record<string, unknown>> }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/runway`, bodies };
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: { code: number; msg: string; data: Record<string, unknown> | null };
}

async function call(sim: MediaServer, method: 'GET' | 'POST', path: string, body?: unknown, key = KEY) {
  const response = await request(`${sim.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (await response.body.json()) as Answer['body'],
  } satisfies Answer;
}

const TEXT_TO_VIDEO = { prompt: 'a cat', duration: 5, quality: '720p', aspectRatio: '16:9' };

describe('simulated provider API: generate', () => {
  it('refuses a wrong key with 401 and code 401, and counts the request', async () => {
    const sim = await simulator();
    const answer = await call(sim, 'POST', '/api/v1/runway/generate', TEXT_TO_VIDEO, 'wrong');
    expect(answer).toMatchObject({ status: 401, body: { code: 401 } });
    expect(sim.api.counts()).toEqual({ generate: 1 });
  });

  it('validates the body like the provider: 10 s excludes 1080p, text-only needs aspectRatio, JSON only', async () => {
    const sim = await simulator();
    const long1080 = await call(sim, 'POST', '/api/v1/runway/generate', {
      ...TEXT_TO_VIDEO,
      duration: 10,
      quality: '1080p',
    });
    expect(long1080.body).toMatchObject({ code: 422, msg: expect.stringContaining('1080p is not available') });
    const noRatio = await call(sim, 'POST', '/api/v1/runway/generate', {
      prompt: 'a cat',
      duration: 5,
      quality: '720p',
    });
    expect(noRatio.body).toMatchObject({ code: 422, msg: expect.stringContaining('aspectRatio is required') });
    const withImage = await call(sim, 'POST', '/api/v1/runway/generate', {
      prompt: 'a cat',
      duration: 10,
      quality: '720p',
      imageUrl: 'https://example.com/cat.png',
    });
    expect(withImage.body).toMatchObject({ code: 200, data: { taskId: expect.any(String) } });
    expect((await call(sim, 'POST', '/api/v1/runway/generate', 'not json')).body.code).toBe(400);
    expect(sim.tasks.list()).toHaveLength(1);
  });

  it('moves a task wait → queueing → generating → success, then calls back once with its media', async () => {
    const sim = await simulator({ stateMs: { wait: 150, queueing: 150, generating: 150 } });
    const hook = await receiver();
    const created = await call(sim, 'POST', '/api/v1/runway/generate', { ...TEXT_TO_VIDEO, callBackUrl: hook.url });
    const taskId = String(created.body.data?.taskId);
    const seen = new Set<string>();
    await waitFor(async () => {
      const detail = await call(sim, 'GET', `/api/v1/runway/record-detail?taskId=${taskId}`);
      seen.add(String(detail.body.data?.state));
      return detail.body.data?.state === 'success';
    });
    expect([...seen]).toEqual(expect.arrayContaining(['wait', 'queueing', 'generating', 'success']));
    await waitFor(() => hook.bodies.length === 1);
    const callback = RawCallbackSchema.parse(hook.bodies[0]);
    expect(callback).toMatchObject({ task_id: taskId, outcome: 'success', video_url: sim.url(taskId, 'video') });
    expect(sim.api.polls(taskId)).toBe(sim.api.counts().record_detail);
  });

  it('fails the configured share with a fixture failCode/failMsg, in the answer and the callback', async () => {
    const sim = await simulator({ failureRatio: 1, failureFixtures: ['prompt_moderation'] });
    const hook = await receiver();
    const created = await call(sim, 'POST', '/api/v1/runway/generate', { ...TEXT_TO_VIDEO, callBackUrl: hook.url });
    const taskId = String(created.body.data?.taskId);
    await waitFor(() => hook.bodies.length === 1);
    const detail = await call(sim, 'GET', `/api/v1/runway/record-detail?taskId=${taskId}`);
    expect(detail.body.data).toMatchObject({ state: 'fail', failCode: 400, failMsg: /AI moderator/, videoInfo: null });
    expect(RawCallbackSchema.parse(hook.bodies[0])).toMatchObject({ task_id: taskId, outcome: 'failure', code: 400 });
  });

  it('loses callbacks when suppressed, and sends duplicates when asked', async () => {
    const sim = await simulator({ callbacks: { suppress: true, duplicates: 1 } });
    const hook = await receiver();
    const lost = await call(sim, 'POST', '/api/v1/runway/generate', { ...TEXT_TO_VIDEO, callBackUrl: hook.url });
    await waitFor(() => sim.tasks.get(String(lost.body.data?.taskId))?.state === 'success');
    sim.lifecycle.setSuppressCallbacks(false);
    const sent = await call(sim, 'POST', '/api/v1/runway/generate', { ...TEXT_TO_VIDEO, callBackUrl: hook.url });
    await waitFor(() => hook.bodies.length === 2);
    await sim.lifecycle.settled();
    // Two copies of the second task's callback; none of the first, whose callback was lost.
    expect(hook.bodies.map(callbackTaskIdOf)).toEqual([sent.body.data?.taskId, sent.body.data?.taskId]);
    expect(sim.lifecycle.deliveries()).toHaveLength(1);
  });

  it('expires the links after the configured time: expireFlag 1 and the CDN answers 403', async () => {
    const sim = await simulator({ linkExpiryMs: 100 });
    const created = await call(sim, 'POST', '/api/v1/runway/generate', TEXT_TO_VIDEO);
    const taskId = String(created.body.data?.taskId);
    await waitFor(async () => {
      const detail = await call(sim, 'GET', `/api/v1/runway/record-detail?taskId=${taskId}`);
      return detail.body.data?.expireFlag === 1;
    });
    const media = await request(sim.url(taskId, 'video'));
    expect(media.statusCode).toBe(403);
    await media.body.dump();
  });

  it('answers code 429 with Retry-After above the configured requests per second', async () => {
    const sim = await simulator({ rateLimitPerSecond: 3 });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => call(sim, 'GET', '/api/v1/runway/record-detail?taskId=none')),
    );
    const limited = answers.filter((answer) => answer.body.code === 429);
    expect(limited).toHaveLength(2);
    expect(limited[0]?.headers['retry-after']).toBe('1');
  });

  it('serves the Aleph model and extensions through the same lifecycle', async () => {
    const sim = await simulator();
    const hook = await receiver();
    const aleph = await call(sim, 'POST', '/api/v1/aleph/generate', {
      prompt: 'watercolour',
      videoUrl: 'https://example.com/in.mp4',
      callBackUrl: hook.url,
    });
    const alephId = String(aleph.body.data?.taskId);
    await waitFor(() => hook.bodies.length === 1);
    expect(hook.bodies[0]).toMatchObject({ taskId: alephId, data: { result_video_url: sim.url(alephId, 'video') } });
    const info = await call(sim, 'GET', `/api/v1/aleph/record-info?taskId=${alephId}`);
    expect(info.body.data).toMatchObject({ successFlag: 1, response: { resultVideoUrl: sim.url(alephId, 'video') } });

    const unknown = await call(sim, 'POST', '/api/v1/runway/extend', {
      taskId: 'nope',
      prompt: 'more',
      quality: '720p',
    });
    expect(unknown.body.code).toBe(400);
    const source = await call(sim, 'POST', '/api/v1/runway/generate', TEXT_TO_VIDEO);
    await waitFor(() => sim.tasks.get(String(source.body.data?.taskId))?.state === 'success');
    const extended = await call(sim, 'POST', '/api/v1/runway/extend', {
      taskId: source.body.data?.taskId,
      prompt: 'more',
      quality: '720p',
    });
    expect(extended.body).toMatchObject({ code: 200, data: { taskId: expect.any(String) } });
    expect(sim.api.counts()).toMatchObject({ aleph_generate: 1, aleph_record_info: 1, extend: 2, generate: 1 });
  });

  it('answers injected faults to the next requests, then normally', async () => {
    const sim = await simulator();
    sim.api.injectFaults(2, { code: 503, httpStatus: 503, retryAfterS: 2 });
    const first = await call(sim, 'GET', '/api/v1/runway/record-detail?taskId=x');
    expect(first).toMatchObject({ status: 503, body: { code: 503 } });
    expect(first.headers['retry-after']).toBe('2');
    expect((await call(sim, 'GET', '/api/v1/runway/record-detail?taskId=x')).status).toBe(503);
    expect((await call(sim, 'GET', '/api/v1/runway/record-detail?taskId=x')).body.code).toBe(404);
  });
});

function callbackTaskIdOf(body: Record<string, unknown>): unknown {
  const data = body.data as Record<string, unknown> | null;
  return data?.task_id ?? body.taskId;
}
