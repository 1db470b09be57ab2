import type { MediaStoredEvent } from '@runway-relay/contracts';
import { neverRespond, respondWith, startWebhookReceiver, type WebhookReceiver, waitFor } from '@runway-relay/testkit';
import { useRedisServer } from '@runway-relay/testkit/per-file';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { failedEvent, type Harness, type HarnessOptions, startHarness } from '../test/harness.js';
import type { WebhookPayload } from './payload.js';

const redis = useRedisServer();
let receiver: WebhookReceiver;
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await receiver?.close();
});

async function setUp(options: Omit<HarnessOptions, 'redisUrl'> = {}) {
  receiver = await startWebhookReceiver();
  harness = await startHarness({ redisUrl: redis.url, ...options });
  const { endpoint, secret } = await harness.endpoints.create({ url: receiver.url });
  return { h: harness, endpoint, secret };
}

async function statusOf(h: Harness, messageId: string) {
  return (await h.log.get(messageId))?.status;
}

describe('delivery attempts', () => {
  it('signs per Standard Webhooks: the receiver verifies with Webhook.verify', async () => {
    const metadata = { app_user: 'u_42', project: 'trailer' };
    const { h, secret } = await setUp({ metadataFor: async () => metadata });
    const event = failedEvent();
    expect(await h.fanOut.fanOutEvent(event)).toBe(1);
    await waitFor(() => receiver.received.length === 1);
    const [request] = receiver.received;
    if (request === undefined) throw new Error('no request');
    const verified = new Webhook(secret).verify(
      request.body,
      request.headers as Record<string, string>,
    ) as WebhookPayload;
    expect(verified).toMatchObject({
      type: 'task.failed',
      data: { event_id: event.id, task_id: event.task_id, outcome: 'failed', category: 'prompt_moderation' },
    });
    expect(verified.data).toMatchObject({ retryable: false, action: 'revise_prompt', metadata });
    // A forged body fails verification.
    expect(() =>
      new Webhook(secret).verify(request.body.replace('u_42', 'u_43'), request.headers as Record<string, string>),
    ).toThrow();
    expect(request.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    await waitFor(async () => (await statusOf(h, String(request.headers['webhook-id']))) === 'delivered');
  });

  it('media.stored carries bucket, key, size, sha256, content type and a presigned link', async () => {
    const { h } = await setUp({ presign: async (bucket, key, ttl) => `https://s3.test/${bucket}/${key}?ttl=${ttl}` });
    const base = failedEvent();
    const event: MediaStoredEvent = {
      v: 1,
      id: base.id,
      task_id: base.task_id,
      at: base.at,
      video_id: 'v1',
      attempts: 1,
      type: 'media.stored',
      objects: [
        {
          kind: 'video',
          bucket: 'runway-media',
          key: 'runway/t1/video.mp4',
          size: 1234,
          sha256: 'a'.repeat(64),
          content_type: 'video/mp4',
        },
      ],
      timings: { total_ms: 10, transfer_ms: 5 },
      missing: [],
    };
    await h.fanOut.fanOutEvent(event);
    await waitFor(() => receiver.received.length === 1);
    const payload = JSON.parse(receiver.received[0]?.body ?? '{}') as WebhookPayload;
    expect(payload.data.outcome).toBe('stored');
    expect(payload.data.objects).toEqual([
      expect.objectContaining({
        bucket: 'runway-media',
        key: 'runway/t1/video.mp4',
        size: 1234,
        sha256: 'a'.repeat(64),
        content_type: 'video/mp4',
        url: 'https://s3.test/runway-media/runway/t1/video.mp4?ttl=600',
      }),
    ]);
  });

  it('retries a 500, then delivers on 2xx with the same webhook-id; both attempts are logged', async () => {
    const { h } = await setUp();
    receiver.script(respondWith(500, 'boom'));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 2);
    const [first, second] = receiver.received;
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    const id = String(first?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'delivered');
    const attempts = await h.log.attempts(id);
    expect(attempts.map((a) => [a.n, a.result, a.http_status])).toEqual([
      [2, 'delivered', 204],
      [1, 'failed', 500],
    ]);
    expect(attempts[1]?.response_excerpt).toBe('boom');
  });

  it('waits for Retry-After (seconds) before the retry', async () => {
    const { h } = await setUp({ backoffMs: 1 });
    receiver.script(respondWith(503, '', { 'retry-after': '1' }));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 2, { timeoutMs: 5_000 });
    const [first, second] = receiver.received;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('waits for Retry-After given as an HTTP date', async () => {
    const { h } = await setUp({ backoffMs: 1 });
    receiver.script((_request, response) =>
      response.writeHead(429, { 'retry-after': new Date(Date.now() + 2_000).toUTCString() }).end(),
    );
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 2, { timeoutMs: 6_000 });
    const [first, second] = receiver.received;
    // HTTP dates have 1 s resolution: at least ~1 s later.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it('410 disables the endpoint and parks its later messages', async () => {
    const { h, endpoint } = await setUp();
    receiver.script(respondWith(410));
    const first = failedEvent();
    await h.fanOut.fanOutEvent(first);
    await waitFor(async () => (await h.endpoints.get(endpoint.id))?.enabled === false);
    expect((await h.endpoints.view(endpoint.id))?.disabled_reason).toMatch(/410 Gone/);
    expect(await h.fanOut.fanOutEvent(failedEvent())).toBe(0);
    const messages = await h.log.endpointMessageIds(endpoint.id, 0);
    expect(messages).toHaveLength(2);
    for (const id of messages) await waitFor(async () => (await statusOf(h, id)) === 'parked');
    expect(receiver.received).toHaveLength(1);
  });

  it('a timeout counts as a failed attempt and is retried', async () => {
    const { h } = await setUp({ timeoutMs: 300, attempts: 2 });
    receiver.script(neverRespond);
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 2);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'delivered');
    const [, timedOut] = await h.log.attempts(id);
    expect(timedOut).toMatchObject({ result: 'failed', http_status: null, error: expect.stringMatching(/^timeout/) });
    expect(timedOut?.latency_ms).toBeGreaterThanOrEqual(250);
  });

  it('gives up after DELIVERY_ATTEMPTS and marks the message failed', async () => {
    const { h } = await setUp({ attempts: 3 });
    receiver.always(respondWith(500));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 3);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'failed');
    expect(await h.log.attempts(id)).toHaveLength(3);
  });

  it('keeps a response excerpt of at most 1 KiB', async () => {
    const { h } = await setUp();
    receiver.script(respondWith(500, 'é'.repeat(4000)));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 2);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await h.log.attempts(id)).length === 2);
    const failed = (await h.log.attempts(id))[1];
    expect(Buffer.byteLength(failed?.response_excerpt ?? '')).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(failed?.response_excerpt ?? '')).toBeGreaterThan(1000);
  });
});

describe('edges of an attempt', () => {
  it('a 2xx whose body then stalls is delivered (the status decides, the excerpt is what came)', async () => {
    const { h } = await setUp({ timeoutMs: 300 });
    receiver.script((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('ok so far');
    });
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 1);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'delivered');
    expect((await h.log.attempts(id))[0]).toMatchObject({ result: 'delivered', response_excerpt: 'ok so far' });
    expect(receiver.received).toHaveLength(1);
  });

  it('a payload that cannot be built (presigning failed) is retried without a request or a breaker failure', async () => {
    let calls = 0;
    const presign = async (bucket: string, key: string) => {
      calls += 1;
      if (calls === 1) throw new Error('object store unavailable');
      return `https://s3.test/${bucket}/${key}`;
    };
    const { h, endpoint } = await setUp({ presign, breakerThreshold: 1 });
    const base = failedEvent();
    const event: MediaStoredEvent = {
      ...{ v: 1, id: base.id, task_id: base.task_id, at: base.at, video_id: null, attempts: 1 },
      type: 'media.stored',
      objects: [
        { kind: 'video', bucket: 'b', key: 'k.mp4', size: 1, sha256: 'b'.repeat(64), content_type: 'video/mp4' },
      ],
      timings: { total_ms: 1, transfer_ms: 1 },
      missing: [],
    };
    await h.fanOut.fanOutEvent(event);
    await waitFor(() => receiver.received.length === 1);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'delivered');
    expect(await h.log.attempts(id)).toHaveLength(1);
    expect(await h.breaker.state(endpoint.id)).toBe('closed');
    expect((await h.log.get(id))?.last_error).toBe('payload: object store unavailable');
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, delays jobs instead of failing them, closes after a probe', async () => {
    const { h, endpoint } = await setUp({ breakerThreshold: 2, breakerCooldownMs: 1_000, attempts: 10 });
    receiver.script(respondWith(500), respondWith(500));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(async () => (await h.breaker.state(endpoint.id)) === 'open');
    const openedAt = Date.now();
    // A second message while open: delayed, not sent, not failed.
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(async () => (await h.queue.getDelayedCount()) >= 1);
    expect(receiver.received).toHaveLength(2);
    // After the cooldown one probe succeeds, the breaker closes and both messages arrive.
    await waitFor(() => receiver.received.length === 4, { timeoutMs: 8_000 });
    expect((receiver.received[2]?.at ?? 0) - openedAt).toBeGreaterThanOrEqual(800);
    await waitFor(async () => (await h.breaker.state(endpoint.id)) === 'closed');
    const ids = await h.log.endpointMessageIds(endpoint.id, 0);
    for (const id of ids) await waitFor(async () => (await statusOf(h, id)) === 'delivered');
    // Delayed by the breaker, the second message was attempted once, not counted as failures.
    const second = ids.find((id) => id !== String(receiver.received[0]?.headers['webhook-id']));
    expect((await h.log.attempts(String(second))).map((a) => a.result)).toEqual(['delivered']);
  });

  it('reopens when the half-open probe fails', async () => {
    const { h, endpoint } = await setUp({ breakerThreshold: 1, breakerCooldownMs: 300 });
    const opened = await h.breaker.record(endpoint.id, false);
    expect(opened).toBe('open');
    expect(await h.breaker.acquire(endpoint.id)).toMatchObject({ allowed: false, state: 'open' });
    const probe = await h.breaker.acquire(endpoint.id, Date.now() + 400);
    expect(probe).toEqual({ allowed: true, state: 'half_open' });
    // Only one probe at a time.
    expect(await h.breaker.acquire(endpoint.id, Date.now() + 400)).toMatchObject({ allowed: false });
    expect(await h.breaker.record(endpoint.id, false, Date.now() + 400)).toBe('open');
    expect(await h.breaker.state(endpoint.id)).toBe('open');
  });
});

describe('replay', () => {
  it('re-sends one message with the same webhook-id', async () => {
    const { h } = await setUp();
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 1);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'delivered');
    expect(await h.replay.message(id)).toBe(`${id}-replay-1`);
    await waitFor(() => receiver.received.length === 2);
    expect(receiver.received[1]?.headers['webhook-id']).toBe(id);
    await waitFor(async () => (await h.log.attempts(id)).length === 2);
    expect((await h.log.attempts(id))[0]).toMatchObject({ replay: true, result: 'delivered', n: 2 });
    expect(await h.replay.message('msg_0000')).toBeNull();
  });

  it('re-sends every failed message of an endpoint since a time', async () => {
    const { h, endpoint } = await setUp({ attempts: 1 });
    receiver.script(respondWith(500), respondWith(500));
    await h.fanOut.fanOutEvent(failedEvent());
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(async () => {
      const ids = await h.log.endpointMessageIds(endpoint.id, 0);
      const statuses = await Promise.all(ids.map((id) => statusOf(h, id)));
      return statuses.length === 2 && statuses.every((s) => s === 'failed');
    });
    const jobs = await h.replay.endpoint(endpoint.id, Date.now() - 60_000);
    expect(jobs).toHaveLength(2);
    await waitFor(() => receiver.received.length === 4);
    expect(new Set(receiver.received.slice(2).map((r) => r.headers['webhook-id']))).toEqual(
      new Set(receiver.received.slice(0, 2).map((r) => r.headers['webhook-id'])),
    );
    expect(await h.replay.endpoint(endpoint.id, Date.now() + 60_000)).toEqual([]);
  });
});

describe('delivery log bounds', () => {
  it('keeps at most the configured attempts per message and per endpoint', async () => {
    const { h, endpoint } = await setUp({
      attempts: 6,
      limits: { maxMessageAttempts: 3, maxEndpointAttempts: 4 },
    });
    receiver.always(respondWith(500));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 6);
    const id = String(receiver.received[0]?.headers['webhook-id']);
    await waitFor(async () => (await statusOf(h, id)) === 'failed');
    const attempts = await h.log.attempts(id);
    expect(attempts.map((a) => a.n)).toEqual([6, 5, 4]);
    const indexed = await h.log.endpointAttempts(endpoint.id, { limit: 100 });
    expect(indexed.map((a) => a.n)).toEqual([6, 5, 4, 3]);
    expect(await h.connection.llen(h.keys.messageAttempts(id))).toBe(3);
    expect(await h.connection.zcard(h.keys.endpointAttempts(endpoint.id))).toBe(4);
  });

  it('drops the oldest messages past the per-endpoint count, with their logs', async () => {
    const { h, endpoint } = await setUp({ limits: { maxMessages: 2 } });
    for (let i = 0; i < 4; i += 1) await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 4);
    const kept = await h.log.endpointMessageIds(endpoint.id, 0);
    expect(kept).toHaveLength(2);
    const dropped = String(receiver.received[0]?.headers['webhook-id']);
    expect(kept).not.toContain(dropped);
    await waitFor(async () => (await h.connection.exists(h.keys.message(dropped))) === 0);
  });
});

describe('SSRF at connect time', () => {
  it('refuses a name that resolves to 127.0.0.1 when private addresses are not allowed', async () => {
    const { h, endpoint } = await setUp({ allowPrivateAtConnect: false });
    // The store's policy allowed it (tests), the connect-time policy of the agent does not.
    await h.endpoints.update(endpoint.id, { url: `http://localhost:${receiver.port}/hooks` });
    await h.fanOut.fanOutEvent(failedEvent());
    const [id] = await h.log.endpointMessageIds(endpoint.id, 0);
    await waitFor(async () => (await statusOf(h, String(id))) === 'failed');
    const [attempt] = await h.log.attempts(String(id));
    expect(attempt?.error).toMatch(/^blocked: refused to connect to forbidden address localhost/);
    expect(receiver.connections()).toBe(0);
  });
});
