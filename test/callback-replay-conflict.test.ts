import { randomUUID } from 'node:crypto';
import {
  type MediaStoredEvent,
  parseTaskState,
  type RelayEvent,
  type TaskConflictEvent,
} from '@runway-relay/contracts';
import { signStandardWebhook } from '@runway-relay/ingress';
import { generatedSha256 } from '@runway-relay/simulator';
import { waitFor } from '@runway-relay/testkit';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardStorageEnv, startTestDashboard } from './helpers/dashboard.js';
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
import { useBacking } from './helpers/per-file.js';
import { newTaskId, type Stack, simulatedSuccess, startStack } from './helpers/stack.js';

// A captured provider signature covers only `<task_id>.<timestamp>`, never the body. These
// tests replay captured headers with other bodies, the way an attacker who sniffed one
// delivery (a proxy log, a leaked trace) would, and check what the relay lets through.

const backing = useBacking();
let ingress: TestIngress | undefined;
let stack: Stack | undefined;
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await ingress?.close();
  ingress = undefined;
  await stack?.close();
  stack = undefined;
});

const nowS = () => Math.floor(Date.now() / 1000);

function post(target: TestIngress, body: unknown, headers: Record<string, string | undefined>) {
  return target.app.inject({
    method: 'POST',
    url: '/callbacks/runway',
    headers: headers as Record<string, string>,
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

const forgedSuccess = (taskId: string) => successBody(taskId, 'https://attacker.example');

describe('a provider signature is single-use per body', () => {
  it('the same headers with another body: 401 signature_replayed, nothing written; the same body: duplicate', async () => {
    ingress = await buildTestIngress(backing.redis.url);
    const taskId = randomUUID();
    const headers = providerHeaders(taskId);
    expect((await post(ingress, successBody(taskId), headers)).json().status).toBe('received');

    const replay = await post(ingress, forgedSuccess(taskId), headers);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ error: 'signature_replayed' });
    expect((await post(ingress, successBody(taskId), headers)).json().status).toBe('duplicate');

    const job = await ingress.queue.getJob(jobIdFor(taskId, 'success'));
    expect(job?.data.callback.video_url).toBe(successBody(taskId).data.video_url);
    const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
    expect(state).toMatchObject({ deliveries: 2, duplicates: 1, conflicts: 0 });
  });

  it("a failure delivery's headers replayed as a success with the attacker's video: refused, the failure stands", async () => {
    ingress = await buildTestIngress(backing.redis.url);
    const taskId = randomUUID();
    const failureHeaders = providerHeaders(taskId);
    expect((await post(ingress, failureBody(taskId), failureHeaders)).json().status).toBe('received');

    const replay = await post(ingress, forgedSuccess(taskId), failureHeaders);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error).toBe('signature_replayed');
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'failure')]);
    const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
    expect(state?.accepted_outcome).toBe('failure');
  });

  it('a success may supersede a failure only with a signature newer than the failure’s', async () => {
    ingress = await buildTestIngress(backing.redis.url);
    const taskId = randomUUID();
    const t = nowS();
    // The provider's first delivery (t-60) got a 503 and was never recorded; its retry (t) was accepted.
    expect((await post(ingress, failureBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, t))).json().status).toBe(
      'received',
    );
    // Someone who captured the first delivery's headers replays them with a success body.
    const stale = await post(ingress, forgedSuccess(taskId), providerHeaders(taskId, TEST_HMAC_KEY, t - 60));
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error).toBe('signature_stale');
    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'failure')]);

    // A success the provider signs later still supersedes the failure.
    const later = await post(ingress, successBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, t + 1));
    expect(later.json().status).toBe('received');
  });

  it('the replay record lives in Redis under the queue prefix for the whole tolerance window', async () => {
    ingress = await buildTestIngress(backing.redis.url, { CALLBACK_TOLERANCE_S: '120' });
    const taskId = randomUUID();
    await post(ingress, successBody(taskId), providerHeaders(taskId));
    const keys = await ingress.inspect.keys(`${ingress.config.QUEUE_PREFIX}:relay:sig:*`);
    expect(keys).toHaveLength(1);
    const ttl = await ingress.inspect.ttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(240);
    expect(ttl).toBeLessThanOrEqual(300);
  });
});

describe('a conflict: a later authenticated callback disagrees with the accepted one', () => {
  it('answers 200 conflict, records the delivery on the task, emits task.conflict, keeps one job', async () => {
    ingress = await buildTestIngress(backing.redis.url, { EVENTS_STREAM: `${randomUUID()}:events` });
    const taskId = randomUUID();
    // The forged body came first, with the headers of a provider delivery that had got a 503.
    expect((await post(ingress, forgedSuccess(taskId), providerHeaders(taskId))).json().status).toBe('received');
    const retry = await post(ingress, successBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, nowS() + 1));
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ status: 'conflict', task_id: taskId });
    // The provider's next retry is the same conflict again: recorded once, event under the same id.
    await post(ingress, successBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, nowS() + 2));

    expect(await jobIds(ingress.queue)).toEqual([jobIdFor(taskId, 'success')]);
    const state = parseTaskState(await ingress.inspect.hgetall(ingress.keys.task(taskId)));
    expect(state).toMatchObject({ conflict_state: 'open', conflicts: 2 });
    expect(state?.conflict?.job.callback.video_url).toBe(successBody(taskId).data.video_url);
    expect(state?.content?.video_url).toBe(`https://attacker.example/k/${taskId}.mp4`);

    const entries = await ingress.inspect.xrange(ingress.config.EVENTS_STREAM ?? '', '-', '+');
    const events = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1] ?? '{}'));
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e: TaskConflictEvent) => e.id)).size).toBe(1);
    expect(events[0]).toMatchObject({
      type: 'task.conflict',
      state: 'open',
      task_id: taskId,
      accepted: { outcome: 'success', video_url: `https://attacker.example/k/${taskId}.mp4` },
      // No signed query string ever leaves in an event.
      conflicting: { outcome: 'success', video_url: `https://cdn.example.com/k/${taskId}.mp4` },
      resolution: null,
    });
  });

  it('a failure after an accepted success is a conflict too, not a silent duplicate', async () => {
    ingress = await buildTestIngress(backing.redis.url);
    const taskId = randomUUID();
    await post(ingress, forgedSuccess(taskId), providerHeaders(taskId));
    const provider = await post(ingress, failureBody(taskId), providerHeaders(taskId, TEST_HMAC_KEY, nowS() + 1));
    expect(provider.json().status).toBe('conflict');
  });
});

describe('what a signature covers', () => {
  it('Standard Webhooks are verified over the raw bytes, not over a decoded string', async () => {
    const secret = `whsec_${Buffer.from('standard-webhooks-secret-bytes').toString('base64')}`;
    ingress = await buildTestIngress(backing.redis.url, { CALLBACK_HMAC_KEYS: '', CALLBACK_WEBHOOK_SECRETS: secret });
    const taskId = randomUUID();
    // A byte that is not UTF-8 inside a string: decoding turns it into U+FFFD, so an HMAC over
    // the decoded text differs from the sender's HMAC over its bytes.
    const bytes = Buffer.concat([
      Buffer.from(`{"code":400,"msg":"bad `),
      Buffer.from([0xff]),
      Buffer.from(`","data":{"task_id":"${taskId}"}}`),
    ]);
    const timestamp = String(nowS());
    const headers = {
      'content-type': 'application/json',
      'webhook-id': 'msg_raw',
      'webhook-timestamp': timestamp,
      'webhook-signature': signStandardWebhook(secret, 'msg_raw', timestamp, bytes),
    };
    expect((await post(ingress, bytes, headers)).statusCode).toBe(200);
    // The same text re-encoded (U+FFFD instead of 0xFF) is other bytes: refused.
    const reencoded = Buffer.from(bytes.toString('utf8'));
    expect((await post(ingress, reencoded, headers)).statusCode).toBe(401);
  });

  it('a padded task id is refused, not stored as another id than the one signed', async () => {
    ingress = await buildTestIngress(backing.redis.url);
    const taskId = randomUUID();
    const padded = ` ${taskId} `;
    const res = await post(ingress, successBody(padded), providerHeaders(padded));
    expect(res.statusCode).toBe(422);
    expect(await ingress.inspect.exists(ingress.keys.task(taskId))).toBe(0);
    expect(await jobIds(ingress.queue)).toEqual([]);
  });
});

/** A dashboard (`createDashboard`) on the stack's Redis and prefix, for the operator's side of a conflict. */
async function startDashboard(target: Stack): Promise<FastifyInstance> {
  const dashboard = await startTestDashboard({
    REDIS_URL: backing.redis.url,
    QUEUE_PREFIX: target.ingress.config.QUEUE_PREFIX,
    EVENTS_STREAM: target.stream,
    NODE_ENV: 'development',
    ...dashboardStorageEnv(backing.s3),
  });
  cleanups.push(() => dashboard.close());
  return dashboard.app;
}

const resolve = (app: FastifyInstance, taskId: string, keep: string) =>
  app.inject({
    method: 'POST',
    url: `/api/tasks/${taskId}/conflict`,
    headers: {
      authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'content-type': 'application/json',
    },
    payload: JSON.stringify({ keep }),
  });

const ofType = <T extends RelayEvent['type']>(events: RelayEvent[], type: T) =>
  events.filter((e): e is Extract<RelayEvent, { type: T }> => e.type === type);

describe('held media and the operator’s resolution, end to end', () => {
  it('a conflict after the media were stored holds the task; keeping the provider’s side re-downloads it', async () => {
    stack = await startStack(backing);
    const dashboard = await startDashboard(stack);
    const taskId = newTaskId();
    const forged = simulatedSuccess(backing.media, taskId, { size: 50_000 });
    forged.data.video_url = backing.media.url('forged', 'video', { size: 40_000 });
    expect((await stack.deliver(forged)).body.status).toBe('received');
    await stack.waitForEvents(1);

    // The provider's own retry arrives: its video differs.
    const genuine = simulatedSuccess(backing.media, taskId, { size: 50_000 });
    const retry = await stack.ingress.app.inject({
      method: 'POST',
      url: '/callbacks/runway',
      headers: providerHeaders(taskId, TEST_HMAC_KEY, nowS() + 1),
      payload: JSON.stringify(genuine),
    });
    expect(retry.json().status).toBe('conflict');
    expect((await stack.task(taskId))?.status).toBe('held');

    const answer = await resolve(dashboard, taskId, 'conflicting');
    expect(answer.statusCode).toBe(202);
    const events = await stack.waitForEvents(4);
    const storedEvents = ofType(events, 'media.stored');
    expect(storedEvents).toHaveLength(2);
    const [first, second] = storedEvents as [MediaStoredEvent, MediaStoredEvent];
    expect(first.objects[0]?.sha256).toBe(await generatedSha256('video', 40_000, 'forged'));
    expect(second.objects[0]?.sha256).toBe(await generatedSha256('video', 50_000, taskId));
    expect(second.id).not.toBe(first.id);
    expect(ofType(events, 'task.conflict').map((e) => [e.state, e.resolution?.kept ?? null])).toEqual([
      ['open', null],
      ['resolved', 'conflicting'],
    ]);
    await waitFor(async () => (await stack?.task(taskId))?.status === 'stored', { description: 'task stored' });
    expect((await resolve(dashboard, taskId, 'accepted')).statusCode).toBe(409);
  });

  it('a conflict before the worker finished: media stored but no media.stored until the operator keeps a side', async () => {
    stack = await startStack(backing);
    const dashboard = await startDashboard(stack);
    await stack.worker.worker.pause();
    const taskId = newTaskId();
    expect((await stack.deliver(simulatedSuccess(backing.media, taskId))).body.status).toBe('received');
    const other = simulatedSuccess(backing.media, taskId);
    other.data.video_url = backing.media.url('other', 'video', { size: 30_000 });
    const retry = await stack.ingress.app.inject({
      method: 'POST',
      url: '/callbacks/runway',
      headers: providerHeaders(taskId, TEST_HMAC_KEY, nowS() + 1),
      payload: JSON.stringify(other),
    });
    expect(retry.json().status).toBe('conflict');
    stack.worker.worker.resume();

    await waitFor(async () => (await stack?.task(taskId))?.status === 'held', { description: 'task held' });
    const held = await stack.task(taskId);
    expect(held?.video).toBeDefined();
    expect(ofType(await stack.events(), 'media.stored')).toEqual([]);

    expect((await resolve(dashboard, taskId, 'accepted')).statusCode).toBe(202);
    const events = await stack.waitForEvents(3);
    const [stored] = ofType(events, 'media.stored');
    expect(stored?.objects[0]?.sha256).toBe(held?.video?.sha256);
    expect(ofType(events, 'task.conflict').map((e) => e.state)).toEqual(['open', 'resolved']);
  });
});
