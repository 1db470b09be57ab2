import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWebhookReceiver, type WebhookReceiver, waitFor } from '@runway-relay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestDashboard } from './helpers/dashboard.js';
import {
  addEndpoint,
  adminClient,
  answerLog,
  byWebhookId,
  startDeliveryDashboard,
  testDeliveryEnv,
  verifyReceived,
  webhookIdOf,
} from './helpers/delivery.js';
import { buildTestIngress, failureBody, postSigned, type TestIngress } from './helpers/ingress.js';
import { useBacking } from './helpers/per-file.js';
import { type ServiceProcess, spawnService, workerProcessEnv } from './helpers/processes.js';
import { newTaskId } from './helpers/stack.js';
import { testWorkerEnv } from './helpers/worker.js';

/**
 * Worker PROCESSES SIGKILLed and restarted while webhook attempts are in flight (each answer
 * takes 1–1.5 s): stalled-attempt recovery must deliver every message; duplicates are what
 * at-least-once allows (an attempt whose process died after the POST went out) and are counted.
 */

const MESSAGES = 60;
const CONCURRENCY = 4;

const backing = useBacking();
let ingress: TestIngress | undefined;
let dashboard: TestDashboard | undefined;
let receiver: WebhookReceiver | undefined;
const spawned: ServiceProcess[] = [];

afterEach(async () => {
  await Promise.all(spawned.splice(0).map((worker) => worker.stop('SIGKILL')));
  await dashboard?.close();
  await ingress?.close();
  await receiver?.close();
});

function spawnWorker(prefix: string): ServiceProcess {
  const service = spawnService(
    'worker',
    workerProcessEnv(backing, prefix, {
      ...testDeliveryEnv,
      WORKER_MAX_STALLED: '20',
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      // Events a killed process had read are claimed by the others after this (60 s by default).
      DELIVERY_CLAIM_IDLE_MS: '3000',
    }),
  );
  spawned.push(service);
  return service;
}

describe('delivery across worker process kills', () => {
  it('delivers every message when processes are SIGKILLed and restarted mid-delivery', async () => {
    receiver = await startWebhookReceiver();
    const { answers, answer } = answerLog();
    receiver.always((request, response) => {
      setTimeout(() => answer(200)(request, response), 1000 + Math.round(Math.random() * 500));
    });
    ingress = await buildTestIngress(backing.redis.url, { JOB_ATTEMPTS: '4', JOB_BACKOFF_MS: '50' });
    const prefix = ingress.config.QUEUE_PREFIX;
    dashboard = await startDeliveryDashboard(backing, { prefix, stream: `${prefix}:events` });
    const admin = adminClient(dashboard.app);
    const { endpointId, secret } = await addEndpoint(admin, receiver.url);

    const t0 = Date.now();
    const mark = (what: string) =>
      console.log(`${Date.now() - t0} ms: ${what} (${receiver?.received.length} requests)`);
    const workers = [spawnWorker(prefix), spawnWorker(prefix)];
    await Promise.all(workers.map((worker) => worker.waitForLog('webhook delivery started')));

    for (let i = 0; i < MESSAGES; i += 1) {
      expect((await postSigned(ingress, failureBody(newTaskId()))).statusCode).toBe(200);
    }

    // Kill while attempts are in flight: two SIGKILLs and one graceful restart (SIGTERM).
    const plan: Array<{ after: number; signal: NodeJS.Signals }> = [
      { after: 4, signal: 'SIGKILL' },
      { after: 20, signal: 'SIGTERM' },
      { after: 36, signal: 'SIGKILL' },
    ];
    let kills = 0;
    for (const step of plan) {
      await waitFor(() => receiver && receiver.received.length >= step.after, {
        timeoutMs: 60_000,
        description: `${step.after} requests`,
      });
      const victim = workers.shift();
      if (!victim) throw new Error('no worker');
      const inFlight = receiver.received.filter((r) => !answers.has(r)).length;
      await victim.stop(step.signal);
      mark(`${step.signal} sent and exited with ${inFlight} requests unanswered`);
      if (step.signal === 'SIGKILL') kills += 1;
      const replacement = spawnWorker(prefix);
      workers.push(replacement);
      await replacement.waitForLog('webhook delivery started');
      mark('replacement started');
      await sleep(200);
    }

    const health = await waitFor(
      async () => {
        const res = await admin.get(`/api/endpoints/${endpointId}`);
        const body = res.body as { health: { messages: { delivered: number; pending: number; failed: number } } };
        return body.health.messages.delivered === MESSAGES ? body.health.messages : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, description: `${MESSAGES} messages delivered` },
    );
    mark('all delivered');
    expect(health).toMatchObject({ delivered: MESSAGES, pending: 0, failed: 0 });

    const groups = byWebhookId(receiver);
    expect(groups.size).toBe(MESSAGES);
    for (const request of receiver.received) expect(() => verifyReceived(secret, request)).not.toThrow();
    let repeatedRequests = 0;
    let repeated2xx = 0;
    for (const [id, requests] of groups) {
      const ok = requests.filter((r) => answers.get(r) === 200).length;
      expect(ok, `2xx answers for ${id}`).toBeGreaterThanOrEqual(1);
      repeatedRequests += requests.length - 1;
      repeated2xx += ok - 1;
    }
    console.log(
      JSON.stringify({
        messages: MESSAGES,
        requests: receiver.received.length,
        sigkills: kills,
        duplicate_requests: repeatedRequests,
        duplicate_2xx: repeated2xx,
        first_ids: [...groups.keys()].slice(0, 1),
        unanswered: receiver.received.filter((r) => !answers.has(r)).map(webhookIdOf).length,
      }),
    );
    // At least once: a duplicate needs an attempt in flight in a process that died, at most
    // DELIVERY_CONCURRENCY per kill (a graceful stop lets its attempts end).
    expect(repeatedRequests).toBeLessThanOrEqual(kills * CONCURRENCY);
  }, 240_000);

  it('refuses to start (exit 78, naming DELIVERY_URL) with a private DELIVERY_URL without DELIVERY_ALLOW_PRIVATE', async () => {
    const service = spawnService(
      'worker',
      testWorkerEnv(backing.redis.url, backing.s3, {
        QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
        LOG_LEVEL: 'info',
        DELIVERY_URL: 'https://10.20.30.40/hooks',
        DELIVERY_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      }),
    );
    spawned.push(service);
    const [code] = await once(service.child, 'exit');
    expect(code).toBe(78);
    expect(service.output()).toContain('DELIVERY_URL refused: address 10.20.30.40 is not public');
  });
});
