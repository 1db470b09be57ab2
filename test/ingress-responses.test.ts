import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CallbackJobSchema, eventsStreamFor, parseTaskState, quarantineIdFor } from '@runway-relay/contracts';
import { signStandardWebhook } from '@runway-relay/ingress';
import { parseStreamEntry } from '@runway-relay/runtime';
import { loadFixture } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildTestIngress,
  failureBody,
  jobIdFor,
  jobIds,
  providerHeaders,
  successBody,
  TEST_HMAC_KEY,
  type TestIngress,
} from './helpers/ingress.js';
import { useRedisServer } from './helpers/per-file.js';

const redisServer = useRedisServer();
let ingress: TestIngress;

afterEach(async () => {
  await ingress?.close();
});

const post = (body: unknown, headers: Record<string, string>, url = '/callbacks/runway') =>
  ingress.app.inject({ method: 'POST', url, headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });

describe('callback responses (docs/architecture.md §2)', () => {
  it('accepts a signed callback (200 received), then answers the same again 200 duplicate', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    const first = await post(successBody(taskId), providerHeaders(taskId));
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ status: 'received', task_id: taskId });

    const second = await post(successBody(taskId), providerHeaders(taskId));
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ status: 'duplicate', task_id: taskId });

    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'success')]);
    const job = await ingress.queue.getJob(jobIdFor(taskId, 'success'));
    const data = CallbackJobSchema.parse(job?.data);
    expect(data.callback).toMatchObject({ task_id: taskId, outcome: 'success', code: 200 });
    expect(data.receipt.auth).toEqual(['provider_hmac']);
    expect(job?.opts.attempts).toBe(ingress.config.JOB_ATTEMPTS);

    const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
    expect(state).toMatchObject({ status: 'accepted', accepted_outcome: 'success', deliveries: 2, duplicates: 1 });
    expect(await ingress.inspect.ttl(ingress.keys.task(taskId))).toBeGreaterThan(29 * 86_400);
  });

  it('also listens on /runway-video-callback', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    const res = await post(successBody(taskId), providerHeaders(taskId), '/runway-video-callback');
    expect(res.json()).toEqual({ status: 'received', task_id: taskId });
  });

  it('accepts every documented variant and keeps unknown fields', async () => {
    ingress = await buildTestIngress(redisServer.url);
    for (const fixture of [...loadFixture('callbacks.json'), ...loadFixture('callback-variants.json')]) {
      const taskId = `fx-${fixture.name}-${randomUUID().slice(0, 8)}`.replaceAll('_', '-');
      const body = structuredClone(fixture.body) as Record<string, unknown> & { data?: Record<string, unknown> | null };
      if ('taskId' in body) body.taskId = taskId;
      if (body.data && 'task_id' in body.data) body.data.task_id = taskId;
      body.vendor_extension = { trace: 'abc' };
      const res = await post(body, providerHeaders(taskId));
      expect(res.statusCode, fixture.name).toBe(200);
      expect(res.json()).toEqual({ status: 'received', task_id: taskId });
      const outcome = fixture.expect_category === 'success' ? 'success' : 'failure';
      const job = await ingress.queue.getJob(jobIdFor(taskId, outcome));
      expect(CallbackJobSchema.parse(job?.data).extra).toMatchObject({ vendor_extension: { trace: 'abc' } });
    }
  });

  it('401 without a signature, with a wrong key or a stale timestamp — and stores nothing', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    const cases: Array<[string, Record<string, string>]> = [
      ['no signature', { 'content-type': 'application/json' }],
      ['wrong key', providerHeaders(taskId, 'another-key-entirely')],
      ['stale timestamp', providerHeaders(taskId, TEST_HMAC_KEY, Math.floor(Date.now() / 1000) - 301)],
      ['future timestamp', providerHeaders(taskId, TEST_HMAC_KEY, Math.floor(Date.now() / 1000) + 301)],
      ['signature of another task', providerHeaders('other-task')],
    ];
    for (const [name, headers] of cases) {
      const res = await post(successBody(taskId), headers);
      expect(res.statusCode, name).toBe(401);
      expect(res.json()).toMatchObject({ error: 'unauthorized' });
    }
    expect(await ingress.inspect.exists(ingress.keys.task(taskId))).toBe(0);
    expect(await jobIds(ingress.queue)).toEqual([]);
  });

  it('accepts a rotated key while the old one is still listed', async () => {
    ingress = await buildTestIngress(redisServer.url, {
      CALLBACK_HMAC_KEYS: 'new-key-aaaaaaaaaaaa, old-key-bbbbbbbbbbbb',
    });
    for (const key of ['new-key-aaaaaaaaaaaa', 'old-key-bbbbbbbbbbbb']) {
      const taskId = randomUUID();
      const res = await post(successBody(taskId), providerHeaders(taskId, key));
      expect(res.json()).toEqual({ status: 'received', task_id: taskId });
    }
  });

  it('415 for a non-JSON content type, 400 for malformed JSON, 413 over the body limit — nothing enqueued', async () => {
    ingress = await buildTestIngress(redisServer.url, { BODY_LIMIT_BYTES: '2048' });
    const taskId = randomUUID();
    const headers = providerHeaders(taskId);

    const text = await post('code=200', { ...headers, 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: 'unsupported_media_type' });

    const broken = await post('{"code":200,"data":', headers);
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ error: 'invalid_json' });

    const proto = await post(`{"code":200,"__proto__":{"polluted":true},"data":{"task_id":"${taskId}"}}`, headers);
    expect(proto.statusCode).toBe(400);

    const deep = await post(
      `{"code":200,"data":{"task_id":"${taskId}"},"x":${'['.repeat(40)}${']'.repeat(40)}}`,
      headers,
    );
    expect(deep.statusCode).toBe(400);
    expect(deep.json()).toMatchObject({ error: 'body_too_deep' });

    const big = successBody(taskId) as ReturnType<typeof successBody> & { padding?: string };
    big.padding = 'x'.repeat(4096);
    const large = await post(big, headers);
    expect(large.statusCode).toBe(413);
    expect(large.json()).toMatchObject({ error: 'body_too_large' });

    expect(await jobIds(ingress.queue)).toEqual([]);
    expect(await ingress.inspect.exists(ingress.keys.task(taskId))).toBe(0);
  });

  it('422 names the failing fields and quarantines the body of an authenticated sender', async () => {
    ingress = await buildTestIngress(redisServer.url, { QUARANTINE_MAXLEN: '2' });
    const taskId = randomUUID();
    const body = { code: 200, msg: 'ok', data: { task_id: taskId, video_url: 'not a url' } };
    const res = await post(body, providerHeaders(taskId));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      error: 'invalid_callback',
      details: [{ path: 'data.video_url', message: expect.any(String) }],
    });
    const codelessBody = { msg: 'x', data: { task_id: taskId } };
    await sleep(5); // entries are ordered by receipt time in ms
    const codeless = await post(codelessBody, providerHeaders(taskId));
    expect(codeless.json().details).toContainEqual(expect.objectContaining({ path: 'code' }));

    const entries = async () => {
      const ids = await ingress.inspect.zrange(ingress.keys.quarantine, '0', '-1');
      const values = ids.length > 0 ? await ingress.inspect.hmget(ingress.keys.quarantineEntries, ...ids) : [];
      return values.map((value) => JSON.parse(value ?? 'null'));
    };
    const first = await entries();
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({
      body: JSON.stringify(body),
      issues: [{ path: 'data.video_url' }],
      task_id: taskId,
    });
    // The same body again is the same entry (its id is derived from the bytes).
    await sleep(5);
    await post(codelessBody, providerHeaders(taskId));
    expect(await entries()).toHaveLength(2);
    // A third body: capped at QUARANTINE_MAXLEN, the oldest entry goes.
    const third = { code: 200, msg: 'ok', data: { task_id: taskId, video_url: '' } };
    await sleep(5);
    await post(third, providerHeaders(taskId));
    const capped = await entries();
    expect(capped.map((entry) => entry.body)).toEqual([JSON.stringify(codelessBody), JSON.stringify(third)]);
    expect(await ingress.inspect.hlen(ingress.keys.quarantineEntries)).toBe(2);
    expect(await jobIds(ingress.queue)).toEqual([]);

    // The application hears of each refusal: a success with an empty video_url included.
    const events = (await ingress.inspect.xrange(eventsStreamFor(ingress.config), '-', '+')).map(([, fields]) =>
      parseStreamEntry(fields),
    );
    expect(events.every((event) => event.type === 'callback.rejected' && event.task_id === taskId)).toBe(true);
    expect(new Set(events.map((event) => event.id)).size).toBe(3); // the repeated body: same event id
    expect(events.at(-1)).toEqual({
      v: 1,
      id: `evt_${quarantineIdFor(JSON.stringify(third))}_callback.rejected`,
      type: 'callback.rejected',
      task_id: taskId,
      at: expect.any(String),
      quarantine_id: quarantineIdFor(JSON.stringify(third)),
      provider_code: 200,
      issues: [{ path: 'data.video_url', message: 'is required when code is 200' }],
    });
  });

  it('a success signed after a failure supersedes it; the same callbacks again are duplicates', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    const nowS = Math.floor(Date.now() / 1000);
    const later = providerHeaders(taskId, TEST_HMAC_KEY, nowS + 1);
    expect((await post(failureBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, nowS))).json().status).toBe(
      'received',
    );
    expect((await post(failureBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, nowS))).json().status).toBe(
      'duplicate',
    );
    expect((await post(successBody(taskId), later)).json().status).toBe('received');
    expect((await post(successBody(taskId), later)).json().status).toBe('duplicate');
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'failure'), jobIdFor(taskId, 'success')].sort());
    const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
    expect(state).toMatchObject({ accepted_outcome: 'success', code: 200, deliveries: 4 });
  });

  it('200 concurrent deliveries of one task make exactly one job and one "received"', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const address = ingress.url;
    const taskId = randomUUID();
    const payload = JSON.stringify(successBody(taskId));
    const responses = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await fetch(`${address}/callbacks/runway`, {
          method: 'POST',
          headers: providerHeaders(taskId),
          body: payload,
        });
        return { status: res.status, body: (await res.json()) as { status: string } };
      }),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(responses.filter((r) => r.body.status === 'received')).toHaveLength(1);
    expect(responses.filter((r) => r.body.status === 'duplicate')).toHaveLength(199);
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'success')]);
  });

  it('a retry after a crash between claim and enqueue still creates the job', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    // The first delivery claimed the task and died before queue.add: no job, no 200 sent.
    const { claimTask } = await import('@runway-relay/admission');
    const { RawCallbackSchema } = await import('@runway-relay/contracts');
    const receipt = {
      received_at: new Date().toISOString(),
      request_id: 'r',
      source_ip: '127.0.0.1',
      auth: [],
      path: '/',
    };
    await claimTask(ingress.redis, ingress.keys, {
      job: { v: 1, callback: RawCallbackSchema.parse(successBody(taskId)), receipt, extra: {} },
      nowMs: Date.now(),
      ttlSeconds: 60,
    });
    expect(await jobIds(ingress.queue)).toEqual([]);
    const retry = await post(successBody(taskId), providerHeaders(taskId));
    expect(retry.statusCode).toBe(200);
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'success')]);
  });

  it('unknown routes answer a JSON 404', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const res = await ingress.app.inject({ method: 'GET', url: '/nope?secret=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found', message: 'no route GET /nope' });
  });
});

describe('other authentication modes (docs/architecture.md §3)', () => {
  it('path token: the right token passes, a wrong or missing one is 401, constant-time compared', async () => {
    const token = 'tok_0123456789abcdef0123';
    ingress = await buildTestIngress(redisServer.url, { CALLBACK_HMAC_KEYS: '', CALLBACK_PATH_TOKEN: token });
    const taskId = randomUUID();
    const json = { 'content-type': 'application/json' };
    expect((await post(successBody(taskId), json, `/callbacks/runway/${token}`)).json().status).toBe('received');
    expect((await post(successBody(taskId), json, '/callbacks/runway/tok_wrong_wrong_wrong_1')).statusCode).toBe(401);
    const missing = await post(successBody(taskId), json, '/callbacks/runway');
    expect(missing.statusCode).toBe(401);
    expect(missing.json().message).toBe('path token required');
  });

  it('IP allow-list: inside passes, outside is 401; X-Forwarded-For only from a trusted proxy', async () => {
    ingress = await buildTestIngress(redisServer.url, {
      CALLBACK_HMAC_KEYS: '',
      CALLBACK_ALLOWED_IPS: '203.0.113.0/24',
      TRUSTED_PROXIES: '10.0.0.1',
    });
    const json = { 'content-type': 'application/json' };
    const send = (remoteAddress: string, headers: Record<string, string> = {}) => {
      const taskId = randomUUID();
      return ingress.app.inject({
        method: 'POST',
        url: '/callbacks/runway',
        remoteAddress,
        headers: { ...json, ...headers },
        payload: successBody(taskId),
      });
    };
    expect((await send('203.0.113.7')).statusCode).toBe(200);
    expect((await send('198.51.100.7')).statusCode).toBe(401);
    expect((await send('10.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).statusCode).toBe(200);
    // An untrusted peer cannot claim an allowed address.
    expect((await send('198.51.100.7', { 'x-forwarded-for': '203.0.113.9' })).statusCode).toBe(401);
    expect((await send('10.0.0.1', { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' })).statusCode).toBe(401);
    // A chain of trusted proxies is walked past; an IPv4-mapped peer is judged as its IPv4 address.
    expect((await send('10.0.0.1', { 'x-forwarded-for': '198.51.100.7, 203.0.113.9, 10.0.0.1' })).statusCode).toBe(200);
    expect((await send('::ffff:203.0.113.7')).statusCode).toBe(200);
    expect((await send('::ffff:10.0.0.1', { 'x-forwarded-for': '198.51.100.7' })).statusCode).toBe(401);
  });

  it('Standard Webhooks: a valid signature over the raw body passes, a tampered body does not', async () => {
    const secret = `whsec_${Buffer.from('standard-webhooks-secret-bytes').toString('base64')}`;
    ingress = await buildTestIngress(redisServer.url, { CALLBACK_HMAC_KEYS: '', CALLBACK_WEBHOOK_SECRETS: secret });
    const taskId = randomUUID();
    const body = JSON.stringify(successBody(taskId));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,bogus ${signStandardWebhook(secret, 'msg_1', timestamp, body)}`,
    };
    expect((await post(body, headers)).json().status).toBe('received');
    expect((await post(body.replace('.mp4', '.mov'), headers)).statusCode).toBe(401);
  });
});

describe('operations endpoints', () => {
  it('healthz, readyz and metrics with the callback counters', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    await post(successBody(taskId), providerHeaders(taskId));
    await post(successBody(taskId), providerHeaders(taskId));
    await post(successBody(taskId), { 'content-type': 'application/json' });
    expect((await ingress.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await ingress.ops.inject({ url: '/readyz' })).json()).toEqual({
      status: 'ready',
      // redis_config passes through REDIS_ALLOW_VOLATILE (the helper's default; this Redis has no AOF).
      checks: { redis: 'ok', redis_config: 'ok' },
    });
    const metrics = (await ingress.ops.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('relay_callbacks_received_total{outcome="success"} 1');
    expect(metrics).toContain('relay_callbacks_duplicate_total 1');
    expect(metrics).toContain('relay_callbacks_rejected_total{reason="unauthorized"} 1');
    expect(metrics).toMatch(/relay_callback_ack_seconds_count\{status="2xx"\} 2/);
  });
});
