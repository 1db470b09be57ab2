import { respondWith, type WebhookReceiver, waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardAuth, type TestDashboard } from './helpers/dashboard.js';
import {
  type AdminClient,
  addEndpoint,
  type DeliveryScene,
  startDeliveryScene,
  testDeliveryEnv,
  verifyReceived,
  webhookIdOf,
} from './helpers/delivery.js';
import { failureBody } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, type Stack } from './helpers/stack.js';

/**
 * The webhook admin API through the roots: a worker (createWorker) delivering to a real
 * receiver on 127.0.0.1, a dashboard (createDashboard) on the same prefix (docs/dashboard.md,
 * "Webhook delivery"). Two attempts per message, so a failing receiver fails messages fast.
 */
const env = { ...testDeliveryEnv, DELIVERY_ATTEMPTS: '2' };

const backing = useBacking();
let scene: DeliveryScene | undefined;
let stack: Stack;
let dashboard: TestDashboard;
let receiver: WebhookReceiver;
let admin: AdminClient;

afterEach(async () => {
  await scene?.close();
  scene = undefined;
});

/** Starts the test's scene (its dashboard with `dashboardEnv`) and names its parts for the tests. */
async function startScene(dashboardEnv: Record<string, string> = env): Promise<DeliveryScene> {
  scene = await startDeliveryScene(backing, env, dashboardEnv);
  ({ stack, dashboard, receiver, admin } = scene);
  return scene;
}

/** A scene with an endpoint for its receiver. */
async function start() {
  await startScene();
  return addEndpoint(admin, receiver.url, { description: 'test receiver' });
}

async function failTask(): Promise<string> {
  const taskId = newTaskId();
  expect((await stack.deliver(failureBody(taskId))).status).toBe(200);
  return taskId;
}

interface Delivery {
  id: string;
  endpoint_id: string;
  endpoint_deleted: boolean;
  status: string;
  attempts: number;
  attempt_log: Array<{ result: string; http_status: number | null; replay: boolean }>;
}
const deliveriesOf = async (taskId: string) => {
  const res = await admin.get(`/api/tasks/${taskId}/deliveries`);
  return res.status === 200 ? (res.body as { deliveries: Delivery[] }).deliveries : [];
};
const waitForStatus = (taskId: string, status: string) =>
  waitFor(
    async () => {
      const [delivery] = await deliveriesOf(taskId);
      return delivery?.status === status ? delivery : null;
    },
    { timeoutMs: 20_000, description: `delivery of ${taskId} ${status}` },
  );

describe('webhook endpoints admin API', () => {
  it('refuses private, metadata and credentialed URLs with 422 naming the reason; bad bodies with 400', async () => {
    // Same relay, but the policy of production: no private addresses.
    await startScene({ DELIVERY_ALLOW_HTTP: 'true' });
    for (const [url, reason] of [
      ['http://10.1.2.3/hooks', 'address 10.1.2.3 is not public'],
      ['http://169.254.169.254/latest/meta-data', 'address 169.254.169.254 is not public'],
      [receiver.url, 'address 127.0.0.1 is not public'],
      ['http://[::ffff:127.0.0.1]/hooks', 'is not public'],
      ['http://user:pw@example.com/hooks', 'must not carry credentials'],
    ] as const) {
      const res = await admin.post('/api/endpoints', { url });
      expect(res.status, url).toBe(422);
      expect(res.body).toMatchObject({ error: 'endpoint_url_refused' });
      expect(String(res.body?.message)).toContain(reason);
    }
    expect((await admin.get('/api/endpoints')).body).toEqual({ endpoints: [] });

    const unknownField = await admin.post('/api/endpoints', { url: 'https://example.com/h', secrets: 'x' });
    expect(unknownField.status).toBe(400);
    expect(String(unknownField.body?.message)).toContain('secrets');
    const badType = await admin.post('/api/endpoints', { url: 'https://example.com/h', event_types: ['nope'] });
    expect(badType.status).toBe(400);
    expect(String(badType.body?.message)).toContain('event_types');
    expect((await admin.patch('/api/endpoints/nope', { description: 'x' })).status).toBe(404);
    expect((await admin.get('/api/endpoints/bad%20id')).status).toBe(400);
  });

  it('shows the secret once; GET, list and PATCH mask it; rotate shows the new one once; DELETE removes', async () => {
    const { endpointId, secret } = await start();
    expect(secret).toMatch(/^whsec_/);
    const one = await admin.get(`/api/endpoints/${endpointId}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      endpoint: { id: endpointId, url: receiver.url, secret_masked: `whsec_…${secret.slice(-4)}` },
      health: { breaker: 'closed', messages: { window: 0 }, last_attempts: [] },
    });
    const list = await admin.get('/api/endpoints');
    const patched = await admin.patch(`/api/endpoints/${endpointId}`, { description: 'renamed' });
    expect(patched.status).toBe(200);
    for (const res of [one, list, patched]) {
      expect(JSON.stringify(res.body)).not.toContain(secret.slice(6));
      expect(JSON.stringify(res.body)).not.toContain('"secret"');
    }
    expect((await admin.patch(`/api/endpoints/${endpointId}`, {})).status).toBe(400);

    const rotated = await admin.post(`/api/endpoints/${endpointId}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = String(rotated.body?.secret);
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(secret);
    // The next message is signed with the new secret.
    await failTask();
    await waitFor(() => receiver.received.length === 1, { description: 'one message' });
    expect(() => verifyReceived(newSecret, receiver.received[0] as never)).not.toThrow();
    expect(() => verifyReceived(secret, receiver.received[0] as never)).toThrow();

    expect((await admin.delete(`/api/endpoints/${endpointId}`)).status).toBe(204);
    expect((await admin.get(`/api/endpoints/${endpointId}`)).status).toBe(404);
    expect((await admin.delete(`/api/endpoints/${endpointId}`)).status).toBe(404);
  });

  it('replays one message with the same webhook-id, logged as a replay', async () => {
    const { secret } = await start();
    const taskId = await failTask();
    const delivered = await waitForStatus(taskId, 'delivered');
    expect(receiver.received).toHaveLength(1);

    const replay = await admin.post(`/api/deliveries/${delivered.id}/replay`);
    expect(replay.status).toBe(202);
    await waitFor(() => receiver.received.length === 2, { description: 'the replayed message' });
    const [first, second] = receiver.received;
    expect(webhookIdOf(second as never)).toBe(delivered.id);
    expect(webhookIdOf(first as never)).toBe(delivered.id);
    expect(verifyReceived(secret, second as never)).toEqual(verifyReceived(secret, first as never));

    const after = await waitFor(
      async () => {
        const [d] = await deliveriesOf(taskId);
        return d?.attempt_log.length === 2 && d.status === 'delivered' ? d : null;
      },
      { description: 'two attempts logged' },
    );
    expect(after.attempt_log.map((a) => [a.result, a.http_status, a.replay])).toEqual([
      ['delivered', 204, true],
      ['delivered', 204, false],
    ]);
    expect((await admin.post('/api/deliveries/msg_00000000000000000000000000000000/replay')).status).toBe(404);
    expect((await admin.post('/api/deliveries/not-a-message/replay')).status).toBe(400);
    expect((await admin.get(`/api/tasks/${newTaskId()}/deliveries`)).status).toBe(404);
  });

  it('replays the failed messages since a time, pages messages by cursor and status', async () => {
    const { endpointId, secret } = await start();
    receiver.always(respondWith(500, 'down'));
    const early = await failTask();
    await waitForStatus(early, 'failed');
    const since = new Date().toISOString();
    const late = [await failTask(), await failTask(), await failTask()];
    for (const taskId of late) await waitForStatus(taskId, 'failed');

    const health = await admin.get(`/api/endpoints/${endpointId}`);
    expect(health.body).toMatchObject({ health: { messages: { failed: 4, delivered: 0, window: 4 } } });

    // Pages of one, newest first, filtered by status, until the cursor runs out.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `status=failed&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await admin.get(`/api/endpoints/${endpointId}/messages?${query}`);
      expect(page.status).toBe(200);
      const body = page.body as { messages: Array<{ id: string; task_id: string }>; next_cursor: string | null };
      seen.push(...body.messages.map((m) => m.task_id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    // Newest first: the early message last. The three late ones may be fanned out in one batch,
    // concurrently (deliveries promise no order), so among themselves any order is right.
    expect(seen).toHaveLength(4);
    expect(seen.at(-1)).toBe(early);
    expect(new Set(seen.slice(0, 3))).toEqual(new Set(late));
    const none = await admin.get(`/api/endpoints/${endpointId}/messages?status=delivered`);
    expect(none.body).toEqual({ messages: [], next_cursor: null });
    expect((await admin.get(`/api/endpoints/${endpointId}/messages?cursor=garbage`)).status).toBe(400);
    expect((await admin.get(`/api/endpoints/${endpointId}/messages?status=lost`)).status).toBe(400);

    expect((await admin.post(`/api/endpoints/${endpointId}/replay`, { since: 'yesterday' })).status).toBe(400);
    receiver.always(respondWith(204));
    const before = receiver.received.length;
    const replay = await admin.post(`/api/endpoints/${endpointId}/replay`, { since });
    expect(replay).toMatchObject({ status: 202, body: { replayed: 3 } });
    for (const taskId of late) await waitForStatus(taskId, 'delivered');
    expect((await deliveriesOf(early))[0]?.status).toBe('failed');
    const replayed = receiver.received.slice(before);
    expect(replayed).toHaveLength(3);
    for (const request of replayed) expect(() => verifyReceived(secret, request)).not.toThrow();
  });

  it('parks messages after a 410; replay is refused (409) until the endpoint is enabled again', async () => {
    const { endpointId } = await start();
    const since = new Date().toISOString();
    receiver.script(respondWith(410));
    const taskId = await failTask();
    await waitForStatus(taskId, 'parked');
    const view = await admin.get(`/api/endpoints/${endpointId}`);
    expect(view.body).toMatchObject({ endpoint: { enabled: false } });
    expect((view.body as { endpoint: { disabled_reason: string } }).endpoint.disabled_reason).toContain('410');
    const refused = await admin.post(`/api/endpoints/${endpointId}/replay`, { since });
    expect(refused).toMatchObject({ status: 409, body: { error: 'endpoint_disabled' } });
    const [parked] = await deliveriesOf(taskId);
    expect((await admin.post(`/api/deliveries/${parked?.id}/replay`)).status).toBe(409);

    expect((await admin.patch(`/api/endpoints/${endpointId}`, { enabled: true })).status).toBe(200);
    expect(await admin.post(`/api/endpoints/${endpointId}/replay`, { since })).toMatchObject({
      status: 202,
      body: { replayed: 1 },
    });
    await waitForStatus(taskId, 'delivered');
  });

  it("keeps listing a task's messages and attempts after their endpoint is deleted, marked endpoint_deleted", async () => {
    const { endpointId } = await start();
    const second = await admin.post('/api/endpoints', { url: receiver.url, description: 'stays' });
    const keptId = (second.body as { endpoint: { id: string } }).endpoint.id;
    const taskId = await failTask();
    const delivered = await waitFor(
      async () => {
        const all = await deliveriesOf(taskId);
        return all.length === 2 && all.every((d) => d.status === 'delivered' && d.attempt_log.length === 1)
          ? all
          : null;
      },
      { timeoutMs: 20_000, description: 'both messages delivered' },
    );
    expect(delivered.map((d) => [d.endpoint_id, d.endpoint_deleted]).sort()).toEqual(
      [
        [endpointId, false],
        [keptId, false],
      ].sort(),
    );

    expect((await admin.delete(`/api/endpoints/${endpointId}`)).status).toBe(204);
    const after = await admin.get(`/api/tasks/${taskId}/deliveries`);
    expect(after.status).toBe(200);
    const listed = (after.body as { deliveries: Delivery[] }).deliveries;
    const byEndpoint = (id: string) => listed.find((d) => d.endpoint_id === id);
    expect(listed).toHaveLength(2);
    expect(byEndpoint(endpointId)).toEqual({
      ...delivered.find((d) => d.endpoint_id === endpointId),
      endpoint_deleted: true,
    });
    expect(byEndpoint(endpointId)?.attempt_log.map((a) => [a.result, a.http_status])).toEqual([['delivered', 204]]);
    expect(byEndpoint(keptId)).toEqual(delivered.find((d) => d.endpoint_id === keptId));
  });

  it('refuses a cross-site write (CSRF) and an unauthenticated read', async () => {
    await start();
    const forged = await dashboard.app.inject({
      method: 'POST',
      url: '/api/endpoints',
      headers: {
        ...dashboardAuth,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ url: receiver.url }),
    });
    expect(forged.statusCode).toBe(403);
    expect((await dashboard.app.inject({ method: 'GET', url: '/api/endpoints' })).statusCode).toBe(401);
    expect(((await admin.get('/api/endpoints')).body as { endpoints: unknown[] }).endpoints).toHaveLength(1);
    const board = await admin.get('/admin/queues/api/queues');
    const names = (board.body as { queues: Array<{ name: string }> }).queues.map((queue) => queue.name);
    expect(names).toContain('deliveries');
  });
});
