import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookPayload } from '@runway-relay/delivery';
import { seededRandom, waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addEndpoint,
  answerLog,
  byWebhookId,
  type DeliveryScene,
  startDeliveryScene,
  verifyReceived,
} from './helpers/delivery.js';
import { failureBody } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { newTaskId, simulatedSuccess } from './helpers/stack.js';

/**
 * Webhook delivery end to end through the composition roots: provider callbacks → ingress →
 * worker (media stored in S3, events) → fan-out → signed POSTs to a real receiver on 127.0.0.1,
 * checked with the `standardwebhooks` reference implementation and against the delivery log
 * the admin API shows (docs/delivery.md).
 */

const backing = useBacking();
let scene: DeliveryScene | undefined;

afterEach(async () => {
  await scene?.close();
  scene = undefined;
});

/** The test's scene, with an endpoint for its receiver. */
async function start() {
  scene = await startDeliveryScene(backing);
  return { ...scene, ...(await addEndpoint(scene.admin, scene.receiver.url)) };
}

describe('webhook delivery end to end', () => {
  it('delivers a signed media.stored message whose presigned links serve the stored bytes', async () => {
    const { stack, receiver, admin, endpointId, secret } = await start();
    const taskId = newTaskId();
    expect((await stack.deliver(simulatedSuccess(backing.media, taskId, { size: 120_000 }))).status).toBe(200);
    await waitFor(() => receiver.received.length >= 1, { timeoutMs: 20_000, description: 'the media.stored message' });
    const [request] = receiver.received;
    if (!request) throw new Error('no request');
    const payload = verifyReceived(secret, request) as WebhookPayload;
    expect(payload).toMatchObject({ type: 'media.stored', data: { task_id: taskId, outcome: 'stored' } });
    expect(payload.data.objects.map((o) => o.kind).sort()).toEqual(['cover', 'video']);
    for (const object of payload.data.objects) {
      const res = await fetch(object.url);
      expect(res.status, object.kind).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBe(object.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(object.sha256);
    }
    // The worker's /metrics carries the delivery metrics.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${stack.worker.opsPort}/metrics`)).text();
        return text.includes(`relay_webhook_messages_delivered_total{endpoint_id="${endpointId}"} 1`) ? text : null;
      },
      { description: 'relay_webhook_messages_delivered_total' },
    );
    expect(metrics).toContain(`relay_webhook_breaker_state{endpoint_id="${endpointId}"} 0`);
    const log = await admin.get(`/api/tasks/${taskId}/deliveries`);
    expect(log.body).toMatchObject({
      deliveries: [{ id: request.headers['webhook-id'], status: 'delivered', event_type: 'media.stored' }],
    });
  });

  it('a receiver that fails at random, answers slowly, answers 410 and goes away: every message delivered, none after a 2xx, every signature verifies, the log matches', async () => {
    const { stack, receiver, admin, endpointId, secret } = await start();
    const startedAt = new Date().toISOString();
    // Seeded, so a failing run can be replayed.
    const random = seededRandom(13);
    const { answers, answer } = answerLog();
    let gone = false;
    receiver.always((request, response) => {
      const roll = random();
      if (!gone && roll < 0.04) {
        gone = true;
        answer(410)(request, response);
      } else if (roll < 0.35) answer(500)(request, response);
      else if (roll < 0.55) setTimeout(() => answer(200)(request, response), 150 + Math.round(random() * 300));
      else answer(204)(request, response);
    });

    const TASKS = 24;
    const tasks: string[] = [];
    for (let i = 0; i < TASKS; i += 1) {
      const taskId = newTaskId();
      tasks.push(taskId);
      const body =
        i % 3 === 0 ? simulatedSuccess(backing.media, taskId, { size: 20_000 + i * 100 }, null) : failureBody(taskId);
      expect((await stack.deliver(body)).status).toBe(200);
      if (i === 12) {
        // The endpoint goes away for a while (connection refused), then comes back.
        await receiver.pause();
        await sleep(1500);
        await receiver.resume();
      }
    }
    const events = await stack.waitForEvents(TASKS, 30_000);

    // A 410 disabled the endpoint and parked messages: the operator enables it and replays.
    await waitFor(async () => gone, { description: 'the 410' });
    const settle = async () => {
      const ep = (await admin.get(`/api/endpoints/${endpointId}`)).body as {
        endpoint: { enabled: boolean };
        health: { messages: { pending: number; delivered: number; parked: number; failed: number } };
      };
      return ep;
    };
    await waitFor(async () => (await settle()).endpoint.enabled === false, { description: 'endpoint disabled' });
    await sleep(500);
    expect((await admin.patch(`/api/endpoints/${endpointId}`, { enabled: true })).status).toBe(200);
    const replay = await admin.post(`/api/endpoints/${endpointId}/replay`, { since: startedAt });
    expect(replay.status).toBe(202);

    const final = await waitFor(
      async () => {
        const ep = await settle();
        const { delivered, pending, parked, failed } = ep.health.messages;
        if (parked > 0 && pending === 0) {
          // Parked after the replay was queued (a job of before the 410 ending late): replay again.
          await admin.post(`/api/endpoints/${endpointId}/replay`, { since: startedAt });
        }
        return delivered === TASKS && pending + parked + failed === 0 ? ep : null;
      },
      { timeoutMs: 90_000, intervalMs: 250, description: `${TASKS} messages delivered` },
    );
    expect(final.health.messages.delivered).toBe(TASKS);

    const groups = byWebhookId(receiver);
    expect(groups.size).toBe(TASKS);
    let duplicates = 0;
    let unanswered = 0;
    for (const request of receiver.received) expect(() => verifyReceived(secret, request)).not.toThrow();
    const eventIds = new Set(events.map((e) => e.id));
    const statusLog = await Promise.all(
      tasks.map(async (taskId) => {
        const res = await admin.get(`/api/tasks/${taskId}/deliveries`);
        return (
          res.body as {
            deliveries: Array<{
              id: string;
              event_id: string;
              status: string;
              attempt_log: Array<{ http_status: number | null; result: string }>;
            }>;
          }
        ).deliveries;
      }),
    );
    for (const deliveries of statusLog) {
      expect(deliveries).toHaveLength(1);
      const [message] = deliveries;
      if (!message) throw new Error('no message');
      expect(eventIds.has(message.event_id)).toBe(true);
      expect(message.status).toBe('delivered');
      const requests = groups.get(message.id) ?? [];
      const answered = requests.filter((r) => answers.has(r)).map((r) => answers.get(r));
      const ok = answered.filter((status) => status !== undefined && status < 300);
      duplicates += ok.length - 1;
      // At least once; nothing sent after the 2xx.
      expect(ok.length).toBeGreaterThanOrEqual(1);
      const firstOk = requests.findIndex((r) => (answers.get(r) ?? 0) >= 200 && (answers.get(r) ?? 0) < 300);
      expect(requests.slice(firstOk + 1), `requests after the 2xx of ${message.id}`).toEqual([]);
      unanswered += message.attempt_log.filter((a) => a.http_status === null).length;
      // The log's HTTP statuses are what the receiver answered, attempt for attempt.
      const logged = message.attempt_log
        .map((a) => a.http_status)
        .filter((s): s is number => s !== null)
        .sort();
      expect(logged, message.id).toEqual([...(answered as number[])].sort());
    }
    console.log(
      JSON.stringify({
        messages: TASKS,
        requests: receiver.received.length,
        answered: answers.size,
        statuses: Object.fromEntries(
          [...new Set(answers.values())].map((s) => [s, [...answers.values()].filter((t) => t === s).length]),
        ),
        attempts_without_answer: unanswered,
        duplicates_after_2xx: duplicates,
      }),
    );
    expect(duplicates).toBe(0);
    // While it was away, attempts failed without an answer (connection refused) and were retried.
    expect(unanswered).toBeGreaterThan(0);
  }, 150_000);

  it('a worker stopping cleanly leaves the consumer group without its name (restarts do not pile up consumers)', async () => {
    const { stack } = await start();
    const consumers = async () =>
      ((await stack.ingress.inspect.xinfo('CONSUMERS', stack.stream, 'deliveries')) as unknown[]).length;
    await waitFor(async () => (await consumers()) === 1, { description: 'the fan-out consumer' });
    await stack.worker.close();
    expect(await consumers()).toBe(0);
  });
});
