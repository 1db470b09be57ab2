import { respondWith, startWebhookReceiver, type WebhookReceiver, waitFor } from '@runway-relay/testkit';
import { useRedisServer } from '@runway-relay/testkit/per-file';
import { afterEach, describe, expect, it } from 'vitest';
import { failedEvent, type Harness, startHarness } from '../test/harness.js';

const redis = useRedisServer();
let receiver: WebhookReceiver;
let h: Harness;

afterEach(async () => {
  await h.close();
  await receiver.close();
});

describe('per-endpoint limits', () => {
  it('keeps at most max_in_flight attempts at once for an endpoint, the others wait (delayed, not failed)', async () => {
    receiver = await startWebhookReceiver();
    h = await startHarness({ redisUrl: redis.url });
    let inFlight = 0;
    let most = 0;
    receiver.always((_request, response) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        response.writeHead(204).end();
      }, 150);
    });
    const { endpoint } = await h.endpoints.create({ url: receiver.url, max_in_flight: 1 });
    for (let i = 0; i < 4; i += 1) await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 4, { timeoutMs: 10_000 });
    expect(most).toBe(1);
    const ids = await h.log.endpointMessageIds(endpoint.id, 0);
    for (const id of ids) await waitFor(async () => (await h.log.get(id))?.status === 'delivered');
    // Waiting for a slot is no attempt: one attempt each.
    for (const id of ids) expect(await h.log.attempts(id)).toHaveLength(1);
    // BullMQ agrees: delays while waiting for a slot spend no attempt (attemptsMade stays 1).
    const jobs = await h.queue.getJobs(['completed']);
    expect(jobs.map((job) => job.attemptsMade)).toEqual([1, 1, 1, 1]);
  });

  it('starts at most rate_limit_per_s attempts per second for an endpoint', async () => {
    receiver = await startWebhookReceiver();
    h = await startHarness({ redisUrl: redis.url });
    const { endpoint } = await h.endpoints.create({ url: receiver.url, rate_limit_per_s: 2 });
    for (let i = 0; i < 5; i += 1) await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 5, { timeoutMs: 10_000 });
    // Counted by each attempt's start (the second the gate admitted it): arrival times would
    // shift an attempt into the next second on a loaded machine.
    const attempts = await h.log.endpointAttempts(endpoint.id);
    expect(attempts).toHaveLength(5);
    const perSecond = new Map<number, number>();
    for (const attempt of attempts) {
      const second = Math.floor(Date.parse(attempt.at) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);
    expect(perSecond.size).toBeGreaterThanOrEqual(3);
  });
});

describe('delivery metrics', () => {
  it('counts delivered and failed messages by endpoint, attempt latency, retry depth and breaker state', async () => {
    receiver = await startWebhookReceiver();
    h = await startHarness({ redisUrl: redis.url, attempts: 2, breakerThreshold: 2 });
    const ok = await h.endpoints.create({ url: receiver.url });
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(() => receiver.received.length === 1);
    await h.endpoints.update(ok.endpoint.id, { enabled: false });
    const broken = await h.endpoints.create({ url: receiver.url.replace('/hooks', '/broken') });
    receiver.always(respondWith(500));
    await h.fanOut.fanOutEvent(failedEvent());
    await waitFor(async () => (await h.breaker.state(broken.endpoint.id)) === 'open');
    const [id] = await h.log.endpointMessageIds(broken.endpoint.id, 0);
    await waitFor(async () => (await h.log.get(String(id)))?.status === 'failed');
    const text = await h.registry.metrics();
    expect(text).toContain(`relay_webhook_messages_delivered_total{endpoint_id="${ok.endpoint.id}"} 1`);
    expect(text).toContain(
      `relay_webhook_messages_failed_total{endpoint_id="${broken.endpoint.id}",reason="attempts_exhausted"} 1`,
    );
    expect(text).toMatch(
      new RegExp(
        `relay_webhook_attempt_duration_seconds_count\\{endpoint_id="${broken.endpoint.id}",result="failed"\\} 2`,
      ),
    );
    expect(text).toContain('relay_webhook_attempt_number_bucket{le="2",result="failed"} 2');
    expect(text).toContain(`relay_webhook_breaker_state{endpoint_id="${broken.endpoint.id}"} 2`);
    expect(text).toContain(`relay_webhook_breaker_state{endpoint_id="${ok.endpoint.id}"} 0`);
  });
});
