import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { CallbackJobSchema, jobIdFor } from '@runway-relay/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTestIngress, failureBody, providerHeaders, successBody, type TestIngress } from './helpers/ingress.js';
import { useRedisServer } from './helpers/per-file.js';

const redisServer = useRedisServer();
let ingress: TestIngress;

afterEach(async () => {
  await ingress?.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Posts a signed callback from `remoteAddress` and returns the request id its job recorded. */
async function receiptRequestId(remoteAddress: string, headers: Record<string, string>): Promise<string> {
  const taskId = randomUUID();
  const res = await ingress.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    remoteAddress,
    headers: { ...providerHeaders(taskId), ...headers },
    payload: successBody(taskId),
  });
  expect(res.statusCode).toBe(200);
  const job = await ingress.queue.getJob(jobIdFor(taskId, 'success'));
  return CallbackJobSchema.parse(job?.data).receipt.request_id;
}

describe('ops routes on their own listener (issue 10, item 9)', () => {
  it('the public app answers /healthz only; /readyz and /metrics are on the ops app', async () => {
    ingress = await buildTestIngress(redisServer.url);
    const taskId = randomUUID();
    await ingress.app.inject({
      method: 'POST',
      url: '/callbacks/runway',
      headers: providerHeaders(taskId),
      payload: successBody(taskId),
    });
    expect((await ingress.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    for (const url of ['/metrics', '/readyz']) {
      const res = await ingress.app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ error: 'not_found' });
    }
    expect((await ingress.ops.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await ingress.ops.inject({ url: '/readyz' })).json()).toEqual({
      status: 'ready',
      checks: { redis: 'ok', redis_config: 'ok' },
    });
    const metrics = (await ingress.ops.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('relay_callbacks_received_total{outcome="success"} 1');
    // The ops app serves nothing else: no callback route on the internal port.
    expect((await ingress.ops.inject({ method: 'POST', url: '/callbacks/runway' })).statusCode).toBe(404);
  });
});

describe('X-Request-Id (issue 10, item 13)', () => {
  it('is adopted only from a trusted proxy and only when it is a short token', async () => {
    ingress = await buildTestIngress(redisServer.url, { TRUSTED_PROXIES: '10.0.0.0/8' });
    expect(await receiptRequestId('10.0.0.1', { 'x-request-id': 'lb-trace.42_a' })).toBe('lb-trace.42_a');
    // From anyone else, or malformed, or too long: a fresh UUID.
    expect(await receiptRequestId('198.51.100.7', { 'x-request-id': 'lb-trace.42_a' })).toMatch(UUID);
    expect(await receiptRequestId('10.0.0.1', { 'x-request-id': 'has space' })).toMatch(UUID);
    expect(await receiptRequestId('10.0.0.1', { 'x-request-id': 'a'.repeat(65) })).toMatch(UUID);
    expect(await receiptRequestId('10.0.0.1', {})).toMatch(UUID);
  });

  it('is never adopted without TRUSTED_PROXIES', async () => {
    ingress = await buildTestIngress(redisServer.url);
    expect(await receiptRequestId('127.0.0.1', { 'x-request-id': 'client-chosen' })).toMatch(UUID);
  });
});

describe('CALLBACK_PATH_TOKEN length (issue 10, item 8)', () => {
  it('a token of the longest configurable length reaches the route (Fastify used to answer 414 past 100)', async () => {
    const token = `t${'0123456789abcdef'.repeat(8)}`.slice(0, 128);
    ingress = await buildTestIngress(redisServer.url, { CALLBACK_HMAC_KEYS: '', CALLBACK_PATH_TOKEN: token });
    const taskId = randomUUID();
    const send = (path: string) =>
      ingress.app.inject({
        method: 'POST',
        url: `/callbacks/runway/${path}`,
        headers: { 'content-type': 'application/json' },
        payload: successBody(taskId),
      });
    const res = await send(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'received', task_id: taskId });
    // A wrong token of the same length is an authentication failure, not a routing one.
    expect((await send(token.replace(/^t/, 'u'))).statusCode).toBe(401);
  });
});

describe('what an unauthenticated request can put in the log (issue 10, item 7)', () => {
  it('a 60 KB task id in a 401 or a 422 is logged as a bounded, sanitised prefix', async () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    ingress = await buildTestIngress(redisServer.url, { LOG_LEVEL: 'info' }, { logDestination: destination });
    const huge = `${'A'.repeat(60_000)}\u001b[31m\n`;
    const unsigned = await ingress.app.inject({
      method: 'POST',
      url: '/callbacks/runway',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(failureBody(huge)),
    });
    expect(unsigned.statusCode).toBe(401);
    // Signed for the huge id, so it passes authentication and fails the schema (422).
    const signed = await ingress.app.inject({
      method: 'POST',
      url: '/callbacks/runway',
      headers: providerHeaders(huge),
      payload: JSON.stringify(failureBody(huge)),
    });
    expect(signed.statusCode).toBe(422);
    const about = lines.filter((line) => line.includes('callback rejected') || line.includes('quarantined'));
    expect(about).toHaveLength(2);
    for (const line of about) {
      expect(line.length).toBeLessThan(2_000);
      expect(line).not.toContain('\\u001b');
      expect(JSON.parse(line).task_id).toMatch(/^A{128}…\[\d+ chars\]$/);
    }
  });
});
